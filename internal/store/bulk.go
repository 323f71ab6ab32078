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
// statement prepared for the transaction, the rest row by row.
func insertDevices(ctx context.Context, tx *sql.Tx, devices []iot.Device) error {
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
