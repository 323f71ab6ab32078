package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// storeMode grows one product in a --db file to 1,000, 10,000, … -max
// devices (through BatchRegisterDevice, 10,000 at a time) and at each size
// times the reads that must stay flat, one client, sequentially. At the
// largest size it restarts on the file for start-up time and RSS.
func storeMode(ctx context.Context, o options, out io.Writer) error {
	path, dir, err := tempDB()
	if err != nil {
		return err
	}
	in, err := startEmulator(ctx, path, nil, nil)
	if err != nil {
		return err
	}
	hc := newClient(1)
	firstID, err := registerBatch(ctx, hc, in.url, 1000)
	if err != nil {
		in.close()
		return err
	}
	names, err := readPages(ctx, hc, in.url, firstID)
	if err != nil {
		in.close()
		return err
	}
	dev := names[len(names)/2]
	size := 1000
	labels := []string{"QueryDevice page 1", "QueryDevice deep page", "QueryDeviceDetail", "GetDeviceStatus", "QueryPageByApplyId"}
	fmt.Fprintf(out, "# p50 / p99 of 200 sequential signed calls, one product, state in a --db file\n")
	fmt.Fprintf(out, "%10s", "devices")
	for _, l := range labels {
		fmt.Fprintf(out, " %24s", l)
	}
	fmt.Fprintf(out, " %8s %9s\n", "RSS MiB", "seed s")
	var points []point
	var base []time.Duration
	for target := 1000; target <= o.max; target *= 10 {
		seedStart := time.Now()
		for size < target {
			n := min(10_000, target-size)
			if _, err := registerBatch(ctx, hc, in.url, n); err != nil {
				in.close()
				return err
			}
			size += n
		}
		seed := time.Since(seedStart)
		calls := [][2]any{
			{"QueryDevice", map[string]string{"ProductKey": productKey, "PageSize": "50", "CurrentPage": "1"}},
			// The deepest page CurrentPage may reach (PageSize × CurrentPage
			// ≤ 10,000; beyond it the API wants NextToken).
			{"QueryDevice", map[string]string{"ProductKey": productKey, "PageSize": "50", "CurrentPage": strconv.Itoa(min(size, 10_000) / 50)}},
			{"QueryDeviceDetail", map[string]string{"ProductKey": productKey, "DeviceName": dev}},
			{"GetDeviceStatus", map[string]string{"ProductKey": productKey, "DeviceName": dev}},
			{"QueryPageByApplyId", map[string]string{"ApplyId": firstID, "PageSize": "50", "CurrentPage": "10"}},
		}
		p := point{x: float64(size)}
		fmt.Fprintf(out, "%10d", size)
		for i, c := range calls {
			var lat []time.Duration
			for range 200 {
				start := time.Now()
				if body, err := callRaw(ctx, hc, http.MethodGet, in.url, c[0].(string), c[1].(map[string]string)); err != nil || !bytes.Contains(body, []byte(`"Success":true`)) {
					if err == nil {
						err = fmt.Errorf("%s: %.300s", c[0], body)
					}
					in.close()
					return err
				}
				lat = append(lat, time.Since(start))
			}
			p50 := percentile(lat, 0.5)
			if target == 1000 {
				base = append(base, p50)
			}
			fmt.Fprintf(out, " %11s/%-8s %3.1f×", p50.Round(time.Microsecond), percentile(lat, 0.99).Round(time.Microsecond), float64(p50)/float64(base[i]))
			p.y = append(p.y, p50.Seconds()*1000)
		}
		runtime.GC()
		debug.FreeOSMemory()
		fmt.Fprintf(out, " %8.1f %9.1f\n", rss(), seed.Seconds())
		points = append(points, p)
	}
	in.close()
	runtime.GC()
	debug.FreeOSMemory()
	before := rss()
	start := time.Now()
	again, err := startEmulator(ctx, path, nil, nil)
	if err != nil {
		return err
	}
	if err := ready(ctx, again.url); err != nil {
		again.close()
		return err
	}
	up := time.Since(start)
	// A few reads so the RSS counts a serving emulator, not a cold one.
	for range 50 {
		callRaw(ctx, hc, http.MethodGet, again.url, "QueryDeviceDetail", map[string]string{"ProductKey": productKey, "DeviceName": dev})
	}
	runtime.GC()
	debug.FreeOSMemory()
	fmt.Fprintf(out, "restart on the %d-device file: ready in %s; RSS %.1f MiB (%.1f MiB before it opened; the load tool shares the process)\n",
		size, up.Round(100*time.Microsecond), rss(), before)
	again.dir = dir
	again.close()
	return plot(o.svg, "store.svg", "Read latency (p50) against store size, one product, --db file", "devices in the store", "milliseconds", labels, points)
}

// ready waits for the health check to answer.
func ready(ctx context.Context, base string) error {
	hc := newClient(1)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_emulator/health", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// startupMode times Open → serving → the first health answer, in memory
// with the default fixture, and the idle RSS after it.
func startupMode(ctx context.Context, o options, out io.Writer) error {
	var ds []time.Duration
	for range 5 {
		start := time.Now()
		in, err := open(ctx, o, nil, nil)
		if err != nil {
			return err
		}
		if err := ready(ctx, in.url); err != nil {
			in.close()
			return err
		}
		ds = append(ds, time.Since(start))
		in.close()
	}
	in, err := open(ctx, o, nil, nil)
	if err != nil {
		return err
	}
	defer in.close()
	if err := ready(ctx, in.url); err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	fmt.Fprintf(out, "start-to-ready (median of 5, state %s): %s; idle RSS %.1f MiB (the load tool shares the process)\n",
		stateKind(o), percentile(ds, 0.5).Round(100*time.Microsecond), rss())
	return nil
}
