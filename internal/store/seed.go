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
	// What devices reported before the reset lands first, and goes with it.
	s.flush()
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
			if err := seedThingModel(ctx, tx, p, s.nowMS()); err != nil {
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

// MergeReport counts what Merge added and what it found already there.
type MergeReport struct {
	AccountsAdded int `json:"accountsAdded"`
	ProductsAdded int `json:"productsAdded"`
	DevicesAdded  int `json:"devicesAdded"`
	AccountsKept  int `json:"accountsKept"`
	ProductsKept  int `json:"productsKept"`
	DevicesKept   int `json:"devicesKept"`
}

// String is the report in one line, for the log.
func (r MergeReport) String() string {
	return fmt.Sprintf("added %d accounts, %d products, %d devices; kept %d accounts, %d products, %d devices",
		r.AccountsAdded, r.ProductsAdded, r.DevicesAdded, r.AccountsKept, r.ProductsKept, r.DevicesKept)
}

// Merge writes the seeds idempotently, in one transaction: accounts,
// products and devices that are missing are created, and those that exist
// (by AccessKeyId, ProductKey, DeviceName) are left as they are, secrets
// and state included. A seed that collides with other state (a product
// name taken by another key, an IotId of another device) is an error and
// nothing is written.
func (s *Store) Merge(ctx context.Context, seeds []iot.Seed) (MergeReport, error) {
	var r MergeReport
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r = MergeReport{}
		exists := func(q string, args ...any) (bool, error) {
			var n int
			err := tx.QueryRowContext(ctx, q, args...).Scan(&n)
			return n > 0, err
		}
		for _, sd := range seeds {
			a := sd.Account
			found, err := exists(`SELECT COUNT(*) FROM accounts WHERE access_key_id=?`, a.AccessKeyID)
			if err != nil {
				return err
			}
			if !found {
				if err := s.writeSeeds(ctx, tx, []iot.Seed{sd}); err != nil {
					return err
				}
				r.AccountsAdded++
				r.ProductsAdded += len(sd.Products)
				r.DevicesAdded += len(sd.Devices)
				continue
			}
			r.AccountsKept++
			for _, in := range a.Instances {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO instances(access_key_id, instance_id) VALUES(?,?)`, a.AccessKeyID, in); err != nil {
					return err
				}
			}
			for _, p := range sd.Products {
				found, err := exists(`SELECT COUNT(*) FROM products WHERE access_key_id=? AND product_key=?`, a.AccessKeyID, p.ProductKey)
				if err != nil {
					return err
				}
				if found {
					r.ProductsKept++
					continue
				}
				p.AccessKeyID = a.AccessKeyID
				iot.FillProduct(&p, s.now())
				if err := insertProduct(ctx, tx, p); err != nil {
					if isUnique(err) {
						err = fmt.Errorf("its name %q is taken by another product of the account: %w", p.ProductName, iot.ErrConflict)
					}
					return fmt.Errorf("product %s: %w", p.ProductKey, err)
				}
				if err := seedThingModel(ctx, tx, p, s.nowMS()); err != nil {
					return fmt.Errorf("product %s: %w", p.ProductKey, err)
				}
				r.ProductsAdded++
			}
			for _, d := range sd.Devices {
				found, err := exists(`SELECT COUNT(*) FROM devices WHERE access_key_id=? AND product_key=? AND device_name=?`, a.AccessKeyID, d.ProductKey, d.DeviceName)
				if err != nil {
					return err
				}
				if found {
					r.DevicesKept++
					continue
				}
				d.AccessKeyID = a.AccessKeyID
				iot.FillDevice(&d, s.now())
				if err := insertDevice(ctx, tx, d); err != nil {
					return fmt.Errorf("device %s/%s: %w", d.ProductKey, d.DeviceName, err)
				}
				r.DevicesAdded++
			}
		}
		return nil
	})
	return r, err
}
