package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

const productCols = `p.access_key_id, p.instance_id, p.product_key, p.product_name, p.product_secret, p.node_type, p.data_format,
	p.description, p.auth_type, p.id2, p.protocol_type, p.net_type, p.commodity_code, p.category_key, p.validate_type, p.created_ms,
	p.device_count, p.dynamic_register`

func scanProduct(sc interface{ Scan(...any) error }) (iot.Product, error) {
	var p iot.Product
	var ms int64
	err := sc.Scan(&p.AccessKeyID, &p.InstanceID, &p.ProductKey, &p.ProductName, &p.ProductSecret, &p.NodeType, &p.DataFormat,
		&p.Description, &p.AuthType, &p.Id2, &p.ProtocolType, &p.NetType, &p.AliyunCommodityCode, &p.CategoryKey, &p.ValidateType, &ms, &p.DeviceCount, &p.DynamicRegister)
	p.Created = msTime(ms)
	return p, err
}

// CreateProduct stores a new product. Empty ProductKey and ProductSecret
// are generated; a zero Created is stamped now. iot.ErrConflict when the
// name is taken in the account and instance, or the key in the account;
// iot.ErrLimit when the account already has limit products in p's instance
// (0: no limit). The checks and the insert share one transaction, so
// concurrent creates cannot overshoot the quota.
func (s *Store) CreateProduct(ctx context.Context, p iot.Product, limit int) (iot.Product, error) {
	generated := p.ProductKey == ""
	iot.FillProduct(&p, s.now())
	// A generated key that collides with one the account has is drawn
	// again; a name collision is the caller's ErrConflict.
	for attempt := 0; ; attempt++ {
		if generated {
			p.ProductKey = iot.NewProductKey()
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if limit > 0 {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE access_key_id=? AND instance_id=?`,
					p.AccessKeyID, p.InstanceID).Scan(&n); err != nil {
					return err
				}
				if n >= limit {
					return iot.ErrLimit
				}
			}
			var taken int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE access_key_id=? AND instance_id=? AND product_name=?`,
				p.AccessKeyID, p.InstanceID, p.ProductName).Scan(&taken); err != nil {
				return err
			}
			if taken > 0 {
				return iot.ErrConflict
			}
			err := insertProduct(ctx, tx, p)
			if isUnique(err) {
				// The name was free, so the key is what collided.
				return errKeyTaken
			}
			return err
		})
		switch {
		case errors.Is(err, errKeyTaken) && generated && attempt < 5:
			continue
		case errors.Is(err, errKeyTaken):
			return p, iot.ErrConflict
		}
		return p, err
	}
}

// errKeyTaken is a ProductKey collision inside CreateProduct.
var errKeyTaken = errors.New("product key taken")

func insertProduct(ctx context.Context, tx *sql.Tx, p iot.Product) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO products(access_key_id, instance_id, product_key, product_name, product_secret, node_type,
		data_format, description, auth_type, id2, protocol_type, net_type, commodity_code, category_key, validate_type, created_ms, dynamic_register, seq)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT COALESCE(MAX(seq),0)+1 FROM products))`,
		p.AccessKeyID, p.InstanceID, p.ProductKey, p.ProductName, p.ProductSecret, p.NodeType, p.DataFormat, p.Description,
		p.AuthType, p.Id2, p.ProtocolType, p.NetType, p.AliyunCommodityCode, p.CategoryKey, p.ValidateType, p.Created.UnixMilli(), p.DynamicRegister)
	return err
}

// Product returns the account's product, or iot.ErrNotFound.
func (s *Store) Product(ctx context.Context, accessKeyID, productKey string) (iot.Product, error) {
	if p, ok := s.db.cache.product(accessKeyID, productKey); ok {
		return p, nil
	}
	gen := s.db.cache.generation()
	p, err := scanProduct(s.db.QueryRowContext(ctx, `SELECT `+productCols+` FROM products p WHERE p.access_key_id=? AND p.product_key=?`, accessKeyID, productKey))
	if errors.Is(err, sql.ErrNoRows) {
		return p, iot.ErrNotFound
	}
	if err == nil {
		s.db.cache.putProduct(gen, p)
	}
	return p, err
}

// ProductPage lists an account's products in one instance, newest first,
// optionally filtered by commodity code, with the total before paging.
func (s *Store) ProductPage(ctx context.Context, accessKeyID, instanceID, commodity string, offset, limit int) ([]iot.Product, int, error) {
	where := ` FROM products p WHERE p.access_key_id=? AND p.instance_id=? AND (?='' OR p.commodity_code=?)`
	args := []any{accessKeyID, instanceID, commodity, commodity}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := collectProducts(s.db.QueryContext(ctx, `SELECT `+productCols+where+` ORDER BY p.created_ms DESC, p.seq DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...))
	return out, total, err
}

func collectProducts(rows *sql.Rows, err error) ([]iot.Product, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProductElsewhere reports whether another account than accessKeyID has a
// product with this key, so callers can tell "belongs to someone else"
// from "does not exist" where the API documents the difference.
func (s *Store) ProductElsewhere(ctx context.Context, accessKeyID, productKey string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE product_key=? AND access_key_id<>?`, productKey, accessKeyID).Scan(&n)
	return n > 0, err
}

// Products lists every product of an account (all instances), oldest first.
func (s *Store) Products(ctx context.Context, accessKeyID string) ([]iot.Product, error) {
	return collectProducts(s.db.QueryContext(ctx, `SELECT `+productCols+` FROM products p WHERE p.access_key_id=? ORDER BY p.seq`, accessKeyID))
}

// DeleteProduct removes a product and its batches, and with cascade its
// devices too. Without cascade a product that still has devices is
// refused with iot.ErrHasDevices, checked in the same transaction, so a
// device registered concurrently is never orphaned.
func (s *Store) DeleteProduct(ctx context.Context, accessKeyID, productKey string, cascade bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if !cascade {
			var devices int
			if err := tx.QueryRowContext(ctx, `SELECT device_count FROM products WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey).Scan(&devices); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return iot.ErrNotFound
				}
				return err
			}
			if devices > 0 {
				return iot.ErrHasDevices
			}
		}
		return deleteProduct(ctx, tx, accessKeyID, productKey)
	})
}

// deleteProduct deletes the product row (its devices go with it by foreign
// key) and the batches that name it.
func deleteProduct(ctx context.Context, tx *sql.Tx, accessKeyID, productKey string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM products WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey)
	if err != nil {
		return err
	}
	if err := affected(res); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM batch_names WHERE apply_id IN (SELECT apply_id FROM batches WHERE access_key_id=? AND product_key=?)`, accessKeyID, productKey); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM batches WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey)
	return err
}
