package store

import (
	"context"
	"database/sql"
	"errors"
)

// Account is one AccessKey pair and the IoT instances it may address.
type Account struct {
	AccessKeyID     string
	AccessKeySecret string
	// SecurityToken, when set, is the STS token the account's requests may carry.
	SecurityToken string
	// Instances lists the Enterprise instance ids besides the public one ("").
	Instances []string
}

// Account returns the account of an AccessKeyId, or ErrNotFound.
func (s *Store) Account(ctx context.Context, accessKeyID string) (Account, error) {
	a := Account{AccessKeyID: accessKeyID}
	err := s.db.QueryRowContext(ctx, `SELECT access_key_secret, security_token FROM accounts WHERE access_key_id=?`, accessKeyID).
		Scan(&a.AccessKeySecret, &a.SecurityToken)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT instance_id FROM instances WHERE access_key_id=? ORDER BY instance_id`, accessKeyID)
	if err != nil {
		return a, err
	}
	defer rows.Close()
	for rows.Next() {
		var in string
		if err := rows.Scan(&in); err != nil {
			return a, err
		}
		a.Instances = append(a.Instances, in)
	}
	return a, rows.Err()
}

// Accounts lists every account, ordered by AccessKeyId.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
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
	rows.Close()
	out := make([]Account, 0, len(ids))
	for _, id := range ids {
		a, err := s.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// HasInstance reports whether the account may address the instance; the
// public instance ("") always exists.
func (a Account) HasInstance(id string) bool {
	if id == "" {
		return true
	}
	for _, in := range a.Instances {
		if in == id {
			return true
		}
	}
	return false
}
