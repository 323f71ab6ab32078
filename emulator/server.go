// Package emulator is the IoT emulator as a library: Config and its
// defaults, Open to build one over its store, Handler and Run to serve it,
// Close to stop it. The command (cmd/iot-emulator) and emutest share this
// one lifecycle. Underneath, a call travels socket → gateway (package
// pop) → action (package actions) → domain rules (package iot) and store;
// the control plane (package control) is reached through the Server's
// methods. See ARCHITECTURE.md.
package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/internal/actions"
	"github.com/iot-emulator/iot-emulator/internal/admin"
	"github.com/iot-emulator/iot-emulator/internal/batch"
	"github.com/iot-emulator/iot-emulator/internal/broker"
	"github.com/iot-emulator/iot-emulator/internal/control"
	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
	"github.com/iot-emulator/iot-emulator/internal/tlsca"
)

// Thing-model modes and sync service results.
const (
	ThingModelLoose    = "loose"
	ThingModelStrict   = "strict"
	ServiceResultData  = "data"
	ServiceResultReply = "reply"
	// PropertyErrorsReply answers a property post with the Alink code of
	// its first bad value; PropertyErrorsDrop answers 200 and drops the
	// bad values, as the Alink documentation describes.
	PropertyErrorsReply = "reply"
	PropertyErrorsDrop  = "drop"
)

// Auth modes.
const (
	// AuthStrict admits only fixture accounts with valid signatures.
	AuthStrict = "strict"
	// AuthLoose admits any AccessKeyId, unsigned, each as its own account.
	AuthLoose = "loose"
)

// Bounds on what one request may carry. A 10,000-name batch with
// nicknames is ~20,013 parameters and up to ~4 MB of URL (Tea sends
// everything in the query), so these leave room for that and refuse
// anything far beyond it.
const (
	MaxParams    = pop.MaxParams
	MaxBodyBytes = pop.MaxBodyBytes
	// MaxHeaderBytes bounds the request line plus headers.
	MaxHeaderBytes = pop.MaxHeaderBytes
)

// ShutdownTimeout bounds how long Run waits for in-flight requests when
// its context ends; Docker's default grace period before SIGKILL is 10s.
const ShutdownTimeout = 8 * time.Second

