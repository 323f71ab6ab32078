package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

func TestCreateDevice(t *testing.T) {
	ctx := context.Background()
	t.Run("a generated device gets the documented shapes and starts UNACTIVE", func(t *testing.T) {
		st := open(t)
		p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_1"}, 0)
		require.NoError(t, err)
		d, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p.ProductKey}, 10)
		require.NoError(t, err)
		assert.Regexp(t, `^[A-Za-z0-9]{20}$`, d.DeviceName)
		assert.Regexp(t, `^[A-Za-z0-9]{32}$`, d.DeviceSecret)
		assert.Equal(t, d.DeviceID+"000100", d.IotID)
		assert.Equal(t, "UNACTIVE", d.Status)
	})
	t.Run("the quota is per product", func(t *testing.T) {
		st := open(t)
		p1, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_1"}, 0)
		require.NoError(t, err)
		p2, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_2"}, 0)
		require.NoError(t, err)
		_, err = st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p1.ProductKey, DeviceName: "dev1"}, 1)
		require.NoError(t, err)
		_, err = st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p1.ProductKey, DeviceName: "dev2"}, 1)
		assert.ErrorIs(t, err, iot.ErrLimit)
		_, err = st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p2.ProductKey, DeviceName: "dev2"}, 1)
		assert.NoError(t, err)
	})
	t.Run("concurrent registrations of one name create one device", func(t *testing.T) {
		st := open(t)
		p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "prod_1"}, 0)
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p.ProductKey, DeviceName: "same"}, 0)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				assert.ErrorIs(t, err, iot.ErrConflict)
			}
		}
		assert.Equal(t, 1, ok)
	})
}

func TestDevicesByName(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	pa, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductKey: "sharedKey01", ProductName: "prod_a"}, 0)
	require.NoError(t, err)
	// Loose-auth accounts can own the same key; the rows stay apart.
	pb, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "b", ProductKey: "sharedKey01", ProductName: "prod_b"}, 0)
	require.NoError(t, err)
	for _, n := range []string{"dev1", "dev2"} {
		_, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: pa.ProductKey, DeviceName: n}, 0)
		require.NoError(t, err)
	}
	_, err = st.CreateDevice(ctx, iot.Device{AccessKeyID: "b", ProductKey: pb.ProductKey, DeviceName: "dev3"}, 0)
	require.NoError(t, err)

	t.Run("only the account's existing devices are returned", func(t *testing.T) {
		got, err := st.DevicesByName(ctx, "a", "sharedKey01", []string{"dev1", "dev3", "nope"})
		require.NoError(t, err)
		assert.Len(t, got, 1)
		assert.Contains(t, got, "dev1")
	})
	t.Run("another account's device with the name is reported", func(t *testing.T) {
		got, err := st.DevicesElsewhere(ctx, "a", "sharedKey01", []string{"dev3"})
		require.NoError(t, err)
		assert.True(t, got)
		got, err = st.DevicesElsewhere(ctx, "a", "sharedKey01", []string{"dev1", "nope"})
		require.NoError(t, err)
		assert.False(t, got)
	})
	t.Run("an empty name list finds nothing", func(t *testing.T) {
		got, err := st.DevicesByName(ctx, "a", "sharedKey01", nil)
		require.NoError(t, err)
		assert.Empty(t, got)
	})
}
