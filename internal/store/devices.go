package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

const deviceCols = `access_key_id, product_key, device_name, device_secret, device_id, iot_id, nickname, status, COALESCE(apply_id,0), created_ms, modified_ms,
	active_ms, online_ms, ip_address, status_ms`

func scanDevice(sc interface{ Scan(...any) error }) (iot.Device, error) {
	var d iot.Device
	var c, m, status int64
	var active, online sql.NullInt64
	err := sc.Scan(&d.AccessKeyID, &d.ProductKey, &d.DeviceName, &d.DeviceSecret, &d.DeviceID, &d.IotID, &d.Nickname, &d.Status, &d.ApplyID, &c, &m,
		&active, &online, &d.IPAddress, &status)
	d.Created, d.Modified = msTime(c), msTime(m)
	if active.Valid {
		d.Activated = msTime(active.Int64)
	}
	if online.Valid {
		d.LastOnline = msTime(online.Int64)
	}
	d.StatusChanged = d.Created
	if status != 0 {
		d.StatusChanged = msTime(status)
	}
	return d, err
}

// collectDevicesSeq is collectDevices for rows of deviceCols and then
// seq, with each device's seq.
func collectDevicesSeq(rows *sql.Rows, err error) ([]iot.Device, []int64, error) {
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []iot.Device
	var seqs []int64
	for rows.Next() {
		var seq int64
		d, err := scanDevice(withSeq{rows, &seq})
		if err != nil {
			return nil, nil, err
		}
		out, seqs = append(out, d), append(seqs, seq)
	}
	return out, seqs, rows.Err()
}

// withSeq scans a row's seq after the columns its caller asks for.
type withSeq struct {
	rows *sql.Rows
	seq  *int64
}

func (w withSeq) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.seq)...) }

func collectDevices(rows *sql.Rows, err error) ([]iot.Device, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

const insertDeviceSQL = `INSERT INTO devices(access_key_id, product_key, device_name, device_secret, device_id, iot_id, nickname, status, apply_id, created_ms, modified_ms)
	VALUES(?,?,?,?,?,?,?,?,?,?,?)`

func deviceArgs(d iot.Device) []any {
	var apply any
	if d.ApplyID != 0 {
		apply = d.ApplyID
	}
	return []any{d.AccessKeyID, d.ProductKey, d.DeviceName, d.DeviceSecret, d.DeviceID, d.IotID, d.Nickname, d.Status, apply,
		d.Created.UnixMilli(), d.Modified.UnixMilli()}
}

func insertDevice(ctx context.Context, tx *sql.Tx, d iot.Device) error {
	_, err := tx.ExecContext(ctx, insertDeviceSQL, deviceArgs(d)...)
	if isUnique(err) {
		return iot.ErrConflict
	}
	if err == nil {
		// Counted here, not by trigger (migration 0004).
		err = countDevices(ctx, tx, d.AccessKeyID, d.ProductKey, d.ApplyID, 1)
	}
	return err
}

// CreateDevice stores one device, generating what is empty (name, secret,
// ids). iot.ErrConflict when the name is taken in the product; iot.ErrLimit
// when the product already has limit devices (0: no limit). Devices of
// every origin (RegisterDevice, batches, fixtures) share the table and its
// uniqueness rule, so a name taken by one path is taken for all.
func (s *Store) CreateDevice(ctx context.Context, d iot.Device, limit int) (iot.Device, error) {
	iot.FillDevice(&d, s.now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			var n int
			err := tx.QueryRowContext(ctx, `SELECT device_count FROM products WHERE access_key_id=? AND product_key=?`,
				d.AccessKeyID, d.ProductKey).Scan(&n)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if n >= limit {
				return iot.ErrLimit
			}
		}
		return insertDevice(ctx, tx, d)
	})
	return d, err
}

// DeviceByName returns a device by product and name, or iot.ErrNotFound.
func (s *Store) DeviceByName(ctx context.Context, accessKeyID, productKey, name string) (iot.Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE access_key_id=? AND product_key=? AND device_name=?`, accessKeyID, productKey, name))
	if errors.Is(err, sql.ErrNoRows) {
		return d, iot.ErrNotFound
	}
	return d, err
}

// DeviceByIotID returns a device of the account by IotId, or iot.ErrNotFound.
func (s *Store) DeviceByIotID(ctx context.Context, accessKeyID, iotID string) (iot.Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE access_key_id=? AND iot_id=?`, accessKeyID, iotID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, iot.ErrNotFound
	}
	return d, err
}

