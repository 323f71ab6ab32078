package control_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/internal/control"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

func TestSeeds(t *testing.T) {
	t.Run("example.json loads and seeds two accounts with fixed credentials per instance", func(t *testing.T) {
		f, err := fixtures.Load("../../fixtures/example.json")
		require.NoError(t, err)
		require.Len(t, f.Accounts, 2)

		ctx := context.Background()
		st, err := store.Open(ctx, store.Memory, nil)
		require.NoError(t, err)
		defer st.Close()
		require.NoError(t, st.Replace(ctx, "", control.Seeds(f)))

		alpha, err := st.Account(ctx, "teamAlphaKeyId")
		require.NoError(t, err)
		assert.Equal(t, []string{"iot-cn-alpha01"}, alpha.Instances)

		lamp, err := st.Product(ctx, "teamAlphaKeyId", "a1AlphaLamp")
		require.NoError(t, err)
		assert.Equal(t, "AlphaLampSecret1", lamp.ProductSecret)
		assert.Equal(t, "", lamp.InstanceID)
		assert.Equal(t, "iothub_senior", lamp.AliyunCommodityCode)
		assert.Equal(t, 2, lamp.DeviceCount)

		gate, err := st.Product(ctx, "teamAlphaKeyId", "a1AlphaGate")
		require.NoError(t, err)
		assert.Equal(t, "iot-cn-alpha01", gate.InstanceID)
		assert.Equal(t, 1, gate.NodeType)
		assert.Equal(t, "ETHERNET", gate.NetType)
		assert.Len(t, gate.ProductSecret, 16, "an omitted product secret is generated")

		d, err := st.DeviceByName(ctx, "teamAlphaKeyId", "a1AlphaLamp", "lamp-0001")
		require.NoError(t, err)
		assert.Equal(t, "AlphaLamp0001SecretAlphaLamp0001", d.DeviceSecret)
		assert.Equal(t, "AlphaLamp0001IotIdAbc000100", d.IotID)
		assert.Equal(t, "AlphaLamp0001IotIdAbc", d.DeviceID)
		assert.Equal(t, "hall_lamp", d.Nickname)
		assert.Equal(t, "UNACTIVE", d.Status)

		d2, err := st.DeviceByName(ctx, "teamAlphaKeyId", "a1AlphaLamp", "lamp-0002")
		require.NoError(t, err)
		assert.Len(t, d2.IotID, 26, "an omitted IotId is generated")

		_, err = st.Product(ctx, "teamAlphaKeyId", "a1BetaMeter")
		assert.ErrorIs(t, err, iot.ErrNotFound, "products belong to one account")
	})
}
