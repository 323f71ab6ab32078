package store

import (
	"context"
	"database/sql"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// bulkRows is how many devices one multi-row INSERT carries at most: the
// per-statement cost of database/sql and the driver is paid once per
// hundred devices.
const bulkRows = 100

// bulkDeviceSQL inserts n devices that share their account, product,
// status, batch and times: those are bound once, in the SELECT list, and
// each row of the VALUES binds only its own five values, in the order
// given (a plain scan of the VALUES keeps it, so seq follows the slice).
// Every bound value costs the driver a bind and a clear under SQLite's
// mutex, which were a quarter of a 10,000-device settlement at 11 a row.
// Plain "?", not "?NNN": the driver asks SQLite the name of every numbered
// parameter, which SQLite finds by a linear search.
//
// OR ROLLBACK: a multi-row INSERT whose conflicts abort the statement
// makes SQLite copy every page it touches into a statement journal, to
// undo the rows before the failing one; the caller's transaction is
// abandoned on any error anyway.
func bulkDeviceSQL(n int) string {
	b := make([]byte, 0, 200+n*32)
	b = append(b, "INSERT OR ROLLBACK INTO devices(access_key_id, product_key, status, apply_id, created_ms, modified_ms, device_name, device_secret, device_id, iot_id, nickname)\n"+
		"SELECT ?, ?, ?, ?, ?, ?, column1, column2, column3, column4, column5 FROM (VALUES "...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "(?,?,?,?,?)"...)
	}
	return string(append(b, ')'))
}

// fullBulkDeviceSQL is bulkDeviceSQL(bulkRows), the statement of every
// chunk but a batch's last.
var fullBulkDeviceSQL = bulkDeviceSQL(bulkRows)

// insertDevices inserts devices inside tx (insertDeviceRows); then it
// counts them in their products and batches (migration 0004 left that to
// the inserting code).
func insertDevices(ctx context.Context, tx *sql.Tx, devices []iot.Device) error {
	if err := insertDeviceRows(ctx, tx, devices); err != nil {
		return err
	}
	type group struct {
		accessKeyID, productKey string
		applyID                 int64
	}
	counts := map[group]int{}
	for _, d := range devices {
		counts[group{d.AccessKeyID, d.ProductKey, d.ApplyID}]++
	}
	for g, n := range counts {
		if err := countDevices(ctx, tx, g.accessKeyID, g.productKey, g.applyID, n); err != nil {
			return err
		}
	}
	return nil
}

// countDevices adds n new devices to their product's count and, for
// applyID other than 0, to their batch's.
func countDevices(ctx context.Context, tx *sql.Tx, accessKeyID, productKey string, applyID int64, n int) error {
	if _, err := tx.ExecContext(ctx, `UPDATE products SET device_count = device_count + ? WHERE access_key_id=? AND product_key=?`, n, accessKeyID, productKey); err != nil {
		return err
	}
	if applyID == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE batches SET live = live + ? WHERE apply_id=?`, n, applyID)
	return err
}

// insertDeviceRows inserts devices in chunks of up to bulkRows that share
// what bulkDeviceSQL binds once; a chunk that does not is inserted row by
// row.
func insertDeviceRows(ctx context.Context, tx *sql.Tx, devices []iot.Device) error {
	var full *sql.Stmt
	args := make([]any, 0, 6+5*bulkRows)
	for len(devices) > 0 {
		chunk := devices[:min(bulkRows, len(devices))]
		devices = devices[len(chunk):]
		if !shareConstants(chunk) {
			for _, d := range chunk {
				if _, err := tx.ExecContext(ctx, insertDeviceSQL, deviceArgs(d)...); err != nil {
					return err
				}
			}
			continue
		}
		d0 := chunk[0]
		var apply any
		if d0.ApplyID != 0 {
			apply = d0.ApplyID
		}
		args = append(args[:0], d0.AccessKeyID, d0.ProductKey, d0.Status, apply, d0.Created.UnixMilli(), d0.Modified.UnixMilli())
		for _, d := range chunk {
			args = append(args, d.DeviceName, d.DeviceSecret, d.DeviceID, d.IotID, d.Nickname)
		}
		if len(chunk) < bulkRows {
			if _, err := tx.ExecContext(ctx, bulkDeviceSQL(len(chunk)), args...); err != nil {
				return err
			}
			continue
		}
		if full == nil {
			st, err := tx.PrepareContext(ctx, fullBulkDeviceSQL)
			if err != nil {
				return err
			}
			defer st.Close()
			full = st
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// shareConstants reports devices that agree on every value bulkDeviceSQL
// binds once.
func shareConstants(devices []iot.Device) bool {
	d0 := devices[0]
	for _, d := range devices[1:] {
		if d.AccessKeyID != d0.AccessKeyID || d.ProductKey != d0.ProductKey || d.Status != d0.Status || d.ApplyID != d0.ApplyID ||
			d.Created.UnixMilli() != d0.Created.UnixMilli() || d.Modified.UnixMilli() != d0.Modified.UnixMilli() {
			return false
		}
	}
	return true
}
