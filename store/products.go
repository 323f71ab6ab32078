package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Product is an IoT product owned by one account in one instance.
type Product struct {
	AccessKeyID         string
	InstanceID          string
	ProductKey          string
	ProductName         string
	ProductSecret       string
	NodeType            int
	DataFormat          int
	Description         string
	AuthType            string
	Id2                 bool
	ProtocolType        string
	NetType             string
	AliyunCommodityCode string
	CategoryKey         string
	ValidateType        int
	Created             time.Time
	// DeviceCount is filled on reads.
	DeviceCount int
}

const productCols = `p.access_key_id, p.instance_id, p.product_key, p.product_name, p.product_secret, p.node_type, p.data_format,
	p.description, p.auth_type, p.id2, p.protocol_type, p.net_type, p.commodity_code, p.category_key, p.validate_type, p.created_ms,
	p.device_count`

func scanProduct(sc interface{ Scan(...any) error }) (Product, error) {
	var p Product
	var ms int64
	err := sc.Scan(&p.AccessKeyID, &p.InstanceID, &p.ProductKey, &p.ProductName, &p.ProductSecret, &p.NodeType, &p.DataFormat,
		&p.Description, &p.AuthType, &p.Id2, &p.ProtocolType, &p.NetType, &p.AliyunCommodityCode, &p.CategoryKey, &p.ValidateType, &ms, &p.DeviceCount)
	p.Created = msTime(ms)
	return p, err
}

// Errors of the quota-aware writes.
var (
	// ErrLimit means a documented quota (products per instance, devices
	// per product) is reached.
	ErrLimit = errors.New("quota reached")
	// ErrHasDevices means a product cannot be deleted while it has devices.
	ErrHasDevices = errors.New("product has devices")
)

// CreateProduct stores a new product. Empty ProductKey and ProductSecret are
// generated; a zero Created is stamped now. ErrConflict when the name is
// taken in the account and instance, or the key in the account.
func (s *Store) CreateProduct(ctx context.Context, p Product) (Product, error) {
	return s.CreateProductLimited(ctx, p, 0)
}

// CreateProductLimited is CreateProduct refusing with ErrLimit when the
// account already has limit products in p's instance (0: no limit). The
// count and the insert share one transaction so concurrent creates cannot
// overshoot the quota.
func (s *Store) CreateProductLimited(ctx context.Context, p Product, limit int) (Product, error) {
	generated := p.ProductKey == ""
	s.fillProduct(&p)
	// A generated key that collides with one the account has is drawn
	// again; a name collision is the caller's ErrConflict.
	for attempt := 0; ; attempt++ {
		if generated {
			p.ProductKey = NewProductKey()
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if limit > 0 {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM products WHERE access_key_id=? AND instance_id=?`,
					p.AccessKeyID, p.InstanceID).Scan(&n); err != nil {
					return err
				}
				if n >= limit {
					return ErrLimit
				}
			}
			return insertProduct(ctx, tx, p)
		})
		switch {
		case isUnique(err) && generated && strings.Contains(err.Error(), "product_key") && attempt < 5:
			continue
		case isUnique(err):
			return p, ErrConflict
		}
		return p, err
	}
}

// fillProduct applies the documented defaults to what the caller left
// empty; the key is left to the caller, who may need to draw it again.
func (s *Store) fillProduct(p *Product) {
	if p.ProductSecret == "" {
		p.ProductSecret = NewProductSecret()
	}
	if p.AuthType == "" {
		p.AuthType = "secret"
	}
	if p.AliyunCommodityCode == "" {
		p.AliyunCommodityCode = "iothub"
	}
	if p.NetType == "" {
		p.NetType = "WIFI"
	}
	if p.Created.IsZero() {
		p.Created = s.now()
	}
	p.Created = msTime(p.Created.UnixMilli())
}

func insertProduct(ctx context.Context, tx *sql.Tx, p Product) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO products(access_key_id, instance_id, product_key, product_name, product_secret, node_type,
		data_format, description, auth_type, id2, protocol_type, net_type, commodity_code, category_key, validate_type, created_ms, seq)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT COALESCE(MAX(seq),0)+1 FROM products))`,
		p.AccessKeyID, p.InstanceID, p.ProductKey, p.ProductName, p.ProductSecret, p.NodeType, p.DataFormat, p.Description,
		p.AuthType, p.Id2, p.ProtocolType, p.NetType, p.AliyunCommodityCode, p.CategoryKey, p.ValidateType, p.Created.UnixMilli())
	return err
}

// Product returns the account's product, or ErrNotFound.
func (s *Store) Product(ctx context.Context, accessKeyID, productKey string) (Product, error) {
	p, err := scanProduct(s.db.QueryRowContext(ctx, `SELECT `+productCols+` FROM products p WHERE p.access_key_id=? AND p.product_key=?`, accessKeyID, productKey))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// ProductPage lists an account's products in one instance, newest first,
// optionally filtered by commodity code, with the total before paging.
func (s *Store) ProductPage(ctx context.Context, accessKeyID, instanceID, commodity string, offset, limit int) ([]Product, int, error) {
	where := ` FROM products p WHERE p.access_key_id=? AND p.instance_id=? AND (?='' OR p.commodity_code=?)`
	args := []any{accessKeyID, instanceID, commodity, commodity}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := collectProducts(s.db.QueryContext(ctx, `SELECT `+productCols+where+` ORDER BY p.created_ms DESC, p.seq DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...))
	return out, total, err
}

func collectProducts(rows *sql.Rows, err error) ([]Product, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Product
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
func (s *Store) Products(ctx context.Context, accessKeyID string) ([]Product, error) {
	return collectProducts(s.db.QueryContext(ctx, `SELECT `+productCols+` FROM products p WHERE p.access_key_id=? ORDER BY p.seq`, accessKeyID))
}

// DeleteProduct removes a product with its devices and batches.
func (s *Store) DeleteProduct(ctx context.Context, accessKeyID, productKey string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return deleteProduct(ctx, tx, accessKeyID, productKey) })
}

// deleteProduct deletes the product row (its devices go with it by foreign
// key) and the batches that name it.
func deleteProduct(ctx context.Context, tx *sql.Tx, accessKeyID, productKey string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM products WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM batch_names WHERE apply_id IN (SELECT apply_id FROM batches WHERE access_key_id=? AND product_key=?)`, accessKeyID, productKey); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM batches WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey)
	return err
}

// DeleteEmptyProduct removes a product and its batches, refusing with
// ErrHasDevices while the product has devices (checked in the same
// transaction, so a device registered concurrently is never orphaned).
func (s *Store) DeleteEmptyProduct(ctx context.Context, accessKeyID, productKey string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var devices int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey).Scan(&devices); err != nil {
			return err
		}
		if devices > 0 {
			return ErrHasDevices
		}
		return deleteProduct(ctx, tx, accessKeyID, productKey)
	})
}
