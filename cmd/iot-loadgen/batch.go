package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	_ "modernc.org/sqlite"

	"github.com/iot-emulator/iot-emulator/emulator" // the floor inserts into the same SQLite the emulator uses
)

// batchMode times the whole batch flow per batch size — BatchRegisterDevice
// → CREATE_SUCCESS → every QueryPageByApplyId page — and, for 10,000,
// the custom-name flow, against the floor: as many prepared inserts of a
// device row in one SQLite transaction.
func batchMode(ctx context.Context, o options, out io.Writer) error {
	in, err := open(ctx, o, nil, func(c *emulator.Config) { c.DeviceQuota = 10_000_000 })
	if err != nil {
		return err
	}
	defer in.close()
	hc := newClient(1)
	sizes := []int{10, 100, 1000, 10_000}
	fmt.Fprintf(out, "# median of 5 runs, state %s\n", stateKind(o))
	fmt.Fprintf(out, "%-28s %8s %12s %12s %8s\n", "flow", "devices", "emulator", "floor", "×floor")
	var points []point
	for _, n := range sizes {
		emu := median(5, func() (time.Duration, error) {
			start := time.Now()
			id, err := registerBatch(ctx, hc, in.url, n)
			if err != nil {
				return 0, err
			}
			names, err := readPages(ctx, hc, in.url, id)
			if err == nil && len(names) != n {
				err = fmt.Errorf("batch %s: %d devices, want %d", id, len(names), n)
			}
			return time.Since(start), err
		})
		floor := median(5, func() (time.Duration, error) { return insertFloor(ctx, n) })
		if emu.err != nil || floor.err != nil {
			return fmt.Errorf("batch of %d: %v %v", n, emu.err, floor.err)
		}
		fmt.Fprintf(out, "%-28s %8d %12s %12s %8.1f\n", "BatchRegisterDevice flow", n, emu.d.Round(time.Microsecond), floor.d.Round(time.Microsecond), float64(emu.d)/float64(floor.d))
		points = append(points, point{float64(n), []float64{emu.d.Seconds() * 1000, floor.d.Seconds() * 1000}})
	}
	run := 0
	custom := median(5, func() (time.Duration, error) {
		run++
		start := time.Now()
		err := customFlow(ctx, hc, in.url, run, 10_000)
		return time.Since(start), err
	})
	if custom.err != nil {
		return custom.err
	}
	fmt.Fprintf(out, "%-28s %8d %12s\n", "custom-name flow", 10_000, custom.d.Round(time.Microsecond))
	return plot(o.svg, "batch.svg", "Batch flow (register → CREATE_SUCCESS → every page): wall time against batch size", "devices in the batch", "milliseconds",
		[]string{"emulator (register → CREATE_SUCCESS → every page)", "floor (prepared inserts, one transaction)"}, points)
}

// customFlow is BatchCheckDeviceNames with n names → CHECK_SUCCESS →
// BatchRegisterDeviceWithApplyId → CREATE_SUCCESS → every page.
func customFlow(ctx context.Context, hc *http.Client, base string, run, n int) error {
	params := map[string]string{"ProductKey": productKey}
	for i := range n {
		params["DeviceName."+strconv.Itoa(i+1)] = fmt.Sprintf("c%02d_dev%05d", run, i)
	}
	v, err := callMethod(ctx, hc, http.MethodPost, base, "BatchCheckDeviceNames", params)
	if err != nil {
		return err
	}
	id := fmt.Sprint(int64(v["Data"].(map[string]any)["ApplyId"].(float64)))
	if err := waitStatus(ctx, hc, base, id, "CHECK_SUCCESS"); err != nil {
		return err
	}
	if _, err := call(ctx, hc, base, "BatchRegisterDeviceWithApplyId", map[string]string{"ProductKey": productKey, "ApplyId": id}); err != nil {
		return err
	}
	if err := waitStatus(ctx, hc, base, id, "CREATE_SUCCESS"); err != nil {
		return err
	}
	names, err := readPages(ctx, hc, base, id)
	if err == nil && len(names) != n {
		err = fmt.Errorf("batch %s: %d devices, want %d", id, len(names), n)
	}
	return err
}

// insertFloor is n prepared inserts of a device row, with the devices
// table's keys, in one transaction of a fresh in-memory SQLite.
func insertFloor(ctx context.Context, n int) (time.Duration, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE devices (seq INTEGER PRIMARY KEY AUTOINCREMENT, access_key_id TEXT NOT NULL, product_key TEXT NOT NULL,
		device_name TEXT NOT NULL, device_secret TEXT NOT NULL, device_id TEXT NOT NULL, iot_id TEXT NOT NULL UNIQUE, nickname TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL, apply_id INTEGER, created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL, UNIQUE (access_key_id, product_key, device_name))`); err != nil {
		return 0, err
	}
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO devices(access_key_id, product_key, device_name, device_secret, device_id, iot_id, nickname, status, apply_id, created_ms, modified_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return 0, err
	}
	now := time.Now().UnixMilli()
	for i := range n {
		s := strconv.Itoa(i)
		if _, err := st.ExecContext(ctx, accessKeyID, productKey, "dev"+s, "secret0123456789abcdef0123456789", "id"+s, "iot"+s, "", "UNACTIVE", 1, now, now); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

type timed struct {
	d   time.Duration
	err error
}

// median runs fn n times and returns the median duration.
func median(n int, fn func() (time.Duration, error)) timed {
	var ds []time.Duration
	for range n {
		d, err := fn()
		if err != nil {
			return timed{err: err}
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return timed{d: ds[len(ds)/2]}
}
