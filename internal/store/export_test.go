package store

import (
	"context"
	"fmt"
	"strings"
)

// Plan is SQLite's EXPLAIN QUERY PLAN for q, one step a line (tests only).
func (s *Store) Plan(ctx context.Context, q string) (string, error) {
	rows, err := s.db.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		fmt.Fprintln(&b, detail)
	}
	return b.String(), rows.Err()
}

// LimitPages caps the database file at n pages (SQLite raises a cap below
// the current size to it), which makes any write that grows the file fail
// as a full disk does: SQLITE_FULL (tests only).
func (s *Store) LimitPages(ctx context.Context, n int) error {
	_, err := s.db.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n))
	return err
}

// IntegrityCheck is SQLite's PRAGMA integrity_check answer (tests only).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var out string
	err := s.db.w.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&out)
	return out, err
}

// DropCache empties the store's cache, for benchmarks of what a read costs
// when SQL answers it.
func DropCache(s *Store) { s.db.cache.invalidate() }

// ForeignKeys reports whether the writer enforces foreign keys (tests only).
func (s *Store) ForeignKeys(ctx context.Context) (bool, error) {
	var on bool
	err := s.db.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on)
	return on, err
}

// ForeignKeyCheck is how many rows PRAGMA foreign_key_check finds without
// their parent (tests only).
func (s *Store) ForeignKeyCheck(ctx context.Context) (int, error) {
	rows, err := s.db.w.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
