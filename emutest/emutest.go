// Package emutest starts an in-process IoT emulator for Go tests:
//
//	srv := emutest.New(t)
//	client := srv.NewIotClient()
//
// The server listens on 127.0.0.1 on a free port, keeps its state in
// memory, and is shut down when the test ends.
package emutest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/store"
)

// Option changes the emulator's configuration before it starts.
type Option func(*emulator.Config)

// WithProgression sets the batch timing policy: "immediate", "delay",
// "manual" or "polls:N". The default here is "immediate", so tests do not wait.
func WithProgression(p string) Option {
	return func(c *emulator.Config) {
		pr, err := emulator.ParseProgression(p)
		if err != nil {
			panic("emutest.WithProgression: " + err.Error())
		}
		c.Progression = pr
	}
}

// WithFixtures seeds the emulator from a fixture file instead of the
// embedded default.
func WithFixtures(path string) Option {
	return func(c *emulator.Config) {
		f, err := fixtures.Load(path)
		if err != nil {
			panic("emutest.WithFixtures: " + err.Error())
		}
		c.Fixtures = f
	}
}

// WithFixture seeds the emulator from an already built fixture.
func WithFixture(f *fixtures.Fixture) Option {
	return func(c *emulator.Config) { c.Fixtures = f }
}

// WithConfig hands the whole configuration to fn for anything else
// (throttling, auth mode, delays).
func WithConfig(fn func(*emulator.Config)) Option { return Option(fn) }

// Server is a running in-process emulator.
type Server struct {
	t   testing.TB
	hs  *httptest.Server
	emu *emulator.Server
	cfg emulator.Config
}

// New starts an emulator and registers its shutdown with t.Cleanup.
// Throttling is off and batches settle immediately unless options say
// otherwise.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := emulator.DefaultConfig()
	cfg.Progression = emulator.Progression{Mode: emulator.ProgressImmediate}
	cfg.Throttle = false
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Memory, cfg.Now)
	if err != nil {
		t.Fatalf("emutest: open store: %v", err)
	}
	emu := emulator.New(cfg, st)
	if err := emu.Seed(ctx); err != nil {
		st.Close()
		t.Fatalf("emutest: seed: %v", err)
	}
	emu.Start(ctx)
	hs := httptest.NewUnstartedServer(emu.Handler())
	hs.Config.MaxHeaderBytes = emulator.MaxHeaderBytes
	hs.Start()
	s := &Server{t: t, hs: hs, emu: emu, cfg: cfg}
	t.Cleanup(func() {
		hs.Close()
		emu.Close()
		st.Close()
	})
	return s
}

// URL is the base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.hs.URL }

// Domain is host:port, what the Go SDK's Domain fields take.
func (s *Server) Domain() string { return strings.TrimPrefix(s.hs.URL, "http://") }

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
	s.t.Helper()
	ak, secret := s.Credentials()
	return s.NewIotClientFor(ak, secret)
}

// NewIotClientFor returns an official Go SDK client for another key pair.
func (s *Server) NewIotClientFor(accessKeyID, accessKeySecret string) *iot.Client {
	s.t.Helper()
	c, err := iot.NewClientWithAccessKey("cn-shanghai", accessKeyID, accessKeySecret)
	if err != nil {
		s.t.Fatalf("emutest: new client: %v", err)
	}
	c.Domain = s.Domain()
	return c
}

// Emulator exposes the server itself, for what the helpers here do not cover.
func (s *Server) Emulator() *emulator.Server { return s.emu }

// HTTPClient is a plain client for the admin API.
func (s *Server) HTTPClient() *http.Client { return s.hs.Client() }