// Config is everything the emulator can be told at start. The command's
// flags are bound to DefaultConfig's fields, so there is one set of
// defaults.
type Config struct {
	// DB is the SQLite database file; "" keeps state in memory.
	DB string
	// Fixtures seeds the store on start (an in-memory or empty one) and on reset.
	Fixtures *fixtures.Fixture
	// CheckDelay and CreateDelay are how long CHECK and CREATE last under the "delay" progression.
	CheckDelay  time.Duration
	CreateDelay time.Duration
	// Progression is the batch timing policy.
	Progression Progression
	// Auth is AuthStrict or AuthLoose.
	Auth string
	// Throttle enables the per-account, per-action QPS limits.
	Throttle bool
	// QPS overrides the documented limit of individual actions.
	QPS map[string]float64
	// QPSScale multiplies every limit.
	QPSScale float64
	// ThrottleStatus is the HTTP status of Throttling.User (400, or 429).
	ThrottleStatus int
	// BusinessErrorStatus is the HTTP status of Success=false answers (200).
	BusinessErrorStatus int
	// SuccessLists fills ValidList with every name in *_SUCCESS states
	// (the metadata demo) instead of leaving it empty (the documentation).
	SuccessLists bool
	// DeviceQuota caps the devices of one product; 0 is the documented
	// quota of the region (3,000,000 in cn-shanghai, else 1,000,000).
	DeviceQuota int
	// DeleteProductCascade lets DeleteProduct delete a product that still
	// has devices, with them, instead of refusing it.
	DeleteProductCascade bool
	// TimestampWindow is how far Timestamp/x-acs-date may be from now.
	TimestampWindow time.Duration
	// Admin enables /_emulator/ (the health check answers either way).
	Admin bool
	// JournalSize is how many requests the journal keeps.
	JournalSize int
	// Region is reported in device details.
	Region string
	// MQTTAddr is where devices log in over MQTT (TCP); "" or "off"
	// switches the broker off.
	MQTTAddr string
	// MQTTWSAddr, when set, also serves MQTT over WebSocket at /mqtt.
	MQTTWSAddr string
	// MQTTKeepaliveCheck refuses a Keep Alive outside 30–1200 s, as the
	// real broker does.
	MQTTKeepaliveCheck bool
	// MQTTLimits bound MQTT clients (limits.go); zero fields are defaults.
	MQTTLimits MQTTLimits
	// MaxLooseAccounts caps the accounts loose mode creates (0:
	// DefaultMaxLooseAccounts); a new AccessKeyId beyond it is refused.
	MaxLooseAccounts int
	// AdminToken, when set, makes /_emulator/* (all but health) require
	// "Authorization: Bearer <token>" (or the dashboard's cookie).
	AdminToken string
	// TLS serves HTTPS on TLSAddr and MQTT over TLS on MQTTTLSAddr beside
	// the plain listeners, and TLS on the plain RPC port too.
	TLS         bool
	TLSAddr     string
	MQTTTLSAddr string
	// TLSCert and TLSKey name a certificate to serve; without them a local
	// CA kept in TLSDir ("" is the user's cache directory) signs one for
	// localhost, the loopback addresses, the real Alibaba names and TLSHosts.
	TLSCert, TLSKey string
	TLSDir          string
	TLSHosts        []string
	// ThingModel is ThingModelLoose (a product without a thing model
	// accepts any property, its type inferred) or ThingModelStrict
	// (undeclared identifiers are refused everywhere).
	ThingModel string
	// PropertyHistory bounds each device's property, event and service
	// history, oldest dropped first.
	PropertyHistory int
	// MessageLogSize bounds the message log.
	MessageLogSize int
	// ServiceResult is what a sync InvokeThingService answers as
	// Data.Result: ServiceResultData (the reply's data, the default) or
	// ServiceResultReply (the whole Alink reply).
	ServiceResult string
	// PropertyErrors is how a property post with values that break the
	// thing model is answered: PropertyErrorsReply (the default) or
	// PropertyErrorsDrop.
	PropertyErrors string
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
	// Version is shown on the index page ("" is "devel").
	Version string
	// Seed, when not 0, makes generated ids and secrets (ProductKeys,
	// DeviceNames, DeviceSecrets, IotIds) the same in every run. It is
	// process-wide.
	Seed uint64
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Fixtures:            fixtures.Default(),
		CheckDelay:          500 * time.Millisecond,
		CreateDelay:         time.Second,
		Progression:         Progression{Mode: ProgressDelay},
		Auth:                AuthStrict,
		Throttle:            true,
		QPSScale:            1,
		ThrottleStatus:      http.StatusBadRequest,
		BusinessErrorStatus: http.StatusOK,
		TimestampWindow:     15 * time.Minute,
		Admin:               true,
		JournalSize:         1000,
		Region:              "cn-shanghai",
		MQTTAddr:            "127.0.0.1:1883",
		MQTTKeepaliveCheck:  true,
		TLSAddr:             "127.0.0.1:8443",
		MQTTTLSAddr:         "127.0.0.1:8883",
		ThingModel:          ThingModelLoose,
		PropertyHistory:     things.DefaultPropertyHistory,
		MessageLogSize:      things.DefaultMessageLog,
		ServiceResult:       ServiceResultData,
		PropertyErrors:      PropertyErrorsReply,
	}
}

// mqttOn reports whether an MQTT address means a listener.
func mqttOn(addr string) bool { return addr != "" && !strings.EqualFold(addr, "off") }

