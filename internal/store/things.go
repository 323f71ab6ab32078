package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// ThingModelVersion is one stored thing model: the draft (Version "") or
// a published version.
type ThingModelVersion struct {
	Version     string
	TSL         []byte
	Description string
	Created     time.Time
}

// MaxThingModelVersions is how many published versions a product keeps
// (the newest; docs/fidelity.md, things §5.5).
const MaxThingModelVersions = 10

// ThingModel returns a product's draft (version "") or one published
// version; iot.ErrNotFound when there is none.
func (s *Store) ThingModel(ctx context.Context, accessKeyID, productKey, version string) (ThingModelVersion, error) {
	var m ThingModelVersion
	var tsl string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT version, tsl, description, created_ms FROM thing_models WHERE access_key_id=? AND product_key=? AND version=?`,
		accessKeyID, productKey, version).Scan(&m.Version, &tsl, &m.Description, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return m, iot.ErrNotFound
	}
	m.TSL, m.Created = []byte(tsl), msTime(created)
	return m, err
}

// LatestThingModel returns a product's newest published version;
// iot.ErrNotFound when it never published one.
func (s *Store) LatestThingModel(ctx context.Context, accessKeyID, productKey string) (ThingModelVersion, error) {
	var m ThingModelVersion
	var tsl string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT version, tsl, description, created_ms FROM thing_models
		WHERE access_key_id=? AND product_key=? AND version<>'' ORDER BY created_ms DESC, rowid DESC LIMIT 1`,
		accessKeyID, productKey).Scan(&m.Version, &tsl, &m.Description, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return m, iot.ErrNotFound
	}
	m.TSL, m.Created = []byte(tsl), msTime(created)
	return m, err
}

// SetThingModelDraft replaces a product's draft thing model;
// iot.ErrNotFound when the product does not exist.
func (s *Store) SetThingModelDraft(ctx context.Context, accessKeyID, productKey string, tsl []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := productExists(ctx, tx, accessKeyID, productKey); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO thing_models(access_key_id, product_key, version, tsl, created_ms) VALUES(?,?,'',?,?)
			ON CONFLICT(access_key_id, product_key, version) DO UPDATE SET tsl=excluded.tsl, created_ms=excluded.created_ms`,
			accessKeyID, productKey, string(tsl), s.nowMS())
		return err
	})
}

// PublishThingModel publishes the draft as version, keeping the newest
// MaxThingModelVersions. iot.ErrNotFound without a draft; iot.ErrConflict
// when the version exists.
func (s *Store) PublishThingModel(ctx context.Context, accessKeyID, productKey, version, description string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return publishThingModel(ctx, tx, accessKeyID, productKey, version, description, s.nowMS())
	})
}

func publishThingModel(ctx context.Context, tx *sql.Tx, accessKeyID, productKey, version, description string, now int64) error {
	var tsl string
	err := tx.QueryRowContext(ctx, `SELECT tsl FROM thing_models WHERE access_key_id=? AND product_key=? AND version=''`, accessKeyID, productKey).Scan(&tsl)
	if errors.Is(err, sql.ErrNoRows) {
		return iot.ErrNotFound
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO thing_models(access_key_id, product_key, version, tsl, description, created_ms) VALUES(?,?,?,?,?,?)`,
		accessKeyID, productKey, version, tsl, description, now)
	if isUnique(err) {
		return iot.ErrConflict
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM thing_models WHERE access_key_id=? AND product_key=? AND version<>'' AND rowid NOT IN
		(SELECT rowid FROM thing_models WHERE access_key_id=? AND product_key=? AND version<>'' ORDER BY created_ms DESC, rowid DESC LIMIT ?)`,
		accessKeyID, productKey, accessKeyID, productKey, MaxThingModelVersions)
	return err
}

func productExists(ctx context.Context, tx *sql.Tx, accessKeyID, productKey string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM products WHERE access_key_id=? AND product_key=?`, accessKeyID, productKey).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return iot.ErrNotFound
	}
	return err
}

// UpdateProduct renames a product and, when description is not nil,
// replaces its description. iot.ErrNotFound for an unknown product;
// iot.ErrConflict when another product of the instance has the name.
func (s *Store) UpdateProduct(ctx context.Context, accessKeyID, productKey, name string, description *string) error {
	q, args := `UPDATE products SET product_name=?`, []any{name}
	if description != nil {
		q, args = q+`, description=?`, append(args, *description)
	}
	res, err := s.db.ExecContext(ctx, q+` WHERE access_key_id=? AND product_key=?`, append(args, accessKeyID, productKey)...)
	if isUnique(err) {
		return iot.ErrConflict
	}
	if err != nil {
		return err
	}
	return affected(res)
}

