package emulator_test

import (
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
)

type emulatorConfig = emulator.Config

func requestsInteger(n int64) requests.Integer { return requests.NewInteger64(n) }

func requestsIntegerString(s string) requests.Integer { return requests.Integer(s) }

// checkNames starts a BatchCheckDeviceNames batch through the SDK.
func checkNames(t *testing.T, client *iot.Client, pk string, names ...string) int64 {
	t.Helper()
	req := iot.CreateBatchCheckDeviceNamesRequest()
	req.ProductKey = pk
	req.DeviceName = &names
	resp, err := client.BatchCheckDeviceNames(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	return resp.Data.ApplyId
}

// statusOf asks the SDK once for a batch's status.
func statusOf(t *testing.T, client *iot.Client, format, pk string, applyID int64) *iot.QueryBatchRegisterDeviceStatusResponse {
	t.Helper()
	req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
	req.AcceptFormat = format
	req.ProductKey = pk
	req.ApplyId = requestsInteger(applyID)
	resp, err := client.QueryBatchRegisterDeviceStatus(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	return resp
}

// startCreate submits creation of a checked batch through the SDK.
func startCreate(t *testing.T, client *iot.Client, pk string, applyID int64) {
	t.Helper()
	req := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
	req.ProductKey = pk
	req.ApplyId = requestsInteger(applyID)
	resp, err := client.BatchRegisterDeviceWithApplyId(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
}

// waitStatus polls QueryBatchRegisterDeviceStatus until the batch leaves
// transient, returning every status seen.
func waitStatus(t *testing.T, c *iot.Client, format, pk string, applyID int64) (*iot.QueryBatchRegisterDeviceStatusResponse, []string) {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp := statusOf(t, c, format, pk, applyID)
		if len(seen) == 0 || seen[len(seen)-1] != resp.Data.Status {
			seen = append(seen, resp.Data.Status)
		}
		if resp.Data.Status != "CHECK" && resp.Data.Status != "CREATE" {
			return resp, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %d still %s", applyID, resp.Data.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// register runs the whole custom-name flow for names and returns the ApplyId.
func register(t *testing.T, client *iot.Client, pk string, names []string) int64 {
	t.Helper()
	applyID := checkNames(t, client, pk, names...)
	st, _ := waitStatus(t, client, "JSON", pk, applyID)
	require.Equal(t, "CHECK_SUCCESS", st.Data.Status)
	startCreate(t, client, pk, applyID)
	st, _ = waitStatus(t, client, "JSON", pk, applyID)
	require.Equal(t, "CREATE_SUCCESS", st.Data.Status)
	return applyID
}
