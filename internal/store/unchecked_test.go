package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUncheckedTx checks that the writer gets its foreign-key checks back
// after a bulk transaction, however the transaction and its context end.
func TestUncheckedTx(t *testing.T) {
	foreignKeys := func(t *testing.T, s *Store) bool {
		t.Helper()
		on, err := s.ForeignKeys(context.Background())
		require.NoError(t, err)
		return on
	}
	open := func(t *testing.T) *Store {
		s, err := Open(context.Background(), Memory, nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("a context cancelled inside the transaction still commits it and turns the checks back on", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		err := s.db.uncheckedTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO accounts(access_key_id, access_key_secret, created_ms) VALUES('cancelled', 's', 0)`); err != nil {
				return err
			}
			cancel()
			return nil
		})
		require.NoError(t, err)
		assert.True(t, foreignKeys(t, s))
		var n int
		require.NoError(t, s.db.w.QueryRow(`SELECT COUNT(*) FROM accounts WHERE access_key_id='cancelled'`).Scan(&n))
		assert.Equal(t, 1, n)
	})
	t.Run("a statement of a cancelled caller fails, the transaction is rolled back and the checks are on", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		err := s.db.uncheckedTx(ctx, func(tx *sql.Tx) error {
			cancel()
			_, err := tx.ExecContext(ctx, `INSERT INTO accounts(access_key_id, access_key_secret, created_ms) VALUES('late', 's', 0)`)
			return err
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.True(t, foreignKeys(t, s))
		var n int
		require.NoError(t, s.db.w.QueryRow(`SELECT COUNT(*) FROM accounts WHERE access_key_id='late'`).Scan(&n))
		assert.Zero(t, n)
	})
	t.Run("a failing transaction is rolled back and the checks are on", func(t *testing.T) {
		s := open(t)
		boom := errors.New("boom")
		err := s.db.uncheckedTx(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(context.Background(), `INSERT INTO accounts(access_key_id, access_key_secret, created_ms) VALUES('failed', 's', 0)`)
			require.NoError(t, err)
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.True(t, foreignKeys(t, s))
	})
}