// RecordProperties stores reported values: each becomes the property's
// latest value unless a newer one is stored, and a point of its history;
// the device's history keeps its newest keep points (0: all).
func (s *Store) RecordProperties(ctx context.Context, iotID string, vals []iot.PropertyValue, keep int) error {
	if len(vals) == 0 {
		return nil
	}
	// Written with the rest of the group (group.go: writeGroup).
	return s.groupWait(groupJob{props: &propertyWrite{iotID: iotID, vals: vals}, keep: keep})
}

// trim counts the added rows a device just wrote to a history table and
// keeps its newest keep rows (0: all); the count (migration 0005) makes it
// cost the rows it deletes, not the rows it keeps.
func trim(ctx context.Context, tx *sql.Tx, table, iotID string, added, keep int) error {
	var n int
	if err := tx.QueryRowContext(ctx, `INSERT INTO history_counts(iot_id, tbl, n) VALUES(?,?,?)
		ON CONFLICT(iot_id, tbl) DO UPDATE SET n = n + excluded.n RETURNING n`, iotID, table, added).Scan(&n); err != nil {
		return err
	}
	if keep <= 0 || n <= keep {
		return nil
	}
	return cut(ctx, tx, table, iotID, n, keep)
}

// cut deletes a device's oldest rows of a history table that holds n of
// them, down to keep, and counts it.
func cut(ctx context.Context, tx *sql.Tx, table, iotID string, n, keep int) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE seq IN (SELECT seq FROM `+table+` WHERE iot_id=? ORDER BY seq LIMIT ?)`, iotID, n-keep); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE history_counts SET n=? WHERE iot_id=? AND tbl=?`, keep, iotID, table)
	return err
}

// LatestProperties returns a device's latest value of each property it
// reported, by identifier.
func (s *Store) LatestProperties(ctx context.Context, iotID string) (map[string]iot.PropertyValue, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT identifier, data_type, value, time_ms FROM property_latest WHERE iot_id=? ORDER BY identifier`, iotID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]iot.PropertyValue{}
	for rows.Next() {
		var v iot.PropertyValue
		var ms int64
		if err := rows.Scan(&v.Identifier, &v.DataType, &v.Value, &ms); err != nil {
			return nil, err
		}
		v.Time = msTime(ms)
		out[v.Identifier] = v
	}
	return out, rows.Err()
}

func order(asc bool) string {
	if asc {
		return " ORDER BY time_ms ASC, seq ASC"
	}
	return " ORDER BY time_ms DESC, seq DESC"
}

// PropertyHistory returns up to q.Limit+1 points of one property in the
// window, in the asked order.
func (s *Store) PropertyHistory(ctx context.Context, q iot.HistoryQuery) ([]iot.PropertyValue, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT identifier, value, time_ms FROM property_history WHERE iot_id=? AND identifier=? AND time_ms BETWEEN ? AND ?`+
		order(q.Asc)+` LIMIT ?`, q.IotID, q.Identifier, q.Start, q.End, q.Limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.PropertyValue
	for rows.Next() {
		var v iot.PropertyValue
		var ms int64
		if err := rows.Scan(&v.Identifier, &v.Value, &ms); err != nil {
			return nil, err
		}
		v.Time = msTime(ms)
		out = append(out, v)
	}
	return out, rows.Err()
}

