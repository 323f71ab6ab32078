package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

func openWithProduct(t *testing.T, path string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "ak", AccessKeySecret: "secret"}}}))
	_, err = st.CreateProduct(ctx, iot.Product{AccessKeyID: "ak", ProductKey: "a1Prod", ProductName: "prod_one"}, 0)
	require.NoError(t, err)
	return st
}

func newBatch(t *testing.T, st *store.Store, status string, names ...string) iot.Batch {
	t.Helper()
	bn := make([]iot.BatchName, len(names))
	for i, n := range names {
		bn[i].DeviceName = n
	}
	b, err := st.CreateBatch(context.Background(), iot.Batch{AccessKeyID: "ak", ProductKey: "a1Prod", Kind: iot.KindNames, Status: status}, bn)
	require.NoError(t, err)
	return b
}

func TestSettle(t *testing.T) {
	ctx := context.Background()
	t.Run("two batches racing for one name create it exactly once", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		a := newBatch(t, st, iot.StatusCreate, "shared01", "only_a01")
		b := newBatch(t, st, iot.StatusCreate, "shared01", "only_b01")
		var wg sync.WaitGroup
		results := make([]iot.Batch, 2)
		for i, id := range []int64{a.ApplyID, b.ApplyID} {
			wg.Go(func() {
				var err error
				results[i], err = st.Settle(ctx, id, nil, 0)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		statuses := []string{results[0].Status, results[1].Status}
		assert.ElementsMatch(t, []string{iot.StatusCreateSuccess, iot.StatusCreateFailed}, statuses)
		_, total, err := st.DevicePage(ctx, "ak", "a1Prod", 0, 100)
		require.NoError(t, err)
		assert.Equal(t, 3, total, "shared01 once, plus one name of each batch")
	})
	t.Run("forced names fail and only the others are created", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		b := newBatch(t, st, iot.StatusCreate, "good0001", "bad00001")
		got, err := st.Settle(ctx, b.ApplyID, map[string]string{"bad00001": "injected"}, 0)
		require.NoError(t, err)
		assert.Equal(t, iot.StatusCreateFailed, got.Status)
		assert.Equal(t, 1, got.Devices)
		assert.Equal(t, 1, got.Failed)
		names, err := st.BatchNames(ctx, b.ApplyID)
		require.NoError(t, err)
		assert.Equal(t, []iot.BatchName{{DeviceName: "good0001"}, {DeviceName: "bad00001", ErrorMsg: "injected"}}, names)
	})
	t.Run("batches settled against a device quota stop at it, and the rest fail with a reason", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		a := newBatch(t, st, iot.StatusCreate, "dev00001", "dev00002")
		b := newBatch(t, st, iot.StatusCreate, "dev00003", "dev00004")
		_, err := st.Settle(ctx, a.ApplyID, nil, 3)
		require.NoError(t, err)
		got, err := st.Settle(ctx, b.ApplyID, nil, 3)
		require.NoError(t, err)
		assert.Equal(t, iot.StatusCreateFailed, got.Status)
		assert.Equal(t, 1, got.Devices)
		names, err := st.BatchNames(ctx, b.ApplyID)
		require.NoError(t, err)
		assert.Equal(t, iot.MsgQuota, names[1].ErrorMsg)
		p, err := st.Product(ctx, "ak", "a1Prod")
		require.NoError(t, err)
		assert.Equal(t, 3, p.DeviceCount)
	})
	t.Run("a product's device count follows inserts and deletes", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		d, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "ak", ProductKey: "a1Prod", DeviceName: "count001"}, 0)
		require.NoError(t, err)
		_, err = st.CreateDevice(ctx, iot.Device{AccessKeyID: "ak", ProductKey: "a1Prod", DeviceName: "count002"}, 0)
		require.NoError(t, err)
		require.NoError(t, st.DeleteDevice(ctx, "ak", d.IotID))
		p, err := st.Product(ctx, "ak", "a1Prod")
		require.NoError(t, err)
		assert.Equal(t, 1, p.DeviceCount)
	})
	t.Run("a batch of 250 names creates its devices in the order given, with the batch's values", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		names := make([]string, 250) // two full multi-row inserts and a shorter one
		for i := range names {
			names[i] = fmt.Sprintf("order%03d", 249-i)
		}
		b := newBatch(t, st, iot.StatusCreate, names...)
		got, err := st.Settle(ctx, b.ApplyID, nil, 0)
		require.NoError(t, err)
		assert.Equal(t, iot.StatusCreateSuccess, got.Status)
		page, total, err := st.BatchPage(ctx, b.ApplyID, 0, 250)
		require.NoError(t, err)
		require.Equal(t, 250, total)
		for i, d := range page {
			require.Equal(t, names[i], d.DeviceName, "device %d", i)
		}
		d, err := st.DeviceByIotID(ctx, "ak", page[249].IotID)
		require.NoError(t, err)
		assert.Equal(t, b.ApplyID, d.ApplyID)
		assert.Equal(t, iot.DeviceUnactive, d.Status)
		assert.Equal(t, "a1Prod", d.ProductKey)
		p, err := st.Product(ctx, "ak", "a1Prod")
		require.NoError(t, err)
		assert.Equal(t, 250, p.DeviceCount)
	})
	t.Run("foreign keys are enforced again after a batch is stored and settled", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		b := newBatch(t, st, iot.StatusCreate, "fkdev001", "fkdev002")
		_, err := st.Settle(ctx, b.ApplyID, nil, 0)
		require.NoError(t, err)
		on, err := st.ForeignKeys(ctx)
		require.NoError(t, err)
		assert.True(t, on)
		orphans, err := st.ForeignKeyCheck(ctx)
		require.NoError(t, err)
		assert.Zero(t, orphans)
	})
	t.Run("a batch of an account that is gone is refused", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		_, err := st.CreateBatch(ctx, iot.Batch{AccessKeyID: "nobody", ProductKey: "a1Prod", Kind: iot.KindNames, Status: iot.StatusCheck}, []iot.BatchName{{DeviceName: "orphan01"}})
		assert.ErrorIs(t, err, iot.ErrNotFound)
		orphans, err := st.ForeignKeyCheck(ctx)
		require.NoError(t, err)
		assert.Zero(t, orphans)
	})
	t.Run("a settled batch cannot be settled again", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		b := newBatch(t, st, iot.StatusCheck, "light001")
		got, err := st.Settle(ctx, b.ApplyID, nil, 0)
		require.NoError(t, err)
		assert.Equal(t, iot.StatusCheckSuccess, got.Status)
		_, err = st.Settle(ctx, b.ApplyID, nil, 0)
		assert.ErrorIs(t, err, iot.ErrState)
	})
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	t.Run("a file database keeps its batches across reopening", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "iot.db")
		st := openWithProduct(t, path)
		b := newBatch(t, st, iot.StatusCreate, "light001")
		require.NoError(t, st.Close())
		st2, err := store.Open(ctx, path, nil)
		require.NoError(t, err)
		defer st2.Close()
		pending, err := st2.Pending(ctx)
		require.NoError(t, err)
		require.Len(t, pending, 1)
		assert.Equal(t, b.ApplyID, pending[0].ApplyID)
	})
	t.Run("a database from a newer schema is refused with a clear message", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "new.db")
		db, err := sql.Open("sqlite", "file:"+path)
		require.NoError(t, err)
		_, err = db.Exec("PRAGMA user_version = 99")
		require.NoError(t, err)
		require.NoError(t, db.Close())
		_, err = store.Open(ctx, path, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "newer")
	})
	t.Run("ApplyIds keep increasing across a reset", func(t *testing.T) {
		st := openWithProduct(t, store.Memory)
		first := newBatch(t, st, iot.StatusCheck, "light001")
		require.NoError(t, st.Replace(ctx, "", nil))
		require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "ak", AccessKeySecret: "secret"}}}))
		_, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "ak", ProductKey: "a1Prod", ProductName: "prod_one"}, 0)
		require.NoError(t, err)
		second := newBatch(t, st, iot.StatusCheck, "light001")
		assert.Greater(t, second.ApplyID, first.ApplyID)
	})
}

func TestOneProcessPerFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "iot.db")
	t.Run("a second open of a file database in use is refused, naming the holder", func(t *testing.T) {
		first, err := store.Open(ctx, path, nil)
		require.NoError(t, err)
		_, err = store.Open(ctx, path, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "in use by another iot-emulator")
		require.NoError(t, first.Close())
		again, err := store.Open(ctx, path, nil)
		require.NoError(t, err, "closing releases the lock")
		require.NoError(t, again.Close())
	})
	t.Run("in-memory stores share nothing and lock nothing", func(t *testing.T) {
		a, err := store.Open(ctx, store.Memory, nil)
		require.NoError(t, err)
		defer a.Close()
		b, err := store.Open(ctx, store.Memory, nil)
		require.NoError(t, err)
		defer b.Close()
	})
}
