// Package emutest starts an in-process IoT emulator for Go tests:
//
//	srv := emutest.New(t, emutest.WithProgression("manual"))
//	client := srv.NewIotClient() // the official Go SDK, pointed at srv
//
// The server listens on 127.0.0.1 on a free port, keeps its state in
// memory, and is shut down when the test ends. Batches settle immediately
// and throttling is off unless options say otherwise.
//
// The control plane is at hand without HTTP: Advance and Fail drive a
// batch out of CHECK or CREATE (with the "manual" progression it waits
// there), InjectFault makes calls fail or slow down, Requests reads the
// request journal, Reset and ResetAccount restore the fixtures. URL()
// also serves the admin API under /_emulator/ for anything else.
package emutest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/internal/control"
)

// Option changes the emulator's configuration before it starts; an option
// given a bad value returns an error, which New reports as the test's
// failure and Start returns.
type Option func(*emulator.Config) error

// WithProgression sets the batch timing policy: "immediate", "delay",
// "manual" or "polls:N". The default here is "immediate", so tests do not wait.
func WithProgression(p string) Option {
	return func(c *emulator.Config) error {
		pr, err := emulator.ParseProgression(p)
		if err != nil {
			return fmt.Errorf("WithProgression: %w", err)
		}
		c.Progression = pr
		return nil
	}
}

// WithFixtures seeds the emulator from a fixture file instead of the
// embedded default.
func WithFixtures(path string) Option {
	return func(c *emulator.Config) error {
		f, err := fixtures.Load(path)
		if err != nil {
			return fmt.Errorf("WithFixtures: %w", err)
		}
		c.Fixtures = f
		return nil
	}
}

// WithFixture seeds the emulator from an already built fixture.
func WithFixture(f *fixtures.Fixture) Option {
	return func(c *emulator.Config) error { c.Fixtures = f; return nil }
}

// WithConfig hands the whole configuration to fn for anything else
// (throttling, auth mode, delays).
func WithConfig(fn func(*emulator.Config)) Option {
	return func(c *emulator.Config) error { fn(c); return nil }
}

// Server is a running in-process emulator.
type Server struct {
	t    testing.TB // nil when started with Start
	url  string
	emu  *emulator.Server
	cfg  emulator.Config
	stop context.CancelFunc
	done chan error

	devicesMu sync.Mutex
	devices   []*Device
}

// New starts an emulator and registers its shutdown with t.Cleanup.
// Throttling is off and batches settle immediately unless options say
// otherwise. Helpers that fail call t.Fatalf.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	s.t = t
	t.Cleanup(s.Close)
	return s
}

// Start starts an emulator outside a test (TestMain, examples); the caller
// must Close it. Helpers that fail panic instead of failing a test.
func Start(opts ...Option) (*Server, error) {
	cfg := emulator.DefaultConfig()
	cfg.Progression = emulator.Progression{Mode: emulator.ProgressImmediate}
	cfg.Throttle = false
	cfg.MQTTAddr = "127.0.0.1:0"    // the broker on a free port too
	cfg.MQTTTLSAddr = "127.0.0.1:0" // and its TLS listener, with TLS on
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("emutest: %w", err)
		}
	}
	cfg.DB = "" // always in memory: each test gets its own state
	emu, err := emulator.Open(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("emutest: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		emu.Close()
		return nil, fmt.Errorf("emutest: listen: %w", err)
	}
	// The same lifecycle as the command: Open, Run on a listener, and on
	// Close a drained stop before the store closes.
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{url: "http://" + ln.Addr().String(), emu: emu, cfg: emu.Config(), stop: stop, done: make(chan error, 1)}
	go func() { s.done <- emu.Run(ctx, ln) }()
	return s, nil
}

// Close stops the emulator; New registers it with t.Cleanup. It is safe
// to call more than once.
func (s *Server) Close() {
	s.devicesMu.Lock()
	for _, d := range s.devices {
		d.client.Disconnect(0)
	}
	s.devices = nil
	s.devicesMu.Unlock()
	s.stop()
	if s.done != nil {
		<-s.done
		s.done = nil
	}
	s.emu.Close()
}

func (s *Server) fatalf(format string, args ...any) {
	if s.t != nil {
		s.t.Helper()
		s.t.Fatalf(format, args...)
	}
	panic(fmt.Sprintf(format, args...))
}

// URL is the base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// MQTTAddr is the broker's host:port, where devices log in.
func (s *Server) MQTTAddr() string { return s.emu.MQTTAddr() }

// Domain is host:port, what the Go SDK's Domain fields take.
func (s *Server) Domain() string { return strings.TrimPrefix(s.url, "http://") }