// RecordEvent stores an event a device posted, keeping the device's
// newest keep events (0: all).
func (s *Store) RecordEvent(ctx context.Context, e iot.EventRecord, keep int) error {
	return s.groupTx(func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_history(iot_id, identifier, name, event_type, output_data, time_ms) VALUES(?,?,?,?,?,?)`,
			e.IotID, e.Identifier, e.Name, e.EventType, e.OutputData, e.Time.UnixMilli()); err != nil {
			return err
		}
		return trim(ctx, tx, "event_history", e.IotID, 1, keep)
	})
}

// EventHistory returns up to q.Limit+1 events in the window.
func (s *Store) EventHistory(ctx context.Context, q iot.HistoryQuery) ([]iot.EventRecord, error) {
	where, args := `iot_id=? AND time_ms BETWEEN ? AND ?`, []any{q.IotID, q.Start, q.End}
	if q.Identifier != "" {
		where, args = where+` AND identifier=?`, append(args, q.Identifier)
	}
	if q.EventType != "" {
		where, args = where+` AND event_type=?`, append(args, q.EventType)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT iot_id, identifier, name, event_type, output_data, time_ms FROM event_history WHERE `+where+order(q.Asc)+` LIMIT ?`,
		append(args, q.Limit+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.EventRecord
	for rows.Next() {
		var e iot.EventRecord
		var ms int64
		if err := rows.Scan(&e.IotID, &e.Identifier, &e.Name, &e.EventType, &e.OutputData, &ms); err != nil {
			return nil, err
		}
		e.Time = msTime(ms)
		out = append(out, e)
	}
	return out, rows.Err()
}

// RecordServiceCall stores a service call, keeping the device's newest
// keep calls (0: all).
func (s *Store) RecordServiceCall(ctx context.Context, r iot.ServiceRecord, keep int) error {
	return s.deviceTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_history(iot_id, identifier, name, message_id, input_data, output_data, time_ms) VALUES(?,?,?,?,?,?,?)`,
			r.IotID, r.Identifier, r.Name, r.MessageID, r.InputData, r.OutputData, r.Time.UnixMilli()); err != nil {
			return err
		}
		return trim(ctx, tx, "service_history", r.IotID, 1, keep)
	})
}

// RecordServiceReply stores a device's reply to the call with messageID;
// iot.ErrNotFound when no such call is recorded.
func (s *Store) RecordServiceReply(ctx context.Context, iotID, messageID, output string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE service_history SET output_data=? WHERE iot_id=? AND message_id=?`, output, iotID, messageID)
	if err != nil {
		return err
	}
	return affected(res)
}

// ServiceHistory returns up to q.Limit+1 service calls in the window.
func (s *Store) ServiceHistory(ctx context.Context, q iot.HistoryQuery) ([]iot.ServiceRecord, error) {
	where, args := `iot_id=? AND time_ms BETWEEN ? AND ?`, []any{q.IotID, q.Start, q.End}
	if q.Identifier != "" {
		where, args = where+` AND identifier=?`, append(args, q.Identifier)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT iot_id, identifier, name, message_id, input_data, output_data, time_ms FROM service_history WHERE `+where+order(q.Asc)+` LIMIT ?`,
		append(args, q.Limit+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.ServiceRecord
	for rows.Next() {
		var r iot.ServiceRecord
		var ms int64
		if err := rows.Scan(&r.IotID, &r.Identifier, &r.Name, &r.MessageID, &r.InputData, &r.OutputData, &ms); err != nil {
			return nil, err
		}
		r.Time = msTime(ms)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Shadow returns a device's shadow document, nil when it has none.
func (s *Store) Shadow(ctx context.Context, iotID string) ([]byte, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT document FROM shadows WHERE iot_id=?`, iotID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return []byte(doc), err
}

// UpdateShadow changes a device's shadow in one transaction: update gets
// the current document (nil when none) and returns the new one and its
// version, or an error that leaves the shadow as it was.
func (s *Store) UpdateShadow(ctx context.Context, iotID string, update func(old []byte) ([]byte, int64, error)) error {
	return s.deviceTx(ctx, func(tx *sql.Tx) error {
		var doc string
		var old []byte
		err := tx.QueryRowContext(ctx, `SELECT document FROM shadows WHERE iot_id=?`, iotID).Scan(&doc)
		switch {
		case err == nil:
			old = []byte(doc)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		next, version, err := update(old)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO shadows(iot_id, document, version) VALUES(?,?,?)
			ON CONFLICT(iot_id) DO UPDATE SET document=excluded.document, version=excluded.version`, iotID, string(next), version)
		if isForeignKey(err) {
			return iot.ErrNotFound
		}
		return err
	})
}

// DesiredProperties returns a device's desired values by identifier.
func (s *Store) DesiredProperties(ctx context.Context, iotID string) (map[string]iot.DesiredValue, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT identifier, data_type, value, version, time_ms FROM desired_properties WHERE iot_id=?`, iotID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]iot.DesiredValue{}
	for rows.Next() {
		var d iot.DesiredValue
		var v sql.NullString
		var ms int64
		if err := rows.Scan(&d.Identifier, &d.DataType, &v, &d.Version, &ms); err != nil {
			return nil, err
		}
		if v.Valid {
			d.Value = &v.String
		}
		d.Time = msTime(ms)
		out[d.Identifier] = d
	}
	return out, rows.Err()
}

// SetDesired stores desired values in one transaction, each version one
// more than before. versions, when it names an identifier, must equal its
// current version (0 when never set), else iot.ErrState and nothing is
// written. It returns the new versions.
func (s *Store) SetDesired(ctx context.Context, iotID string, vals []iot.DesiredValue, versions map[string]int64) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.deviceTx(ctx, func(tx *sql.Tx) error {
		for _, v := range vals {
			var cur int64
			err := tx.QueryRowContext(ctx, `SELECT version FROM desired_properties WHERE iot_id=? AND identifier=?`, iotID, v.Identifier).Scan(&cur)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if want, ok := versions[v.Identifier]; ok && want != cur {
				return fmt.Errorf("%s: version %d, not %d: %w", v.Identifier, cur, want, iot.ErrState)
			}
			var val any
			if v.Value != nil {
				val = *v.Value
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO desired_properties(iot_id, identifier, data_type, value, version, time_ms) VALUES(?,?,?,?,?,?)
				ON CONFLICT(iot_id, identifier) DO UPDATE SET data_type=excluded.data_type, value=excluded.value, version=excluded.version, time_ms=excluded.time_ms`,
				iotID, v.Identifier, v.DataType, val, cur+1, v.Time.UnixMilli()); err != nil {
				if isForeignKey(err) {
					return iot.ErrNotFound
				}
				return err
			}
			out[v.Identifier] = cur + 1
		}
		return nil
	})
	return out, err
}

// LogMessage appends to the message log, keeping its newest keep entries
// (0: all). It does not wait: the entry is written with the next group
// (group.go), before any later read of the log, and a failure goes to
// onErr. A device is answered without waiting for its log line.
func (s *Store) LogMessage(m iot.Message, keep int, onErr func(error)) {
	// Written with the rest of the group (group.go: writeGroup).
	s.groupAsync(groupJob{msg: &m, keep: keep, onErr: onErr})
}

// Messages returns message-log entries, oldest first.
func (s *Store) Messages(ctx context.Context, f iot.MessageFilter, keep int) ([]iot.Message, error) {
	s.flush()
	var where []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			where, args = append(where, col+"=?"), append(args, v)
		}
	}
	add("access_key_id", f.AccessKeyID)
	add("product_key", f.ProductKey)
	add("device_name", f.DeviceName)
	add("topic", f.Topic)
	add("direction", f.Direction)
	q := `SELECT seq, access_key_id, time_ms, direction, product_key, device_name, topic, qos, payload, message_id, request_id, virtual FROM messages`
	if keep > 0 {
		// Rows past the bound that the periodic trim has not removed yet.
		where = append(where, "seq > (SELECT COALESCE(MAX(seq),0) FROM messages) - ?")
		args = append(args, keep)
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.Message
	for rows.Next() {
		var m iot.Message
		var ms int64
		var qos int
		if err := rows.Scan(&m.Seq, &m.AccessKeyID, &ms, &m.Direction, &m.ProductKey, &m.DeviceName, &m.Topic, &qos, &m.Payload, &m.MessageID, &m.RequestID, &m.Virtual); err != nil {
			return nil, err
		}
		m.Time, m.QoS = msTime(ms), byte(qos)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// ClearMessages empties the message log and returns how many entries it
// held.
func (s *Store) ClearMessages(ctx context.Context) (int, error) {
	s.flush()
	res, err := s.db.ExecContext(ctx, `DELETE FROM messages`)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// isForeignKey reports a FOREIGN KEY violation: the device or product the
// row belongs to is gone.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// OnlineDevices returns a product's ONLINE devices.
func (s *Store) OnlineDevices(ctx context.Context, accessKeyID, productKey string) ([]iot.Device, error) {
	return collectDevices(s.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE access_key_id=? AND product_key=? AND status='ONLINE' ORDER BY seq`,
		accessKeyID, productKey))
}

// ProductsByKey returns the products, of any account, with this
// ProductKey (loose accounts may share one).
func (s *Store) ProductsByKey(ctx context.Context, productKey string) ([]iot.Product, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT access_key_id FROM products WHERE product_key=? ORDER BY access_key_id`, productKey)
	if err != nil {
		return nil, err
	}
	var aks []string
	for rows.Next() {
		var ak string
		if err := rows.Scan(&ak); err != nil {
			rows.Close()
			return nil, err
		}
		aks = append(aks, ak)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]iot.Product, 0, len(aks))
	for _, ak := range aks {
		p, err := s.Product(ctx, ak, productKey)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// SeedThingModelVersion is the version a fixture's thing model is
// published as.
const SeedThingModelVersion = "1.0.0"

// seedThingModel gives a seeded product its fixture's thing model, as
// the draft and as published version SeedThingModelVersion, so devices
// are checked against it and QueryThingModelPublished shows it at once.
func seedThingModel(ctx context.Context, tx *sql.Tx, p iot.Product, now int64) error {
	if len(p.ThingModel) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO thing_models(access_key_id, product_key, version, tsl, created_ms) VALUES(?,?,'',?,?)`,
		p.AccessKeyID, p.ProductKey, string(p.ThingModel), now); err != nil {
		return err
	}
	return publishThingModel(ctx, tx, p.AccessKeyID, p.ProductKey, SeedThingModelVersion, "from the fixture", now)
}
