package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iot-emulator/iot-emulator/emulator"
)

// figure is one side of a measurement.
type figure struct {
	reqs     int
	errs     int
	seconds  float64
	p50, p99 time.Duration
}

func (f figure) rate() float64 { return float64(f.reqs) / f.seconds }

// loadPair runs signed calls from o.clients keep-alive clients against two
// targets in alternating one-second slices, so both see the same machine
// state; each slice's requests count for the target of their slice.
func loadPair(ctx context.Context, o options, targets [2]string, action string, params func() map[string]string) [2]figure {
	hc := newClient(o.clients)
	var slot atomic.Int32
	lat := make([][2][]time.Duration, o.clients)
	errs := make([][2]int, o.clients)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				t := slot.Load()
				if t < 0 {
					// Between slices: no request may straddle the switch.
					time.Sleep(time.Millisecond)
					continue
				}
				start := time.Now()
				_, err := callRaw(ctx, hc, http.MethodGet, targets[t], action, params())
				d := time.Since(start)
				if err != nil {
					errs[c][t]++
					continue
				}
				lat[c][t] = append(lat[c][t], d)
			}
		})
	}
	var secs [2]float64
	slices := int(o.duration / time.Second)
	for i := range max(slices, 2) {
		t := int32(i % 2)
		start := time.Now()
		slot.Store(t)
		time.Sleep(time.Second)
		slot.Store(-1)
		// Let the slice's requests finish before the next target starts.
		time.Sleep(20 * time.Millisecond)
		secs[t] += time.Since(start).Seconds() - 0.020
	}
	close(stop)
	wg.Wait()
	var out [2]figure
	for t := range 2 {
		var all []time.Duration
		for c := range o.clients {
			all = append(all, lat[c][t]...)
			out[t].errs += errs[c][t]
		}
		out[t].reqs, out[t].seconds = len(all), secs[t]
		out[t].p50, out[t].p99 = percentile(all, 0.50), percentile(all, 0.99)
	}
	hc.CloseIdleConnections()
	return out
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

// rpcTarget is one action of the rpc mode with the parameters it sends.
type rpcTarget struct {
	name, action string
	params       map[string]string
}

// prepare gives the emulator a settled 100-device batch and returns the
// calls of the rpc mode against it.
func prepare(ctx context.Context, base string) ([]rpcTarget, error) {
	hc := newClient(1)
	id, err := registerBatch(ctx, hc, base, 100)
	if err != nil {
		return nil, err
	}
	names, err := readPages(ctx, hc, base, id)
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("pages of batch %s: %v (%d names)", id, err, len(names))
	}
	dev := names[len(names)/2]
	return []rpcTarget{
		{"status", "QueryBatchRegisterDeviceStatus", map[string]string{"ProductKey": productKey, "ApplyId": id}},
		{"detail", "QueryDeviceDetail", map[string]string{"ProductKey": productKey, "DeviceName": dev}},
		{"page", "QueryPageByApplyId", map[string]string{"ApplyId": id, "PageSize": "50", "CurrentPage": "1"}},
		{"devstatus", "GetDeviceStatus", map[string]string{"ProductKey": productKey, "DeviceName": dev}},
		{"querydevice", "QueryDevice", map[string]string{"ProductKey": productKey, "PageSize": "50", "CurrentPage": "1"}},
	}, nil
}

func rpcMode(ctx context.Context, o options, out io.Writer) error {
	in, err := open(ctx, o, nil, nil)
	if err != nil {
		return err
	}
	defer in.close()
	bare, stopBare, err := startBare()
	if err != nil {
		return err
	}
	defer stopBare()
	calls, err := prepare(ctx, in.url)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "# %d clients, %s per action in alternating 1 s slices, state %s\n", o.clients, o.duration, stateKind(o))
	fmt.Fprintf(out, "%-32s %10s %9s %9s %6s   %10s %9s %9s   %s\n", "action", "emu req/s", "p50", "p99", "errors", "bare req/s", "p50", "p99", "ratio")
	for _, c := range calls {
		if !strings.Contains(","+o.actions+",", ","+c.name+",") {
			continue
		}
		f := loadPair(ctx, o, [2]string{in.url, bare}, c.action, func() map[string]string { return c.params })
		fmt.Fprintf(out, "%-32s %10.0f %9s %9s %6d   %10.0f %9s %9s   %.2f×\n", c.action,
			f[0].rate(), f[0].p50.Round(time.Microsecond), f[0].p99.Round(time.Microsecond), f[0].errs,
			f[1].rate(), f[1].p50.Round(time.Microsecond), f[1].p99.Round(time.Microsecond), f[0].rate()/f[1].rate())
	}
	return nil
}

// logsMode compares the status poll with the journal on and one info line
// per request against the same emulator logging at warn.
func logsMode(ctx context.Context, o options, out io.Writer) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	loud := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := open(ctx, o, quiet, nil)
	if err != nil {
		return err
	}
	defer a.close()
	b, err := open(ctx, o, loud, func(c *emulator.Config) { c.JournalSize = 1000 })
	if err != nil {
		return err
	}
	defer b.close()
	ca, err := prepare(ctx, a.url)
	if err != nil {
		return err
	}
	cb, err := prepare(ctx, b.url)
	if err != nil {
		return err
	}
	// Both emulators number their batches alike, so one ApplyId serves both.
	if ca[0].params["ApplyId"] != cb[0].params["ApplyId"] {
		return fmt.Errorf("the two emulators' batches differ: %s and %s", ca[0].params["ApplyId"], cb[0].params["ApplyId"])
	}
	f := loadPair(ctx, o, [2]string{b.url, a.url}, ca[0].action, func() map[string]string { return ca[0].params })
	fmt.Fprintf(out, "%-40s %10s %9s %9s %6s\n", "QueryBatchRegisterDeviceStatus", "req/s", "p50", "p99", "errors")
	fmt.Fprintf(out, "%-40s %10.0f %9s %9s %6d\n", "journal on, info logs (io.Discard)", f[0].rate(), f[0].p50.Round(time.Microsecond), f[0].p99.Round(time.Microsecond), f[0].errs)
	fmt.Fprintf(out, "%-40s %10.0f %9s %9s %6d\n", "warn logs", f[1].rate(), f[1].p50.Round(time.Microsecond), f[1].p99.Round(time.Microsecond), f[1].errs)
	fmt.Fprintf(out, "ratio %.2f×\n", f[0].rate()/f[1].rate())
	return nil
}

// open starts an emulator in memory, or on a temporary file with -db.
func open(ctx context.Context, o options, log *slog.Logger, edit func(*emulator.Config)) (*instance, error) {
	path, dir := "", ""
	if o.db {
		var err error
		if path, dir, err = tempDB(); err != nil {
			return nil, err
		}
	}
	in, err := startEmulator(ctx, path, log, edit)
	if err != nil {
		return nil, err
	}
	in.dir = dir
	return in, nil
}

func stateKind(o options) string {
	if o.db {
		return "in a --db file (WAL, read pool)"
	}
	return "in memory"
}
