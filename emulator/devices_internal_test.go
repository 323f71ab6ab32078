package emulator

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/store"
)

// TestDeviceQuota lowers the documented per-product device quota (millions)
// so the test can reach it; it lives inside the package for that reason
// alone and otherwise goes through the SDK like every other test.
func TestDeviceQuota(t *testing.T) {
	for _, format := range []string{"JSON", "XML"} {
		t.Run("RegisterDevice past the product's device quota is iot.device.DeviceNumerExceedTenant in "+format, func(t *testing.T) {
			deviceQuotaOverride.Store(2)
			t.Cleanup(func() { deviceQuotaOverride.Store(0) })

			ctx := context.Background()
			st, err := store.Open(ctx, store.Memory, nil)
			require.NoError(t, err)
			cfg := DefaultConfig()
			cfg.Throttle = false
			s := New(cfg, st)
			require.NoError(t, s.Seed(ctx))
			hs := httptest.NewServer(s.Handler())
			t.Cleanup(func() { hs.Close(); st.Close() })

			client, err := iot.NewClientWithAccessKey("cn-shanghai", "testAccessKeyId", "testAccessKeySecret")
			require.NoError(t, err)
			client.Domain = strings.TrimPrefix(hs.URL, "http://")
			reg := func(name string) *iot.RegisterDeviceResponse {
				req := iot.CreateRegisterDeviceRequest()
				req.AcceptFormat = format
				req.ProductKey = "a1TestProd1"
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
		})
	}
	t.Run("the documented quota is 3,000,000 in cn-shanghai and 1,000,000 elsewhere", func(t *testing.T) {
		assert.Equal(t, 3_000_000, devicesPerProduct("cn-shanghai"))
		assert.Equal(t, 1_000_000, devicesPerProduct("ap-southeast-1"))
	})
}
