package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// DeviceSearch selects devices across accounts for the dashboard: every
// empty field matches everything.
type DeviceSearch struct {
	AccessKeyID string
	ProductKey  string
	// Name matches a DeviceName or nickname containing it, in any case.
	Name string
	// Status is one of the iot.Device* statuses.
	Status        string
	Offset, Limit int
}

// SearchDevices lists the devices s selects in creation order, with how
// many there are before paging.
func (s *Store) SearchDevices(ctx context.Context, q DeviceSearch) ([]iot.Device, int, error) {
	where := ` FROM devices WHERE (?='' OR access_key_id=?) AND (?='' OR product_key=?) AND (?='' OR status=?)
		AND (?='' OR instr(lower(device_name), ?) > 0 OR instr(lower(nickname), ?) > 0)`
	name := strings.ToLower(q.Name)
	args := []any{q.AccessKeyID, q.AccessKeyID, q.ProductKey, q.ProductKey, q.Status, q.Status, name, name, name}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := collectDevices(s.db.QueryContext(ctx, `SELECT `+deviceCols+where+` ORDER BY seq LIMIT ? OFFSET ?`, append(args, q.Limit, q.Offset)...))
	return out, total, err
}

// Counts is how much the store holds, for the dashboard's overview.
type Counts struct {
	Accounts, Products int
	// DevicesByStatus and BatchesByStatus count by status; a status
	// nothing has is absent.
	DevicesByStatus map[string]int
	BatchesByStatus map[string]int
}

// Count counts accounts, products, devices by status and batches by
// status, of every account.
func (s *Store) Count(ctx context.Context) (Counts, error) {
	c := Counts{DevicesByStatus: map[string]int{}, BatchesByStatus: map[string]int{}}
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM products)`).Scan(&c.Accounts, &c.Products); err != nil {
		return c, err
	}
	for _, g := range []struct {
		query string
		into  map[string]int
	}{
		{`SELECT status, COUNT(*) FROM devices GROUP BY status`, c.DevicesByStatus},
		{`SELECT status, COUNT(*) FROM batches GROUP BY status`, c.BatchesByStatus},
	} {
		rows, err := s.db.QueryContext(ctx, g.query)
		if err != nil {
			return c, err
		}
		if err := scanCounts(rows, g.into); err != nil {
			return c, err
		}
	}
	return c, nil
}

// scanCounts reads (status, count) rows into a map and closes them.
func scanCounts(rows *sql.Rows, into map[string]int) error {
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		into[k] = n
	}
	return rows.Err()
}