// DevicesByName returns the product's devices among names, keyed by name;
// names without a device are absent from the map.
func (s *Store) DevicesByName(ctx context.Context, accessKeyID, productKey string, names []string) (map[string]iot.Device, error) {
	out := make(map[string]iot.Device, len(names))
	if len(names) == 0 {
		return out, nil
	}
	q := `SELECT ` + deviceCols + ` FROM devices WHERE access_key_id=? AND product_key=? AND device_name IN (?` + strings.Repeat(",?", len(names)-1) + `)`
	args := make([]any, 0, len(names)+2)
	args = append(args, accessKeyID, productKey)
	for _, n := range names {
		args = append(args, n)
	}
	devs, err := collectDevices(s.db.QueryContext(ctx, q, args...))
	for _, d := range devs {
		out[d.DeviceName] = d
	}
	return out, err
}

// DevicesElsewhere reports whether another account than accessKeyID has a
// device with one of these names in a product with this key.
func (s *Store) DevicesElsewhere(ctx context.Context, accessKeyID, productKey string, names []string) (bool, error) {
	if len(names) == 0 {
		return false, nil
	}
	q := `SELECT COUNT(*) FROM devices WHERE access_key_id<>? AND product_key=? AND device_name IN (?` + strings.Repeat(",?", len(names)-1) + `)`
	args := make([]any, 0, len(names)+2)
	args = append(args, accessKeyID, productKey)
	for _, n := range names {
		args = append(args, n)
	}
	var n int
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n > 0, err
}

// DevicePage lists a product's devices newest first with the total.
func (s *Store) DevicePage(ctx context.Context, accessKeyID, productKey string, offset, limit int) ([]iot.Device, int, error) {
	// The product's kept count, not COUNT(*): counting is O(devices), and
	// a first page must not slow down as the product grows.
	var total int
	err := s.db.QueryRowContext(ctx, `SELECT device_count FROM products WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey).Scan(&total)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, 0, err
	}
	// A page starting at, or just after, one read before seeks to that
	// device: paging on, or reading a page again, costs what a first page
	// does (which needs no bound). A bound is a device's place in the
	// list, so any insert or delete of a device clears them with the rest
	// of the cache.
	gen := s.db.cache.generation()
	for skip := 0; skip < 2 && offset > 0; skip++ {
		if b, ok := s.db.cache.bound(boundKey{accessKeyID, productKey, offset - skip}); ok {
			out, err := s.pageFrom(ctx, gen, accessKeyID, productKey, offset, b, skip, limit)
			return out, total, err
		}
	}
	out, seqs, err := collectDevicesSeq(s.db.QueryContext(ctx, `SELECT `+deviceCols+`, seq FROM devices WHERE access_key_id=? AND product_key=?
		ORDER BY created_ms DESC, seq DESC LIMIT ? OFFSET ?`, accessKeyID, productKey, limit, offset))
	if err == nil {
		s.keepBounds(gen, accessKeyID, productKey, offset, out, seqs)
	}
	return out, total, err
}

// pageFrom reads the page of limit devices at offset, skip places after
// the device at bound b: those with b's created_ms from its seq down, then
// the older ones (devices of one batch share created_ms, so a single
// row-value range would scan the batch).
func (s *Store) pageFrom(ctx context.Context, gen uint64, accessKeyID, productKey string, offset int, b pageBound, skip, limit int) ([]iot.Device, error) {
	out, seqs, err := collectDevicesSeq(s.db.QueryContext(ctx, `SELECT `+deviceCols+`, seq FROM devices WHERE access_key_id=? AND product_key=?
		AND created_ms=? AND seq<=? ORDER BY created_ms DESC, seq DESC LIMIT ?`, accessKeyID, productKey, b.created, b.seq, skip+limit))
	if err != nil {
		return nil, err
	}
	if n := skip + limit - len(out); n > 0 {
		older, more, err := collectDevicesSeq(s.db.QueryContext(ctx, `SELECT `+deviceCols+`, seq FROM devices WHERE access_key_id=? AND product_key=?
			AND created_ms<? ORDER BY created_ms DESC, seq DESC LIMIT ?`, accessKeyID, productKey, b.created, n))
		if err != nil {
			return nil, err
		}
		out, seqs = append(out, older...), append(seqs, more...)
	}
	out, seqs = out[min(skip, len(out)):], seqs[min(skip, len(seqs)):]
	s.keepBounds(gen, accessKeyID, productKey, offset, out, seqs)
	return out, nil
}

// keepBounds remembers where the page read at offset begins and ends.
func (s *Store) keepBounds(gen uint64, accessKeyID, productKey string, offset int, devs []iot.Device, seqs []int64) {
	if len(devs) == 0 {
		return
	}
	last := len(devs) - 1
	s.db.cache.putBound(gen, boundKey{accessKeyID, productKey, offset}, pageBound{devs[0].Created.UnixMilli(), seqs[0]})
	s.db.cache.putBound(gen, boundKey{accessKeyID, productKey, offset + last}, pageBound{devs[last].Created.UnixMilli(), seqs[last]})
}

// DeleteDevice removes a device, freeing its name.
func (s *Store) DeleteDevice(ctx context.Context, accessKeyID, iotID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM devices WHERE access_key_id=? AND iot_id=?`, accessKeyID, iotID)
	if err != nil {
		return err
	}
	return affected(res)
}

