package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "full.db")
	st, err := store.Open(ctx, path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "a", AccessKeySecret: "s"}}}))
	first, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "before_full"}, 0)
	require.NoError(t, err)

	require.NoError(t, st.LimitPages(ctx, 1)) // the disk is full from here
	var failed error
	created := 0
	for i := 0; i < 5000 && failed == nil; i++ {
		_, failed = st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: fmt.Sprintf("while_full_%d", i), Description: string(make([]byte, 2000))}, 0)
		if failed == nil {
			created++
		}
	}
	t.Run("a write on a full disk fails with the cause, not a domain error", func(t *testing.T) {
		require.Error(t, failed)
		assert.Contains(t, failed.Error(), "full")
		for _, domain := range []error{iot.ErrNotFound, iot.ErrConflict, iot.ErrLimit, iot.ErrState} {
			assert.NotErrorIs(t, failed, domain)
		}
	})
	t.Run("reads keep working and nothing is half-written", func(t *testing.T) {
		got, err := st.Product(ctx, "a", first.ProductKey)
		require.NoError(t, err)
		assert.Equal(t, "before_full", got.ProductName)
		list, err := st.Products(ctx, "a")
		require.NoError(t, err)
		assert.Len(t, list, 1+created, "exactly the products that were acknowledged")
		check, err := st.IntegrityCheck(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ok", check)
	})
	t.Run("writes succeed again once space returns", func(t *testing.T) {
		require.NoError(t, st.LimitPages(ctx, 1<<30))
		_, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "after_full"}, 0)
		assert.NoError(t, err)
	})
}
