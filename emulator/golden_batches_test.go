package emulator_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
)

// TestGoldenBatchAPIs pins the JSON and XML bodies of the five core
// actions, success and error, byte for byte (after normalising ids).
func TestGoldenBatchAPIs(t *testing.T) {
	for _, format := range []string{"JSON", "XML"} {
		t.Run("every core action answers exactly as pinned in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithProgression("manual"))

			pk := srv.ProductKey()
			call := func(name string, wantStatus int, params map[string]string) {
				t.Helper()
				params["Format"] = format
				resp, body := signedPost(t, srv.URL(), params)
				require.Equal(t, wantStatus, resp.StatusCode, string(body))
				checkGolden(t, goldenName(params["Action"], name, format), body)
			}
			// The first ApplyId of a fresh store is deterministic.
			call("success", 200, map[string]string{"Action": "BatchCheckDeviceNames", "ProductKey": pk,
				"DeviceNameList.1.DeviceName": "light01", "DeviceNameList.1.DeviceNickname": "lamp_01", "DeviceNameList.2.DeviceName": "light02"})
			applyID := "1000001"
			call("in CHECK", 200, map[string]string{"Action": "QueryBatchRegisterDeviceStatus", "ProductKey": pk, "ApplyId": applyID})
			call("not checked yet", 200, map[string]string{"Action": "BatchRegisterDeviceWithApplyId", "ProductKey": pk, "ApplyId": applyID})
			id, err := strconv.ParseInt(applyID, 10, 64)
			require.NoError(t, err)
			srv.Emulator().Advance(t.Context(), id)
			call("check success", 200, map[string]string{"Action": "QueryBatchRegisterDeviceStatus", "ProductKey": pk, "ApplyId": applyID})
			call("success", 200, map[string]string{"Action": "BatchRegisterDeviceWithApplyId", "ProductKey": pk, "ApplyId": applyID})
			call("before creation", 200, map[string]string{"Action": "QueryPageByApplyId", "ApplyId": applyID})
			srv.Emulator().Advance(t.Context(), id)
			call("create success", 200, map[string]string{"Action": "QueryBatchRegisterDeviceStatus", "ProductKey": pk, "ApplyId": applyID})
			call("success", 200, map[string]string{"Action": "QueryPageByApplyId", "ApplyId": applyID, "PageSize": "1", "CurrentPage": "2"})

			// A second check with a taken name fails asynchronously.
			call("with taken name", 200, map[string]string{"Action": "BatchCheckDeviceNames", "ProductKey": pk, "DeviceName.1": "light01", "DeviceName.2": "light03"})
			srv.Emulator().Advance(t.Context(), id+1)
			call("check failed", 200, map[string]string{"Action": "QueryBatchRegisterDeviceStatus", "ProductKey": pk, "ApplyId": strconv.FormatInt(id+1, 10)})

			call("success", 200, map[string]string{"Action": "BatchRegisterDevice", "ProductKey": pk, "Count": "2"})
			srv.Emulator().Advance(t.Context(), id+2)
			call("random names", 200, map[string]string{"Action": "QueryPageByApplyId", "ApplyId": strconv.FormatInt(id+2, 10)})

			// Business errors.
			call("invalid names", 200, map[string]string{"Action": "BatchCheckDeviceNames", "ProductKey": pk, "DeviceName.1": "ab", "DeviceName.2": "good01", "DeviceName.3": "good01"})
			call("empty list", 200, map[string]string{"Action": "BatchCheckDeviceNames", "ProductKey": pk})
			call("unknown product", 200, map[string]string{"Action": "BatchCheckDeviceNames", "ProductKey": "a1NoSuchPrd", "DeviceName.1": "light09"})
			call("unknown apply", 200, map[string]string{"Action": "QueryBatchRegisterDeviceStatus", "ProductKey": pk, "ApplyId": "42"})
			call("bad apply", 200, map[string]string{"Action": "QueryBatchRegisterDeviceStatus", "ProductKey": pk, "ApplyId": "x1"})
			call("already created", 200, map[string]string{"Action": "BatchRegisterDeviceWithApplyId", "ProductKey": pk, "ApplyId": applyID})
			call("too many", 200, map[string]string{"Action": "BatchRegisterDevice", "ProductKey": pk, "Count": "10001"})
			call("bad page size", 200, map[string]string{"Action": "QueryPageByApplyId", "ApplyId": applyID, "PageSize": "51"})
			call("unknown apply", 200, map[string]string{"Action": "QueryPageByApplyId", "ApplyId": "42"})

			// Gateway errors.
			call("missing ProductKey", 400, map[string]string{"Action": "BatchCheckDeviceNames", "DeviceName.1": "light09"})
			call("unknown action", 404, map[string]string{"Action": "NoSuchAction"})
		})
	}
}
