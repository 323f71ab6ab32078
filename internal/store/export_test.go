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