// DevicesByLogin returns the devices, of any account, with this
// ProductKey and DeviceName: a device logs in by those alone, and
// loose-auth accounts may share a ProductKey. It seeks the (account,
// product, name) index once per account: an emulator holds a few, and a
// second index only for logins would slow every device insert.
func (s *Store) DevicesByLogin(ctx context.Context, productKey, deviceName string) ([]iot.Device, error) {
	return collectDevices(s.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE access_key_id IN (SELECT access_key_id FROM accounts)
		AND product_key=? AND device_name=? ORDER BY seq`, productKey, deviceName))
}

// ApplyDeviceEvent moves a device through the status machine
// (iot.NextStatus) in one transaction and returns it as stored. A login
// (iot.Connect) activates a device once, stamps its online time and IP;
// a refused transition is iot.ErrState with the device unchanged.
func (s *Store) ApplyDeviceEvent(ctx context.Context, accessKeyID, iotID string, ev iot.DeviceEvent, ip string) (iot.Device, error) {
	var d iot.Device
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE access_key_id=? AND iot_id=?`, accessKeyID, iotID))
		if errors.Is(err, sql.ErrNoRows) {
			return iot.ErrNotFound
		}
		if err != nil {
			return err
		}
		next, err := iot.NextStatus(d.Status, !d.Activated.IsZero(), ev)
		if err != nil {
			return err
		}
		now := msTime(s.nowMS())
		if ev == iot.Connect {
			if d.Activated.IsZero() {
				d.Activated = now
			}
			// Every accepted login stamps the status time, a takeover of an
			// online device too (docs/fidelity.md, devices §6.1).
			d.LastOnline, d.IPAddress, d.StatusChanged = now, ip, now
		}
		if next != d.Status {
			d.Status, d.StatusChanged = next, now
		}
		_, err = tx.ExecContext(ctx, `UPDATE devices SET status=?, active_ms=?, online_ms=?, ip_address=?, status_ms=? WHERE access_key_id=? AND iot_id=?`,
			d.Status, nullMS(d.Activated), nullMS(d.LastOnline), d.IPAddress, d.StatusChanged.UnixMilli(), accessKeyID, iotID)
		return err
	})
	return d, err
}

// OfflineAll marks every ONLINE device OFFLINE: no connection outlives the
// process, so after a restart no device is online until it logs in again.
func (s *Store) OfflineAll(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET status='OFFLINE', status_ms=? WHERE status='ONLINE'`, s.nowMS())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeviceCounts are QueryDeviceStatistics' numbers.
type DeviceCounts struct {
	Devices, Active, Online int
}

// CountDevices counts an account's devices in one instance, of one
// product when productKey is not empty: all, ever activated, online now.
func (s *Store) CountDevices(ctx context.Context, accessKeyID, instanceID, productKey string) (DeviceCounts, error) {
	var c DeviceCounts
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(d.active_ms IS NOT NULL),0), COALESCE(SUM(d.status='ONLINE'),0)
		FROM devices d JOIN products p ON p.access_key_id=d.access_key_id AND p.product_key=d.product_key
		WHERE d.access_key_id=? AND p.instance_id=? AND (?='' OR d.product_key=?)`,
		accessKeyID, instanceID, productKey, productKey).Scan(&c.Devices, &c.Active, &c.Online)
	return c, err
}

func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// RenewDeviceSecret gives a device a new DeviceSecret (dynamic
// registration hands out a new one each time) and returns the device.
func (s *Store) RenewDeviceSecret(ctx context.Context, accessKeyID, iotID string) (iot.Device, error) {
	secret := iot.NewDeviceSecret()
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET device_secret=?, modified_ms=? WHERE access_key_id=? AND iot_id=?`, secret, s.nowMS(), accessKeyID, iotID)
	if err != nil {
		return iot.Device{}, err
	}
	if err := affected(res); err != nil {
		return iot.Device{}, err
	}
	return s.DeviceByIotID(ctx, accessKeyID, iotID)
}
