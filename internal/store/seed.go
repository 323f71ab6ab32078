package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// Replace deletes all state (accessKeyID "") or one account's, then writes
// the seeds, in one transaction: no request ever sees a reset or a fixture
// load half done, and a crash during one leaves the state as it was.
func (s *Store) Replace(ctx context.Context, accessKeyID string, seeds []iot.Seed) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := wipe(ctx, tx, accessKeyID); err != nil {
			return err
		}
		return s.writeSeeds(ctx, tx, seeds)
	})
}

// Add writes the seeds of accounts that do not exist yet, in one
// transaction; iot.ErrConflict when one does.
func (s *Store) Add(ctx context.Context, seeds []iot.Seed) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.writeSeeds(ctx, tx, seeds) })
}

func (s *Store) writeSeeds(ctx context.Context, tx *sql.Tx, seeds []iot.Seed) error {
	for _, sd := range seeds {
		a := sd.Account
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts(access_key_id, access_key_secret, security_token, created_ms) VALUES(?,?,?,?)`,
			a.AccessKeyID, a.AccessKeySecret, a.SecurityToken, s.nowMS())
		if isUnique(err) {
			return fmt.Errorf("account %s: %w", a.AccessKeyID, iot.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("account %s: %w", a.AccessKeyID, err)
		}
		for _, in := range a.Instances {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO instances(access_key_id, instance_id) VALUES(?,?)`, a.AccessKeyID, in); err != nil {
				return err
			}
		}
		for _, p := range sd.Products {
			p.AccessKeyID = a.AccessKeyID
			iot.FillProduct(&p, s.now())
			if err := insertProduct(ctx, tx, p); err != nil {
				if isUnique(err) {
					err = iot.ErrConflict
				}
				return fmt.Errorf("product %s: %w", p.ProductKey, err)
			}
		}
		for _, d := range sd.Devices {
			d.AccessKeyID = a.AccessKeyID
			iot.FillDevice(&d, s.now())
			if err := insertDevice(ctx, tx, d); err != nil {
				return fmt.Errorf("device %s/%s: %w", d.ProductKey, d.DeviceName, err)
			}
		}
	}
	return nil
}
