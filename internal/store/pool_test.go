package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// TestCachedReads checks that the account and product cache and the read
// pool never answer with what a write has replaced, in memory and on a file.
func TestCachedReads(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"memory", "file"} {
		t.Run("on a "+kind+" database a product read after its rename shows the new name", func(t *testing.T) {
			st := openKind(t, kind)
			p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "before"}, 0)
			require.NoError(t, err)
			got, err := st.Product(ctx, "a", p.ProductKey)
			require.NoError(t, err)
			assert.Equal(t, "before", got.ProductName)
			require.NoError(t, st.UpdateProduct(ctx, "a", p.ProductKey, "after", nil))
			got, err = st.Product(ctx, "a", p.ProductKey)
			require.NoError(t, err)
			assert.Equal(t, "after", got.ProductName)
		})
		t.Run("on a "+kind+" database a product's device count follows creates and deletes", func(t *testing.T) {
			st := openKind(t, kind)
			p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "counted"}, 0)
			require.NoError(t, err)
			_, err = st.Product(ctx, "a", p.ProductKey)
			require.NoError(t, err)
			d, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p.ProductKey, DeviceName: "dev1"}, 0)
			require.NoError(t, err)
			got, err := st.Product(ctx, "a", p.ProductKey)
			require.NoError(t, err)
			assert.Equal(t, 1, got.DeviceCount)
			require.NoError(t, st.DeleteDevice(ctx, "a", d.IotID))
			got, err = st.Product(ctx, "a", p.ProductKey)
			require.NoError(t, err)
			assert.Equal(t, 0, got.DeviceCount)
		})
		t.Run("on a "+kind+" database an account replaced by a reset is read anew", func(t *testing.T) {
			st := openKind(t, kind)
			a, err := st.Account(ctx, "a")
			require.NoError(t, err)
			assert.Equal(t, "s", a.AccessKeySecret)
			require.NoError(t, st.Replace(ctx, "a", []iot.Seed{{Account: iot.Account{AccessKeyID: "a", AccessKeySecret: "new"}}}))
			a, err = st.Account(ctx, "a")
			require.NoError(t, err)
			assert.Equal(t, "new", a.AccessKeySecret)
			assert.Empty(t, a.Instances)
		})
	}
}

func openKind(t *testing.T, kind string) *store.Store {
	t.Helper()
	if kind == "memory" {
		return open(t)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "a", AccessKeySecret: "s", Instances: []string{"inst"}}}}))
	return st
}

func TestBatchCounts(t *testing.T) {
	ctx := context.Background()
	t.Run("a settled batch's devices count in its product and in its pages, and a deletion is subtracted from both", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		names := make([]string, 250)
		for i := range names {
			names[i] = "dev" + string(rune('a'+i/26%26)) + string(rune('a'+i%26)) + "_" + string(rune('0'+i/100))
		}
		b := newBatch(t, st, iot.StatusCreate, names...)
		_, err := st.Settle(ctx, b.ApplyID, nil, 0)
		require.NoError(t, err)
		p, err := st.Product(ctx, "ak", "a1Prod")
		require.NoError(t, err)
		assert.Equal(t, 250, p.DeviceCount)
		page, total, err := st.BatchPage(ctx, b.ApplyID, 200, 50)
		require.NoError(t, err)
		assert.Equal(t, 250, total)
		require.Len(t, page, 50)
		assert.Equal(t, names[200], page[0].DeviceName)

		d, err := st.DeviceByName(ctx, "ak", "a1Prod", names[10])
		require.NoError(t, err)
		require.NoError(t, st.DeleteDevice(ctx, "ak", d.IotID))
		p, err = st.Product(ctx, "ak", "a1Prod")
		require.NoError(t, err)
		assert.Equal(t, 249, p.DeviceCount)
		page, total, err = st.BatchPage(ctx, b.ApplyID, 200, 50)
		require.NoError(t, err)
		assert.Equal(t, 249, total)
		require.Len(t, page, 49, "with a gap in the seqs the page is read by OFFSET")
		assert.Equal(t, names[201], page[0].DeviceName)
	})
	t.Run("a page read again shows a device's renewed secret, not the page as it was cached", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		b := newBatch(t, st, iot.StatusCreate, "p1", "p2", "p3")
		_, err := st.Settle(ctx, b.ApplyID, nil, 0)
		require.NoError(t, err)
		before, _, err := st.BatchPage(ctx, b.ApplyID, 0, 10)
		require.NoError(t, err)
		require.Len(t, before, 3)
		renewed, err := st.RenewDeviceSecret(ctx, "ak", before[1].IotID)
		require.NoError(t, err)
		require.NotEqual(t, before[1].DeviceSecret, renewed.DeviceSecret)
		after, _, err := st.BatchPage(ctx, b.ApplyID, 0, 10)
		require.NoError(t, err)
		require.Len(t, after, 3)
		assert.Equal(t, renewed.DeviceSecret, after[1].DeviceSecret)
		after[0].DeviceName = "changed by the caller"
		again, _, err := st.BatchPage(ctx, b.ApplyID, 0, 10)
		require.NoError(t, err)
		assert.Equal(t, before[0].DeviceName, again[0].DeviceName, "a caller's change to its page is not the cache's")
	})
}
