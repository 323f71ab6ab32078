package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// Account returns the account of an AccessKeyId, or iot.ErrNotFound. It
// is read on every request, so it is one query: instance ids cannot hold
// a newline, which joins them.
func (s *Store) Account(ctx context.Context, accessKeyID string) (iot.Account, error) {
	if a, ok := s.db.cache.account(accessKeyID); ok {
		return a, nil
	}
	gen := s.db.cache.generation()
	a := iot.Account{AccessKeyID: accessKeyID}
	var instances string
	err := s.db.QueryRowContext(ctx, `SELECT a.access_key_secret, a.security_token,
		COALESCE((SELECT GROUP_CONCAT(i.instance_id, char(10)) FROM instances i WHERE i.access_key_id=a.access_key_id), '')
		FROM accounts a WHERE a.access_key_id=?`, accessKeyID).Scan(&a.AccessKeySecret, &a.SecurityToken, &instances)
	if errors.Is(err, sql.ErrNoRows) {
		return a, iot.ErrNotFound
	}
	if err != nil {
		return a, err
	}
	if instances != "" {
		a.Instances = strings.Split(instances, "\n")
		sort.Strings(a.Instances)
	}
	s.db.cache.putAccount(gen, a)
	return a, nil
}

// HasAccounts reports whether the store holds any account: start-up
// seeds a store without one and merges into a store with some.
func (s *Store) HasAccounts(ctx context.Context) (bool, error) {
	var found bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM accounts)`).Scan(&found)
	return found, err
}

// AccountCount is how many accounts the store holds (loose-mode creation
// checks its cap with it).
func (s *Store) AccountCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
	return n, err
}

// Accounts lists every account, ordered by AccessKeyId.
func (s *Store) Accounts(ctx context.Context) ([]iot.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT access_key_id FROM accounts ORDER BY access_key_id`)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	out := make([]iot.Account, 0, len(ids))
	for _, id := range ids {
		a, err := s.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
