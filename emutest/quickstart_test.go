package emutest_test

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
)

// The README's emutest quick-start, kept here so it compiles and passes.

// quick-start:begin
func TestRegistration(t *testing.T) {
	srv := emutest.New(t, emutest.WithProgression("manual"))
	client := srv.NewIotClient() // official SDK client, Domain and credentials set

	req := iot.CreateBatchRegisterDeviceRequest()
	req.ProductKey = srv.ProductKey()
	req.Count = requests.NewInteger(3)
	resp, err := client.BatchRegisterDevice(req)
	require.NoError(t, err)

	status := srv.Advance(resp.Data.ApplyId) // CREATE → CREATE_SUCCESS, no sleeping
	require.Equal(t, "CREATE_SUCCESS", status)
	// Also: srv.Fail(id, reasons), srv.InjectFault(rule), srv.Requests(), srv.Reset(),
	// srv.URL(), srv.Domain(), srv.Credentials().
}

// quick-start:end