// Validate names the first setting that is wrong, by its flag.
func (c Config) Validate() error {
	served := map[string]bool{}
	for _, n := range actions.Names() {
		served[n] = true
	}
	for name, q := range c.QPS {
		if !served[name] {
			return fmt.Errorf("--qps: unknown action %q", name)
		}
		if q < 0 {
			return fmt.Errorf("--qps %s: must not be negative", name)
		}
	}
	switch {
	case c.Auth != AuthStrict && c.Auth != AuthLoose:
		return fmt.Errorf("--auth: want strict or loose, got %q", c.Auth)
	case c.CheckDelay < 0 || c.CreateDelay < 0:
		return errors.New("--check-delay and --create-delay must not be negative")
	case c.QPSScale <= 0:
		return errors.New("--qps-scale must be positive")
	case c.ThrottleStatus != 400 && c.ThrottleStatus != 429:
		return errors.New("--throttle-status: want 400 or 429")
	case c.BusinessErrorStatus < 200 || c.BusinessErrorStatus > 599:
		return errors.New("--business-error-status: want an HTTP status")
	case c.JournalSize < 0:
		return errors.New("--journal-size must not be negative")
	case c.TimestampWindow <= 0:
		return errors.New("--timestamp-window must be positive")
	case c.DeviceQuota < 0:
		return errors.New("--device-quota must not be negative")
	case c.ThingModel != ThingModelLoose && c.ThingModel != ThingModelStrict:
		return fmt.Errorf("--thing-model: want loose or strict, got %q", c.ThingModel)
	case c.PropertyHistory < 1:
		return errors.New("--property-history must be at least 1")
	case c.MessageLogSize < 1:
		return errors.New("--message-log-size must be at least 1")
	case c.ServiceResult != ServiceResultData && c.ServiceResult != ServiceResultReply:
		return fmt.Errorf("--service-result: want data or reply, got %q", c.ServiceResult)
	case c.PropertyErrors != PropertyErrorsReply && c.PropertyErrors != PropertyErrorsDrop:
		return fmt.Errorf("--property-errors: want reply or drop, got %q", c.PropertyErrors)
	case strings.ContainsAny(c.DB, "?#"):
		// The driver reads them as the start of DSN parameters.
		return fmt.Errorf("--db %s: database path %q: '?' and '#' are not supported in file names", c.DB, c.DB)
	}
	if err := c.Progression.Validate(); err != nil {
		return fmt.Errorf("--batch-progression: %w", err)
	}
	if c.Fixtures != nil {
		if err := c.Fixtures.Validate(); err != nil {
			return fmt.Errorf("fixtures: %w", err)
		}
	}
	return nil
}

// Server is a running emulator: the RPC endpoint, the batch worker and
// the control plane, whose methods (Reset, State, Advance, Fail, the
// fault rules, the journal, Subscribe) it carries.
type Server struct {
	*control.Plane
	cfg     Config
	st      *store.Store
	worker  *batch.Worker
	gateway *pop.Gateway
	broker  *broker.Broker
	things  *things.Service
	tls     tlsca.Material
	handler http.Handler
	ready   atomic.Bool
	closing sync.Once
}

