package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

func TestDashboardQueries(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_1"}, 0)
	require.NoError(t, err)
	for _, d := range []iot.Device{{DeviceName: "Lamp-01", Nickname: "hall"}, {DeviceName: "lamp-02"}, {DeviceName: "fan-01"}} {
		d.AccessKeyID, d.ProductKey = "a", p.ProductKey
		_, err := st.CreateDevice(ctx, d, 0)
		require.NoError(t, err)
	}
	fan, err := st.DeviceByName(ctx, "a", p.ProductKey, "fan-01")
	require.NoError(t, err)
	_, err = st.ApplyDeviceEvent(ctx, "a", fan.IotID, iot.Connect, "10.0.0.7")
	require.NoError(t, err)

	for _, tc := range []struct {
		name  string
		q     store.DeviceSearch
		total int
		want  []string
	}{
		{"a name matches DeviceNames containing it in any case", store.DeviceSearch{Name: "LAMP"}, 2, []string{"Lamp-01", "lamp-02"}},
		{"a name matches nicknames too", store.DeviceSearch{Name: "Hall"}, 1, []string{"Lamp-01"}},
		{"a status keeps the devices in it", store.DeviceSearch{Status: iot.DeviceOnline}, 1, []string{"fan-01"}},
		{"another account's devices are left out", store.DeviceSearch{AccessKeyID: "b"}, 0, nil},
		{"paging keeps creation order and the total", store.DeviceSearch{Offset: 1, Limit: 1}, 3, []string{"lamp-02"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.q.Limit == 0 {
				tc.q.Limit = 10
			}
			devs, total, err := st.SearchDevices(ctx, tc.q)
			require.NoError(t, err)
			assert.Equal(t, tc.total, total)
			var names []string
			for _, d := range devs {
				names = append(names, d.DeviceName)
			}
			assert.Equal(t, tc.want, names)
		})
	}
	t.Run("the counts are by status, of every account", func(t *testing.T) {
		c, err := st.Count(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, c.Products)
		assert.Equal(t, map[string]int{iot.DeviceUnactive: 2, iot.DeviceOnline: 1}, c.DevicesByStatus)
		assert.Empty(t, c.BatchesByStatus)
	})
}
