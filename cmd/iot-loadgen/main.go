// Command iot-loadgen is the project's load tool: it starts the emulator
// in this process, drives it with signed RPC calls, and prints each figure
// next to a bare baseline it starts itself in the same run (a chi handler
// answering a constant 150-byte JSON body, or a plain SQLite insert loop),
// with the ratio. Figures are printed, never asserted.
//
//	go run ./cmd/iot-loadgen rpc      # signed RPC load per action, 32 keep-alive clients
//	go run ./cmd/iot-loadgen logs     # the same with journal and info logs, against warn
//	go run ./cmd/iot-loadgen batch    # batch-size sweep against the SQLite insert floor
//	go run ./cmd/iot-loadgen store    # store-size sweep up to 1M devices (-max)
//	go run ./cmd/iot-loadgen login    # N signed MQTT logins at once against a bare mochi broker
//	go run ./cmd/iot-loadgen publish  # property posts of N devices against a bare mochi broker; Pub → device latency
//	go run ./cmd/iot-loadgen startup  # start-to-ready and idle RSS
//
// batch and store also write SVG plots into -svg (docs/ by default).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iot-loadgen:", err)
		os.Exit(1)
	}
}

// options are the flags every mode shares.
type options struct {
	clients  int
	duration time.Duration
	db       bool
	max      int
	svg      string
	actions  string
	profile  string
	devices  int
	broker   string
	heap     string
	samples  int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("which mode? rpc, logs, batch, store, login, publish or startup (see the doc comment of cmd/iot-loadgen)")
	}
	mode := args[0]
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	var o options
	fs.IntVar(&o.clients, "clients", 32, "concurrent keep-alive clients")
	fs.DurationVar(&o.duration, "duration", 6*time.Second, "load per action, split into alternating 1 s slices")
	fs.BoolVar(&o.db, "db", false, "keep the emulator's state in a --db file (temporary) instead of memory")
	fs.IntVar(&o.max, "max", 1_000_000, "largest store size of the store sweep")
	fs.StringVar(&o.svg, "svg", "docs", "directory the SVG plots are written to (\"\": none)")
	fs.StringVar(&o.actions, "actions", "status,detail,page", "rpc: which actions (status, detail, page, devstatus, querydevice)")
	fs.IntVar(&o.devices, "devices", 10000, "login: devices logged in at once (the broker runs in a child process; each side needs one descriptor per device)")
	fs.StringVar(&o.broker, "broker", "emulator", "serve-login (internal, started by login): which broker the child serves, emulator or bare")
	fs.IntVar(&o.samples, "samples", 2000, "publish: sequential Pub → device samples")
	fs.StringVar(&o.heap, "heapprofile", "", "login: write the emulator child's heap profile, taken with every device online, to this file")
	fs.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the whole run (load tool and emulator) to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if mode == "serve-login" {
		return serveLogin(ctx, o.broker, o.devices, os.Stdin, out)
	}
	fmt.Fprintf(out, "# iot-loadgen %s on %s\n", mode, machine())
	switch mode {
	case "rpc":
		return rpcMode(ctx, o, out)
	case "logs":
		return logsMode(ctx, o, out)
	case "batch":
		return batchMode(ctx, o, out)
	case "store":
		return storeMode(ctx, o, out)
	case "startup":
		return startupMode(ctx, o, out)
	case "login":
		return loginMode(ctx, o, out)
	case "publish":
		if !devicesSet(fs) {
			o.devices = 1000
		}
		return publishMode(ctx, o, out)
	}
	return fmt.Errorf("unknown mode %q: rpc, logs, batch, store, login, publish or startup", mode)
}

// devicesSet says whether -devices was given (publish has its own default).
func devicesSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "devices" })
	return set
}