// Open builds an emulator from cfg: it opens and migrates the store,
// seeds the fixtures into a new or empty store (a file database from an
// earlier run keeps its state) and starts the batch worker, which resumes
// batches left in CHECK or CREATE. Close it when done.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Fixtures == nil {
		cfg.Fixtures = fixtures.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// A Config built by hand (emutest.WithConfig) may leave these zero;
	// zero means the documented default, as it always has.
	def := DefaultConfig()
	defaultIfZero(&cfg.Auth, def.Auth)
	defaultIfZero(&cfg.ThrottleStatus, def.ThrottleStatus)
	defaultIfZero(&cfg.BusinessErrorStatus, def.BusinessErrorStatus)
	defaultIfZero(&cfg.TimestampWindow, def.TimestampWindow)
	defaultIfZero(&cfg.QPSScale, def.QPSScale)
	defaultIfZero(&cfg.Region, def.Region)
	defaultIfZero(&cfg.ThingModel, def.ThingModel)
	defaultIfZero(&cfg.PropertyHistory, def.PropertyHistory)
	defaultIfZero(&cfg.MessageLogSize, def.MessageLogSize)
	defaultIfZero(&cfg.ServiceResult, def.ServiceResult)
	defaultIfZero(&cfg.PropertyErrors, def.PropertyErrors)
	if cfg.Progression.Mode == "" {
		cfg.Progression = def.Progression
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Seed != 0 {
		iot.SeedRandom(cfg.Seed)
	}
	st, err := store.Open(ctx, cfg.DB, cfg.Now)
	if err != nil {
		if cfg.DB == "" {
			return nil, fmt.Errorf("open in-memory store: %w", err)
		}
		return nil, fmt.Errorf("--db %s: %w", cfg.DB, err)
	}
	s := &Server{cfg: cfg, st: st}
	bus := &events.Bus{}
	s.worker = batch.New(batch.Config{Progression: cfg.Progression, CheckDelay: cfg.CheckDelay, CreateDelay: cfg.CreateDelay,
		Quota: iot.DeviceQuota(cfg.Region, cfg.DeviceQuota), Logger: cfg.Logger, Now: cfg.Now, Bus: bus}, st)
	s.Plane = control.New(control.Config{Fixtures: cfg.Fixtures, Progression: cfg.Progression, Loose: cfg.Auth == AuthLoose, MaxLooseAccounts: cfg.MaxLooseAccounts, JournalSize: cfg.JournalSize,
		ServedActions: actions.Names(), DefaultFaultCode: actions.ErrSystem.Code, Logger: cfg.Logger, Now: cfg.Now}, st, s.worker, bus)
	s.things = things.New(things.Config{Strict: cfg.ThingModel == ThingModelStrict, PropertyHistory: cfg.PropertyHistory,
		MessageLog: cfg.MessageLogSize, DropBadValues: cfg.PropertyErrors == PropertyErrorsDrop, Bus: bus, Logger: cfg.Logger, Now: cfg.Now}, st)
	s.AttachThings(s.things)
	// No connection outlives a process: after a restart on a kept DB no
	// device is online until it logs in again.
	if _, err := st.OfflineAll(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("read store: %w", err)
	}
	if cfg.TLS {
		if s.tls, err = tlsMaterial(cfg); err != nil {
			st.Close()
			return nil, err
		}
	}
	deps := actions.Deps{Store: st, Worker: s.worker, Region: cfg.Region, DeviceQuota: cfg.DeviceQuota,
		SuccessLists: cfg.SuccessLists, DeleteProductCascade: cfg.DeleteProductCascade,
		Things: s.things, WholeServiceReply: cfg.ServiceResult == ServiceResultReply}
	if !mqttOn(cfg.MQTTWSAddr) {
		cfg.MQTTWSAddr = ""
	}
	if mqttOn(cfg.MQTTAddr) || cfg.MQTTWSAddr != "" {
		tcp := cfg.MQTTAddr
		if !mqttOn(tcp) {
			tcp = ""
		}
		bc := broker.Config{TCPAddr: tcp, WSAddr: cfg.MQTTWSAddr, KeepaliveCheck: cfg.MQTTKeepaliveCheck, Limits: cfg.MQTTLimits,
			Journal: s.Journal, Logger: cfg.Logger, Now: cfg.Now,
			Uplink: func(d iot.Device, topic string, payload []byte, qos byte) {
				s.things.Uplink(d, topic, payload, qos, false)
			}}
		if cfg.TLS && mqttOn(cfg.MQTTTLSAddr) {
			bc.TLSAddr, bc.TLSConfig = cfg.MQTTTLSAddr, s.tls.Config
		}
		s.broker, err = broker.New(bc, st)
		if err != nil {
			st.Close()
			return nil, err
		}
		deps.Connections = s.broker
		s.AttachDevices(s.broker)
		s.things.Attach(s.broker)
	}
	table := actions.Table(deps)
	s.gateway = pop.New(pop.Config{
		Product: actions.Product, Version: actions.Version, DefaultHost: "iot.cn-shanghai.aliyuncs.com",
		Actions: table, Credentials: s.Credential, Unserved: actions.Unserved, VerifySignatures: cfg.Auth == AuthStrict,
		Throttle: cfg.Throttle, QPS: cfg.QPS, QPSScale: cfg.QPSScale, ThrottleStatus: cfg.ThrottleStatus,
		BusinessErrorStatus: cfg.BusinessErrorStatus, TimestampWindow: cfg.TimestampWindow,
		Intercept: s.Intercept, Observe: s.Record, Logger: cfg.Logger, Now: cfg.Now,
	})
	s.AttachGateway(s.gateway)
	s.handler = s.routes()

	held, err := st.HasAccounts(ctx)
	if err != nil {
		s.closeBroker()
		st.Close()
		return nil, fmt.Errorf("read store: %w", err)
	}
	if !held {
		err = s.Seed(ctx)
	} else {
		// A kept database gets the fixture too, idempotently: what is
		// missing is added, what exists is left as it is.
		_, err = s.MergeFixture(ctx, cfg.Fixtures)
	}
	if err != nil {
		s.closeBroker()
		st.Close()
		return nil, err
	}
	s.worker.Start(context.WithoutCancel(ctx))
	s.ready.Store(true)
	return s, nil
}

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

