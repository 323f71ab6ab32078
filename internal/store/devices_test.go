package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
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

func TestDevicePageBounds(t *testing.T) {
	ctx := context.Background()
	// A clock that moves only when told: devices of one batch, and devices
	// created within one tick, share created_ms.
	var now atomic.Int64
	now.Store(1_700_000_000_000)
	st, err := store.Open(ctx, store.Memory, func() time.Time { return time.UnixMilli(now.Load()) })
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "ak", AccessKeySecret: "secret"}}}))
	_, err = st.CreateProduct(ctx, iot.Product{AccessKeyID: "ak", ProductKey: "a1Prod", ProductName: "prod_one"}, 0)
	require.NoError(t, err)
	for i := range 20 {
		_, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "ak", ProductKey: "a1Prod", DeviceName: fmt.Sprintf("one%03d", i)}, 0)
		require.NoError(t, err)
		if i%3 == 0 {
			now.Add(1)
		}
	}
	for r := range 3 {
		names := make([]iot.BatchName, 25)
		for i := range names {
			names[i].DeviceName = fmt.Sprintf("b%d_%03d", r, i)
		}
		b, err := st.CreateBatch(ctx, iot.Batch{AccessKeyID: "ak", ProductKey: "a1Prod", Kind: iot.KindNames, Status: iot.StatusCreate}, names)
		require.NoError(t, err)
		_, err = st.Settle(ctx, b.ApplyID, nil, 0)
		require.NoError(t, err)
		now.Add(1)
	}
	// fresh is a page as a store with nothing cached reads it: by OFFSET.
	fresh := func(offset, limit int) []string {
		store.DropCache(st)
		devs, _, err := st.DevicePage(ctx, "ak", "a1Prod", offset, limit)
		require.NoError(t, err)
		return deviceNames(devs)
	}
	read := func(offset, limit int) []string {
		devs, total, err := st.DevicePage(ctx, "ak", "a1Prod", offset, limit)
		require.NoError(t, err)
		require.Equal(t, 95, total)
		return deviceNames(devs)
	}
	t.Run("paging on from each page's end lists what OFFSET lists", func(t *testing.T) {
		store.DropCache(st)
		var got []string
		for offset := 0; offset < 95; offset += 7 {
			got = append(got, read(offset, 7)...)
		}
		assert.Equal(t, fresh(0, 95), got)
	})
	t.Run("a page read again, and one starting a device later, are the same as read afresh", func(t *testing.T) {
		for _, offset := range []int{7, 30, 44, 88, 94} {
			want, wantNext := fresh(offset, 10), fresh(offset+1, 10)
			read(offset, 10)
			assert.Equal(t, want, read(offset, 10), "offset %d again", offset)
			assert.Equal(t, wantNext, read(offset+1, 10), "offset %d", offset+1)
		}
	})
	t.Run("a deleted device is gone from a page read from a bound", func(t *testing.T) {
		store.DropCache(st)
		page := read(40, 10)
		d, err := st.DeviceByName(ctx, "ak", "a1Prod", page[0])
		require.NoError(t, err)
		require.NoError(t, st.DeleteDevice(ctx, "ak", d.IotID))
		devs, total, err := st.DevicePage(ctx, "ak", "a1Prod", 40, 10)
		require.NoError(t, err)
		assert.Equal(t, 94, total)
		assert.NotContains(t, deviceNames(devs), page[0])
		assert.Equal(t, page[1:], deviceNames(devs)[:9])
	})
}

func deviceNames(devs []iot.Device) []string {
	out := make([]string, len(devs))
	for i, d := range devs {
		out[i] = d.DeviceName
	}
	return out
}
