package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
)

// loginMode logs o.devices devices in at once with signed MQTT 3.1.1
// CONNECTs and keeps them connected, against the emulator's broker and
// then against a bare mochi broker accepting anyone, in the same run.
// Each broker runs in a child process of this tool (mode serve-login), so
// the two ends of the connections use two descriptor tables and the RSS
// figure is the broker's alone. While the emulator's logins run, one
// caller polls GetDeviceStatus, to show what the logins do to RPC latency.
func loginMode(ctx context.Context, o options, out io.Writer) error {
	creds := make([][3]string, o.devices)
	for i := range creds {
		id, user, pass := signature.DeviceCredentials(productKey, loadDevice(i), loadSecret(i), "", signature.HmacSHA256)
		creds[i] = [3]string{id, user, pass}
	}
	emu, err := measureLogins(ctx, o, "emulator", creds, true)
	if err != nil {
		return err
	}
	bare, err := measureLogins(ctx, o, "bare", creds, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "# %d signed MQTT 3.1.1 logins at once (HMAC-SHA256), all kept connected; each broker in its own process, RSS is that process's, and what it grew by\n", o.devices)
	fmt.Fprintf(out, "%-34s %10s %10s %10s %10s %10s\n", "broker", "all in", "logins/s", "p99", "RSS MiB", "grew MiB")
	for _, r := range []struct {
		name string
		l    logins
	}{{"emulator (password check, ONLINE)", emu}, {"bare mochi (allow all)", bare}} {
		fmt.Fprintf(out, "%-34s %10s %10.0f %10s %10.1f %10.1f\n", r.name, r.l.all.Round(time.Millisecond), r.l.rate(), r.l.p99.Round(time.Microsecond), r.l.total, r.l.rss)
	}
	fmt.Fprintf(out, "ratio %.2f×\n", emu.rate()/bare.rate())
	fmt.Fprintf(out, "GetDeviceStatus, one caller: p50 %s p99 %s before the logins (%d calls), p50 %s p99 %s during them (%d calls), p50 %s p99 %s with all %d online (%d calls)\n",
		emu.quiet.p50.Round(time.Microsecond), emu.quiet.p99.Round(time.Microsecond), emu.quiet.reqs,
		emu.busy.p50.Round(time.Microsecond), emu.busy.p99.Round(time.Microsecond), emu.busy.reqs,
		emu.online.p50.Round(time.Microsecond), emu.online.p99.Round(time.Microsecond), o.devices, emu.online.reqs)
	return nil
}

func loadDevice(i int) string { return fmt.Sprintf("load-%06d", i) }
func loadSecret(i int) string { return fmt.Sprintf("loadSecret%022d", i) }

type logins struct {
	conns []net.Conn
	all   time.Duration
	p99   time.Duration
	// rss is what the broker process grew by, total its whole size.
	rss, total float64
	// RPC latency before, during and after the logins (emulator only).
	quiet, busy, online figure
}

func (l logins) rate() float64 { return float64(len(l.conns)) / l.all.Seconds() }

// measureLogins starts one broker child, logs every device in and reads
// how much the child grew.
func measureLogins(ctx context.Context, o options, kind string, creds [][3]string, probe bool) (logins, error) {
	child, err := startChild(ctx, kind, len(creds))
	if err != nil {
		return logins{}, err
	}
	defer child.stop()
	before := procRSS(child.cmd.Process.Pid)
	var p *prober
	var quiet, busy figure
	if probe {
		p = startProber(ctx, child.rpc)
		time.Sleep(time.Second)
		quiet = p.cut()
	}
	all, err := loginAll(child.mqtt, creds)
	if p != nil {
		busy = p.cut()
	}
	if err != nil {
		if p != nil {
			p.stop()
		}
		return all, fmt.Errorf("%s: %w", kind, err)
	}
	defer closeAll(all.conns)
	if p != nil {
		time.Sleep(time.Second)
		all.quiet, all.busy, all.online = quiet, busy, p.cut()
		p.stop()
		if n := all.quiet.errs + all.busy.errs + all.online.errs; n > 0 {
			return all, fmt.Errorf("%s: %d GetDeviceStatus calls failed", kind, n)
		}
	}
	// Give the broker a moment to finish what each login started (status
	// writes, journal) before its size is read.
	time.Sleep(500 * time.Millisecond)
	all.total = procRSS(child.cmd.Process.Pid)
	all.rss = all.total - before
	if probe && o.heap != "" {
		if err := saveHeap(ctx, child.rpc, o.heap); err != nil {
			return all, err
		}
	}
	return all, nil
}

// child is one broker process started by startChild.
type child struct {
	cmd       *exec.Cmd
	stdin     io.Closer
	mqtt, rpc string
}

// startChild runs this program in mode serve-login and reads the
// addresses it prints.
func startChild(ctx context.Context, kind string, devices int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "serve-login", "-broker", kind, "-devices", strconv.Itoa(devices))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: in}
	line, err := bufio.NewReader(outp).ReadString('\n')
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("%s broker did not start: %w", kind, err)
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		c.stop()
		return nil, fmt.Errorf("%s broker: unexpected first line %q", kind, line)
	}
	c.mqtt, c.rpc = f[0], f[1]
	return c, nil
}