// routes is the HTTP surface: the RPC endpoint at / and, unless switched
// off, the admin API under /_emulator/.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	index := admin.Index(s.indexInfo)
	r.Route("/_emulator", func(r chi.Router) {
		r.Use(admin.Token(s.cfg.AdminToken))
		defer r.Get("/", index)
		if s.cfg.Admin {
			var served []admin.Action
			for _, a := range Actions() {
				served = append(served, admin.Action{Name: a.Name, Required: append([]string{}, a.Required...), QPS: a.QPS, DeepQPS: a.DeepQPS})
			}
			admin.Routes(r, s.Plane, s.health, s.tls.CAPEM, served, s.cfg.Logger)
		} else {
			admin.Off(r, s.health, s.tls.CAPEM, s.cfg.Logger)
		}
	})
	// A browser's tab icon is no RPC call.
	r.Get("/favicon.ico", http.NotFound)
	r.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The index page shows credentials: behind the admin token too.
		if admin.WantsHTML(r) && admin.Authorized(r, s.cfg.AdminToken) {
			index(w, r)
			return
		}
		s.gateway.ServeHTTP(w, r)
	}))
	r.NotFound(s.gateway.ServeHTTP)
	r.MethodNotAllowed(s.gateway.ServeHTTP)
	return r
}

// indexInfo is what the index page shows for a request.
func (s *Server) indexInfo(r *http.Request) admin.IndexInfo {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	info := admin.IndexInfo{Version: s.cfg.Version, RPC: scheme + "://" + r.Host, Auth: s.cfg.Auth, Progression: s.Progression().String(),
		Throttle: map[bool]string{true: "on", false: "off"}[s.cfg.Throttle], Admin: s.cfg.Admin}
	if info.Version == "" {
		info.Version = "devel"
	}
	if a := s.MQTTAddr(); a != "" {
		info.MQTT = "tcp://" + a
	}
	held, err := s.Held(r.Context())
	if err != nil {
		s.cfg.Logger.Error("index page: read store", "err", err)
	}
	info.Credentials = held.Credentials
	return info
}

// health is "ok" once the store is migrated and fixtures are loaded, and
// while the store answers; it names the MQTT endpoint when the broker is on.
func (s *Server) health(ctx context.Context) admin.HealthReport {
	r := admin.HealthReport{Status: "ok"}
	if a := s.MQTTAddr(); a != "" {
		r.MQTT = "tcp://" + a
	}
	if !s.ready.Load() {
		r.Status = "starting"
	} else if err := s.st.Ping(ctx); err != nil {
		r.Status, r.Err = "unavailable", err
	}
	return r
}

// MQTTAddr is the host:port devices log in at over TCP ("" when off).
func (s *Server) MQTTAddr() string {
	if s.broker == nil {
		return ""
	}
	return s.broker.TCPAddr()
}

// MQTTTLSAddr is the host:port of MQTT over TLS ("" when off).
func (s *Server) MQTTTLSAddr() string {
	if s.broker == nil {
		return ""
	}
	return s.broker.TLSAddr()
}

// TLSConfig is what the HTTPS listeners serve; nil with TLS off.
func (s *Server) TLSConfig() *tls.Config { return s.tls.Config }

// CACert is the local CA's certificate (PEM) and where it is kept; empty
// with TLS off or a certificate of the user's own.
func (s *Server) CACert() (pem []byte, path string) { return s.tls.CAPEM, s.tls.CAPath }

