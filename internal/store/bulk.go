package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// bulkRows is how many devices one multi-row INSERT carries: 100 rows of
// 11 values stay far below SQLite's bound parameters, and cut the
// per-statement cost of database/sql and the driver a hundredfold.
const bulkRows = 100

// insertDeviceValues is one row of insertDeviceSQL's VALUES.
const insertDeviceValues = "(?,?,?,?,?,?,?,?,?,?,?)"

// bulkDeviceSQL inserts bulkRows devices.
var bulkDeviceSQL = strings.TrimSuffix(insertDeviceSQL, insertDeviceValues) + strings.TrimSuffix(strings.Repeat(insertDeviceValues+",", bulkRows), ",")

// insertDevices inserts devices inside tx: full chunks through one
// statement prepared for the transaction, the rest row by row; then it
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

func insertDeviceRows(ctx context.Context, tx *sql.Tx, devices []iot.Device) error {
	if len(devices) >= bulkRows {
		st, err := tx.PrepareContext(ctx, bulkDeviceSQL)
		if err != nil {
			return err
		}
		defer st.Close()
		args := make([]any, 0, bulkRows*11)
		for len(devices) >= bulkRows {
			args = args[:0]
			for _, d := range devices[:bulkRows] {
				args = append(args, deviceArgs(d)...)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
			devices = devices[bulkRows:]
		}
	}
	if len(devices) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, insertDeviceSQL)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, d := range devices {
		if _, err := st.ExecContext(ctx, deviceArgs(d)...); err != nil {
			return err
		}
	}
	return nil
}
