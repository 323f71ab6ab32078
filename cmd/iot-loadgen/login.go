package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
)

// loginMode logs o.devices devices in at once with signed MQTT 3.1.1
// CONNECTs and keeps them connected, against the emulator's broker and
// then against a bare mochi broker accepting anyone, in the same run.
// Both ends of every connection live in this process, so -devices is
// bounded by half the descriptor limit.
func loginMode(ctx context.Context, o options, out io.Writer) error {
	f := fixtures.Default()
	p := &f.Accounts[0].Products[0]
	for i := range o.devices {
		p.Devices = append(p.Devices, fixtures.Device{DeviceName: fmt.Sprintf("load-%06d", i), DeviceSecret: fmt.Sprintf("loadSecret%022d", i)})
	}
	in, err := startEmulator(ctx, "", nil, func(c *emulator.Config) {
		c.Fixtures = f
		c.MQTTAddr = "127.0.0.1:0"
	})
	if err != nil {
		return err
	}
	creds := make([][3]string, o.devices)
	for i := range creds {
		id, user, pass := signature.DeviceCredentials(productKey, fmt.Sprintf("load-%06d", i), fmt.Sprintf("loadSecret%022d", i), "", signature.HmacSHA256)
		creds[i] = [3]string{id, user, pass}
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := rss()
	emu, err := loginAll(in.srv.MQTTAddr(), creds)
	if err != nil {
		in.close()
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	emuRSS := rss() - before
	closeAll(emu.conns)
	in.close()

	bare, stop, err := startBareMQTT()
	if err != nil {
		return err
	}
	defer stop()
	runtime.GC()
	debug.FreeOSMemory()
	before = rss()
	b, err := loginAll(bare, creds)
	if err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	bareRSS := rss() - before
	closeAll(b.conns)
	fmt.Fprintf(out, "# %d signed MQTT 3.1.1 logins at once (HMAC-SHA256), all kept connected; RSS is what the process grew by, both ends of the connections included\n", o.devices)
	fmt.Fprintf(out, "%-34s %10s %10s %10s %10s\n", "broker", "all in", "logins/s", "p99", "RSS MiB")
	fmt.Fprintf(out, "%-34s %10s %10.0f %10s %10.1f\n", "emulator (password check, ONLINE)", emu.all.Round(time.Millisecond), emu.rate(), emu.p99.Round(time.Microsecond), emuRSS)
	fmt.Fprintf(out, "%-34s %10s %10.0f %10s %10.1f\n", "bare mochi (allow all)", b.all.Round(time.Millisecond), b.rate(), b.p99.Round(time.Microsecond), bareRSS)
	fmt.Fprintf(out, "ratio %.2f×\n", emu.rate()/b.rate())
	return nil
}

type logins struct {
	conns []net.Conn
	all   time.Duration
	p99   time.Duration
}

func (l logins) rate() float64 { return float64(len(l.conns)) / l.all.Seconds() }

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