// tlsMaterial loads the user's certificate or makes one signed by the
// local CA.
func tlsMaterial(cfg Config) (tlsca.Material, error) {
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return tlsca.Material{}, errors.New("--tls-cert and --tls-key go together")
		}
		return tlsca.FromFiles(cfg.TLSCert, cfg.TLSKey)
	}
	dir := cfg.TLSDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "iot-emulator", "tls")
	}
	// The wall clock, not cfg.Now: a test's frozen clock must not mint
	// certificates that clients reject.
	return tlsca.Generate(dir, cfg.TLSHosts, time.Now())
}

// MQTTWSAddr is the host:port of MQTT over WebSocket, path /mqtt ("" when off).
func (s *Server) MQTTWSAddr() string {
	if s.broker == nil {
		return ""
	}
	return s.broker.WSAddr()
}

func (s *Server) closeBroker() {
	if s.broker != nil {
		s.broker.Close()
	}
}

// Handler returns the HTTP handler: the RPC endpoint at / and the admin
// API under /_emulator/.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves the handler on every listener until ctx ends or one fails,
// then drains in-flight requests for up to ShutdownTimeout. Batches still
// in CHECK or CREATE stay in the store with their due time and settle
// after a restart on the same DB. It closes the listeners.
func (s *Server) Run(ctx context.Context, listeners ...net.Listener) error {
	if len(listeners) == 0 {
		return errors.New("emulator: Run needs a listener")
	}
	servers := make([]*http.Server, len(listeners))
	errc := make(chan error, len(listeners))
	for i, ln := range listeners {
		hs := &http.Server{Handler: s.handler, MaxHeaderBytes: MaxHeaderBytes, ReadHeaderTimeout: ReadHeaderTimeout,
			ReadTimeout: ReadTimeout, IdleTimeout: IdleTimeout}
		servers[i] = hs
		// With TLS on a plain port serves TLS clients too; with it off, a TLS
		// client is told, once, in the log why it fails.
		ln = tlsca.Sniff(ln, s.tls.Config, s.cfg.Logger)
		go func() { errc <- hs.Serve(ln) }()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	s.cfg.Logger.Info("shutting down: draining in-flight requests", "timeout", ShutdownTimeout)
	// A fault rule's sleep is no work to wait for: it ends now, so a stop
	// (docker stop) is not held up by a ten-minute latency rule.
	s.StopFaultSleeps()
	// Event streams never end by themselves; they end now, or the drain
	// would wait out its timeout on any open dashboard.
	s.StopStreams()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	var drainErr error
	for _, hs := range servers {
		if err := hs.Shutdown(shutdownCtx); err != nil {
			// Cut the stragglers' connections. A query they already started
			// still finishes before the store closes (sql.DB.Close waits for
			// it); anything later fails and is answered to no one.
			hs.Close()
			drainErr = fmt.Errorf("shutdown: requests still running after %s: %w", ShutdownTimeout, err)
		}
	}
	if failed != nil && !errors.Is(failed, http.ErrServerClosed) {
		return failed
	}
	if drainErr != nil {
		return drainErr
	}
	s.cfg.Logger.Info("stopped")
	return nil
}

// Close stops the batch worker, letting the batch it is settling commit,
// then closes the store. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closing.Do(func() {
		s.closeBroker()
		s.worker.Stop()
		err = s.st.Close()
	})
	return err
}

// Actions returns the action table sorted by name, for docs and --help.
func Actions() []Action {
	table := actions.Table(actions.Deps{})
	out := make([]Action, 0, len(table))
	for _, a := range table {
		out = append(out, Action{Name: a.Name, Required: append([]string(nil), a.Required...), QPS: a.QPS, DeepQPS: a.DeepQPS})
	}
	sortActions(out)
	return out
}

// Limits lists the per-account QPS limit of every action under cfg: the
// documented default, or the --qps override, times --qps-scale. It is what
// the throttle enforces, for --help and the README.
func Limits(cfg Config) []Limit {
	return pop.Limits(actions.Table(actions.Deps{}), cfg.QPS, cfg.QPSScale)
}

// defaultIfZero sets *v to def when it holds its type's zero value: a
// Config field left unset means the documented default.
func defaultIfZero[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