// Credentials returns the first fixture account's AccessKey pair.
func (s *Server) Credentials() (accessKeyID, accessKeySecret string) {
	a := s.cfg.Fixtures.Accounts[0]
	return a.AccessKeyID, a.AccessKeySecret
}

// ProductKey returns the first product of the first fixture account.
func (s *Server) ProductKey() string {
	for _, p := range s.cfg.Fixtures.Accounts[0].Products {
		return p.ProductKey
	}
	return ""
}

// NewIotClient returns an official Go SDK client pointed at the emulator
// with the first fixture account's credentials.
func (s *Server) NewIotClient() *iot.Client {
	ak, secret := s.Credentials()
	return s.NewIotClientFor(ak, secret)
}

// NewIotClientFor returns an official Go SDK client for another key pair.
func (s *Server) NewIotClientFor(accessKeyID, accessKeySecret string) *iot.Client {
	if s.t != nil {
		s.t.Helper()
	}
	c, err := iot.NewClientWithAccessKey("cn-shanghai", accessKeyID, accessKeySecret)
	if err != nil {
		s.fatalf("emutest: new client: %v", err)
	}
	c.Domain = s.Domain()
	return c
}

// Emulator exposes the server itself, for what the helpers here do not cover.
func (s *Server) Emulator() *emulator.Server { return s.emu }

// HTTPClient is a plain client for the admin API.
func (s *Server) HTTPClient() *http.Client { return &http.Client{Transport: transport} }

// transport is shared by every HTTPClient, so idle connections are reused.
var transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}

// FaultRule is a fault rule for InjectFault; see emulator.FaultRule.
type FaultRule = emulator.FaultRule

// JournalEntry is one request of the journal; see emulator.JournalEntry.
type JournalEntry = emulator.JournalEntry

// SetProgression changes the batch timing policy ("immediate", "delay",
// "manual", "polls:N"); batches already waiting are rescheduled.
func (s *Server) SetProgression(p string) {
	if s.t != nil {
		s.t.Helper()
	}
	pr, err := emulator.ParseProgression(p)
	if err != nil {
		s.fatalf("emutest: SetProgression: %s", control.Message(err))
		return
	}
	if err := s.emu.SetProgression(context.Background(), pr); err != nil {
		s.fatalf("emutest: SetProgression: %s", control.Message(err))
	}
}

// Advance moves a batch out of CHECK or CREATE now (CHECK_SUCCESS,
// CREATE_SUCCESS, or *_FAILED for names taken meanwhile) and returns its
// new status. Use it with WithProgression("manual").
func (s *Server) Advance(applyID int64) string {
	if s.t != nil {
		s.t.Helper()
	}
	b, err := s.emu.Advance(context.Background(), applyID)
	if err != nil {
		s.fatalf("emutest: Advance: %s", control.Message(err))
	}
	return b.Status
}

// Fail moves a batch in CHECK or CREATE to CHECK_FAILED or CREATE_FAILED
// and returns the new status. invalid maps each failing DeviceName to its
// ErrorMsg ("" for a default reason); the other names make the ValidList,
// and in CREATE only they are created. A nil or empty map fails every name.
func (s *Server) Fail(applyID int64, invalid map[string]string) string {
	if s.t != nil {
		s.t.Helper()
	}
	b, err := s.emu.Fail(context.Background(), applyID, invalid)
	if err != nil {
		s.fatalf("emutest: Fail: %s", control.Message(err))
	}
	return b.Status
}

// InjectFault adds a fault rule and returns its id (for Emulator().DeleteFault).
func (s *Server) InjectFault(rule FaultRule) string {
	if s.t != nil {
		s.t.Helper()
	}
	id, err := s.emu.AddFault(rule)
	if err != nil {
		s.fatalf("emutest: InjectFault: %s", control.Message(err))
	}
	return id
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() { s.emu.ClearFaults() }

// Requests returns the request journal, oldest first.
func (s *Server) Requests() []JournalEntry { return s.emu.Requests(emulator.JournalFilter{}) }

// ClearRequests empties the request journal.
func (s *Server) ClearRequests() { s.emu.ClearRequests() }

// Reset wipes all state and reloads the fixtures, clears fault rules and
// the journal, and restores the progression the server started with.
func (s *Server) Reset() {
	if s.t != nil {
		s.t.Helper()
	}
	if err := s.emu.Reset(context.Background(), ""); err != nil {
		s.fatalf("emutest: Reset: %s", control.Message(err))
	}
}

// ResetAccount wipes one account's state and reloads its fixture.
func (s *Server) ResetAccount(accessKeyID string) {
	if s.t != nil {
		s.t.Helper()
	}
	if err := s.emu.Reset(context.Background(), accessKeyID); err != nil {
		s.fatalf("emutest: ResetAccount: %s", control.Message(err))
	}
}
