package emulator_test

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
)

func TestDeviceQuota(t *testing.T) {
	for _, format := range formats {
		t.Run("registering past the product's device quota is iot.device.DeviceNumerExceedTenant in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithConfig(func(c *emulatorConfig) { c.DeviceQuota = 2 }))
			client := srv.NewIotClient()
			reg := func(name string) *iot.RegisterDeviceResponse {
				req := iot.CreateRegisterDeviceRequest()
				req.AcceptFormat = format
				req.ProductKey = srv.ProductKey()
				req.DeviceName = name
				resp, err := client.RegisterDevice(req)
				require.NoError(t, err)
				return resp
			}
			require.True(t, reg("quota-01").Success)
			require.True(t, reg("quota-02").Success)
			third := reg("quota-03")
			assert.False(t, third.Success)
			assert.Equal(t, "iot.device.DeviceNumerExceedTenant", third.Code)
			assert.Equal(t, "The device total number beyond limit.", third.ErrorMessage)

			br := iot.CreateBatchRegisterDeviceRequest()
			br.AcceptFormat = format
			br.ProductKey = srv.ProductKey()
			br.Count = requestsInteger(1)
			brr, err := client.BatchRegisterDevice(br)
			require.NoError(t, err)
			assert.Equal(t, "iot.device.DeviceNumerExceedTenant", brr.Code, "BatchRegisterDevice counts the devices it would add")
		})
	}
}
