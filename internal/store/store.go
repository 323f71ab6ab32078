// Package store keeps the emulator's state in SQLite (modernc.org/sqlite, no
// cgo) and speaks in the domain's types (package iot): accounts, products,
// devices and batches, each read and written within one account. It knows
// nothing of the wire: its errors are the domain's (iot.ErrNotFound, …).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the emulator's state. It is safe for concurrent use.
type Store struct {
	db    *pool
	now   func() time.Time
	lock  *os.File // held while a file database is open
	group *group   // group.go
}

// Memory is the DSN of a private in-memory database.
const Memory = ":memory:"

// Open opens (creating if needed) the database at path, or a private
// in-memory database for Memory or "", and migrates it to the newest schema.
// now is the clock rows are stamped with (time.Now when nil).
func Open(ctx context.Context, path string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	dsn := "file::memory:?_pragma=foreign_keys(1)"
	if strings.ContainsAny(path, "?#") {
		// The driver reads them as the start of DSN parameters.
		return nil, fmt.Errorf("database path %q: '?' and '#' are not supported in file names", path)
	}
	var lock *os.File
	if path != "" && path != Memory {
		var err error
		if lock, err = lockFile(path); err != nil {
			return nil, err
		}
		dsn = "file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		closeLock(lock)
		return nil, err
	}
	// One connection: an in-memory database lives and dies with its
	// connection, and SQLite serialises writers anyway, so a single
	// connection removes SQLITE_BUSY from the picture at emulator loads.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: newPool(db, db), now: now, lock: lock}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		closeLock(lock)
		return nil, err
	}
	if lock != nil {
		// Readers over WAL see every committed write and never wait for
		// the writer; query_only keeps them from writing by mistake.
		r, err := sql.Open(driverName, "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
		if err != nil {
			s.db.Close()
			closeLock(lock)
			return nil, err
		}
		r.SetMaxOpenConns(readConns)
		r.SetMaxIdleConns(readConns)
		r.SetConnMaxLifetime(0)
		r.SetConnMaxIdleTime(0)
		s.db.r = r
	}
	s.startGroup()
	return s, nil
}

// Close closes the database and releases its lock.
func (s *Store) Close() error {
	if s.group != nil {
		s.stopGroup()
	}
	err := s.db.Close()
	closeLock(s.lock)
	s.lock = nil
	return err
}

func closeLock(f *os.File) {
	if f != nil {
		f.Close()
	}
}

func migrationNames() ([]string, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var have int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if have > len(names) {
		return fmt.Errorf("database schema version %d is newer than this binary supports (%d); use a newer iot-emulator or another --db", have, len(names))
	}
	for i := have; i < len(names); i++ {
		body, err := migrations.ReadFile("migrations/" + names[i])
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		// PRAGMA does not take bind parameters.
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// wipe deletes all state or one account's inside tx.
func wipe(ctx context.Context, tx *sql.Tx, accessKeyID string) error {
	where, args := "", []any{}
	if accessKeyID != "" {
		where, args = " WHERE access_key_id = ?", []any{accessKeyID}
	}
	for _, t := range []string{"batch_names", "devices", "batches", "products", "instances", "accounts"} {
		q := "DELETE FROM " + t + where
		if t == "batch_names" {
			q = "DELETE FROM batch_names"
			if accessKeyID != "" {
				q += " WHERE apply_id IN (SELECT apply_id FROM batches WHERE access_key_id = ?)"
			}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	// Any write transaction may change an account or a product.
	defer s.db.cache.invalidate()
	return s.deviceTx(ctx, fn)
}

// bulkTx is tx for the multi-row inserts of a batch, with SQLite's
// foreign-key checks off: fn must make sure, inside the transaction, that
// the parent rows it inserts under exist. With an immediate foreign key, a
// multi-row INSERT copies every page it touches into a statement journal,
// in case a later row fails its check and the statement has to be undone;
// that was a fifth of a 10,000-device settlement.
func (s *Store) bulkTx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer s.db.cache.invalidate()
	return s.db.uncheckedTx(ctx, fn)
}

// deviceTx is a write transaction that touches only what devices report
// (property, event and service history, shadows, desired values, the
// message log): nothing the cache holds, so MQTT traffic does not send
// every RPC call back to SQL.
func (s *Store) deviceTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	return runTx(tx, err, fn)
}

// runTx runs fn in tx, just begun (or not, with err), and commits it, or
// rolls it back when fn fails.
func runTx(tx *sql.Tx, err error, fn func(*sql.Tx) error) error {
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) nowMS() int64 { return s.now().UnixMilli() }

// isUnique reports a UNIQUE or PRIMARY KEY violation, read from SQLite's
// extended result code rather than from the message text.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// affected is nil when the statement changed a row, iot.ErrNotFound when
// it changed none.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return iot.ErrNotFound
	}
	return nil
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
