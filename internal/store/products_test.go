package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// open returns an in-memory store with accounts a and b, account a having
// instance "inst".
func open(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Memory, nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "a", AccessKeySecret: "s", Instances: []string{"inst"}}}}))
	require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "b", AccessKeySecret: "s"}}}))
	return st
}

func TestCreateProduct(t *testing.T) {
	ctx := context.Background()
	t.Run("a generated product gets a key and secret of the documented shapes and defaults", func(t *testing.T) {
		st := open(t)
		p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "name_1"}, 10)
		require.NoError(t, err)
		assert.Regexp(t, `^a1[A-Za-z0-9]{9}$`, p.ProductKey)
		assert.Regexp(t, `^[A-Za-z0-9]{16}$`, p.ProductSecret)
		assert.Equal(t, "secret", p.AuthType)
		assert.Equal(t, "iothub", p.AliyunCommodityCode)
		assert.Equal(t, "WIFI", p.NetType)
	})
	t.Run("a name is unique per account and instance only", func(t *testing.T) {
		st := open(t)
		_, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "same"}, 0)
		require.NoError(t, err)
		_, err = st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "same"}, 0)
		assert.ErrorIs(t, err, iot.ErrConflict)
		_, err = st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", InstanceID: "inst", ProductName: "same"}, 0)
		assert.NoError(t, err)
		_, err = st.CreateProduct(ctx, iot.Product{AccessKeyID: "b", ProductName: "same"}, 0)
		assert.NoError(t, err)
	})
	t.Run("the quota counts the instance's products only", func(t *testing.T) {
		st := open(t)
		for _, n := range []string{"one_1", "two_2"} {
			_, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: n}, 2)
			require.NoError(t, err)
		}
		_, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "three_3"}, 2)
		assert.ErrorIs(t, err, iot.ErrLimit)
		_, err = st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", InstanceID: "inst", ProductName: "three_3"}, 2)
		assert.NoError(t, err)
	})
}

func TestDeleteProduct(t *testing.T) {
	ctx := context.Background()
	t.Run("a product with a device is refused, an empty one is deleted", func(t *testing.T) {
		st := open(t)
		p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_1"}, 0)
		require.NoError(t, err)
		d, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p.ProductKey, DeviceName: "dev1"}, 0)
		require.NoError(t, err)
		assert.ErrorIs(t, st.DeleteProduct(ctx, "a", p.ProductKey, false), iot.ErrHasDevices)
		require.NoError(t, st.DeleteDevice(ctx, "a", d.IotID))
		require.NoError(t, st.DeleteProduct(ctx, "a", p.ProductKey, false))
		_, err = st.Product(ctx, "a", p.ProductKey)
		assert.ErrorIs(t, err, iot.ErrNotFound)
		assert.ErrorIs(t, st.DeleteProduct(ctx, "a", p.ProductKey, false), iot.ErrNotFound)
	})
	t.Run("another account's product is not found", func(t *testing.T) {
		st := open(t)
		p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_1"}, 0)
		require.NoError(t, err)
		assert.ErrorIs(t, st.DeleteProduct(ctx, "b", p.ProductKey, false), iot.ErrNotFound)
	})
}

func TestProductElsewhere(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_1"}, 0)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, ak, pk string
		want         bool
	}{
		{"another account's key is elsewhere", "b", p.ProductKey, true},
		{"the owner's own key is not elsewhere", "a", p.ProductKey, false},
		{"an unknown key is nowhere", "b", "a1Unknown00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.ProductElsewhere(ctx, tc.ak, tc.pk)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