// stop closes the child's stdin, which ends it, and waits.
func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// serveLogin is the child side of loginMode: a broker (the emulator with
// o.devices fixture devices and no MQTT limits, or bare mochi) on free
// ports, whose "mqtt-addr rpc-url" it prints; it ends when stdin closes.
func serveLogin(ctx context.Context, kind string, devices int, stdin io.Reader, out io.Writer) error {
	var mqttAddr, rpcURL string
	switch kind {
	case "emulator":
		f := fixtures.Default()
		p := &f.Accounts[0].Products[0]
		for i := range devices {
			p.Devices = append(p.Devices, fixtures.Device{DeviceName: loadDevice(i), DeviceSecret: loadSecret(i)})
		}
		in, err := startBroker(ctx, f)
		if err != nil {
			return err
		}
		defer in.close()
		mqttAddr, rpcURL = in.srv.MQTTAddr(), in.url
	case "bare":
		addr, stop, err := startBareMQTT()
		if err != nil {
			return err
		}
		defer stop()
		mqttAddr, rpcURL = addr, "-"
	default:
		return fmt.Errorf("serve-login: unknown broker %q (emulator or bare)", kind)
	}
	fmt.Fprintln(out, mqttAddr, rpcURL)
	io.Copy(io.Discard, stdin)
	return nil
}

// prober polls GetDeviceStatus from one caller; cut returns the figure
// since the last cut.
type prober struct {
	mu   sync.Mutex
	lat  []time.Duration
	errs int
	last time.Time
	done chan struct{}
	wg   sync.WaitGroup
}

func startProber(ctx context.Context, base string) *prober {
	p := &prober{done: make(chan struct{}), last: time.Now()}
	hc := newClient(1)
	params := map[string]string{"ProductKey": productKey, "DeviceName": loadDevice(0)}
	p.wg.Go(func() {
		for {
			select {
			case <-p.done:
				return
			default:
			}
			t := time.Now()
			_, err := callRaw(ctx, hc, http.MethodGet, base, "GetDeviceStatus", params)
			d := time.Since(t)
			p.mu.Lock()
			if err != nil {
				p.errs++
			} else {
				p.lat = append(p.lat, d)
			}
			p.mu.Unlock()
			// A poll every 5 ms: a client watching, not a load of its own.
			time.Sleep(5 * time.Millisecond)
		}
	})
	return p
}

func (p *prober) cut() figure {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := figure{reqs: len(p.lat), errs: p.errs, seconds: time.Since(p.last).Seconds(), p50: percentile(p.lat, 0.5), p99: percentile(p.lat, 0.99)}
	p.lat, p.errs, p.last = nil, 0, time.Now()
	return f
}

func (p *prober) stop() { close(p.done); p.wg.Wait() }

// saveHeap writes the heap profile the emulator serves at
// /_emulator/debug/pprof/heap to path.
func saveHeap(ctx context.Context, base, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_emulator/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// procRSS is a process's resident set in MiB.
func procRSS(pid int) float64 { return statusRSS("/proc/" + strconv.Itoa(pid) + "/status") }

// loginAll connects every device at once (at most 256 dialling together,
// so the listen backlog is not what is measured) and waits for each CONNACK.
func loginAll(addr string, creds [][3]string) (logins, error) {
	out := logins{conns: make([]net.Conn, len(creds))}
	lat := make([]time.Duration, len(creds))
	errs := make([]error, len(creds))
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range creds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t := time.Now()
			conn, code, err := connect(addr, c[0], c[1], c[2])
			lat[i] = time.Since(t)
			if err == nil && code != 0 {
				err = fmt.Errorf("CONNACK %d", code)
			}
			out.conns[i], errs[i] = conn, err
		})
	}
	wg.Wait()
	out.all = time.Since(start)
	out.p99 = percentile(lat, 0.99)
	for i, err := range errs {
		if err != nil {
			closeAll(out.conns)
			return out, fmt.Errorf("login %d of %d: %w", i, len(creds), err)
		}
	}
	return out, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// connect is a minimal MQTT 3.1.1 client: one CONNECT, then the CONNACK's
// return code. It keeps no goroutine, so many connected devices measure
// the broker, not the client.
func connect(addr, id, user, pass string) (net.Conn, byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, 0, err
	}
	str := func(b []byte, s string) []byte { return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...) }
	vh := str(nil, "MQTT")
	vh = append(vh, 4, 0xC2)                    // level 4; username, password, clean session
	vh = binary.BigEndian.AppendUint16(vh, 300) // keep alive, s
	vh = str(str(str(vh, id), user), pass)
	if _, err := conn.Write(append(remaining([]byte{0x10}, len(vh)), vh...)); err != nil {
		conn.Close()
		return nil, 0, err
	}
	ack := make([]byte, 4)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(bufio.NewReader(conn), ack); err != nil {
		conn.Close()
		return nil, 0, err
	}
	conn.SetReadDeadline(time.Time{})
	if ack[0] != 0x20 {
		conn.Close()
		return nil, 0, errors.New("no CONNACK")
	}
	return conn, ack[3], nil
}

// startBareMQTT serves a mochi broker that accepts every login: the limit
// of the broker library the emulator embeds.
func startBareMQTT() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return "", nil, err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "bare", Address: addr})); err != nil {
		return "", nil, err
	}
	go srv.Serve()
	// Serve returns at once; wait until the port answers.
	for range 1000 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(time.Millisecond)
	}
	return addr, func() { srv.Close() }, nil
}
