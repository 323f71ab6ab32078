// Package emulator is the IoT RPC endpoint: it decodes an RPC call, puts it
// through the gateway checks (account, signature, freshness, nonce,
// throttle, faults), runs the action's handler against the store or the
// batch worker and renders one response value as JSON or XML. It also
// serves the admin API under /_emulator/.
package emulator

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/store"
)

// Auth modes.
const (
	// AuthStrict admits only fixture accounts with valid signatures.
	AuthStrict = "strict"
	// AuthLoose admits any AccessKeyId, unsigned, each as its own account.
	AuthLoose = "loose"
)

// Config is everything the server can be told at start.
type Config struct {
	// Fixtures seeds the store on start and on reset.
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
	// Admin enables /_emulator/.
	Admin bool
	// JournalSize is how many requests the journal keeps.
	JournalSize int
	// Region is reported in device details.
	Region string
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
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
	}
}

// Server is the emulator. Create it with New, start its worker with Start.
type Server struct {
	cfg     Config
	st      *store.Store
	log     *slog.Logger
	now     func() time.Time
	worker  *worker
	nonces  *nonceCache
	limits  *limiter
	faults  *faultSet
	journal *journal
	ready   atomic.Bool

	// sched is held for reading while a batch is timed and stored, and for
	// writing while the progression changes and waiting batches are
	// rescheduled, so no batch is stored under a policy already replaced.
	sched       sync.RWMutex
	mu          sync.Mutex // guards progression
	progression Progression
	looseSeed   sync.Map // AccessKeyId → *sync.Mutex, so a loose account is created once
}

// New builds a server over an opened store. Call Seed (or load state some
// other way) and Start before serving.
func New(cfg Config, st *store.Store) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Fixtures == nil {
		cfg.Fixtures = fixtures.Default()
	}
	if cfg.QPSScale == 0 {
		cfg.QPSScale = 1
	}
	if cfg.ThrottleStatus == 0 {
		cfg.ThrottleStatus = http.StatusBadRequest
	}
	if cfg.BusinessErrorStatus == 0 {
		cfg.BusinessErrorStatus = http.StatusOK
	}
	if cfg.TimestampWindow == 0 {
		cfg.TimestampWindow = 15 * time.Minute
	}
	if cfg.Region == "" {
		cfg.Region = "cn-shanghai"
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthStrict
	}
	s := &Server{cfg: cfg, st: st, log: cfg.Logger, now: cfg.Now, progression: cfg.Progression}
	s.worker = newWorker(s)
	s.nonces = newNonceCache(cfg.TimestampWindow)
	s.limits = newLimiter(cfg)
	s.faults = newFaultSet()
	s.journal = newJournal(cfg.JournalSize)
	return s
}

// Seed writes the fixtures into the store; the server reports ready
// afterwards.
func (s *Server) Seed(ctx context.Context) error {
	// A fixture built in code (emutest.WithFixture) has not been through
	// the loader's validation yet.
	if err := s.cfg.Fixtures.Validate(); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	if err := s.cfg.Fixtures.Apply(ctx, s.st); err != nil {
		return err
	}
	s.ready.Store(true)
	return nil
}

// Start runs the batch worker until ctx ends or Close is called; batches
// left in CHECK or CREATE by an earlier process are resumed.
func (s *Server) Start(ctx context.Context) { s.worker.start(ctx) }

// Close stops the batch worker, letting the batch it is settling commit.
func (s *Server) Close() { s.worker.stop() }

// Store returns the server's store.
func (s *Server) Store() *store.Store { return s.st }

// Handler returns the HTTP handler: the RPC endpoint at / and, unless
// switched off, the admin API under /_emulator/.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer)
	if s.cfg.Admin {
		r.Route("/_emulator", s.adminRoutes)
	} else {
		r.Route("/_emulator", func(r chi.Router) {
			r.Get("/health", s.health)
			r.Head("/health", s.health)
			r.NotFound(adminOff)
			r.MethodNotAllowed(adminOff)
		})
	}
	r.HandleFunc("/", s.serveRPC)
	r.NotFound(s.serveRPC)
	r.MethodNotAllowed(s.serveRPC)
	return r
}

// recoverer turns a panic into an InternalError answer instead of a
// dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				c := &Call{RequestID: newRequestID(), Format: "JSON", Host: r.Host}
				s.write(w, c, nil, ErrInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func newRequestID() string { return strings.ToUpper(uuid.NewString()) }

// serveRPC is the whole life of one RPC call.
func (s *Server) serveRPC(w http.ResponseWriter, r *http.Request) {
	c := &Call{ctx: r.Context(), RequestID: newRequestID(), Received: s.now(), Format: "XML"}
	body, e := s.handle(r, c)
	status := s.write(w, c, body, e)
	s.record(c, status, e)
}

func (s *Server) handle(r *http.Request, c *Call) (Object, *Error) {
	if e := decode(r, c); e != nil {
		return nil, e
	}
	if r.URL.Path != "/" {
		return nil, ErrActionNotFound
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, ErrUnsupportedMethod
	}
	a, e := s.admit(c)
	if e != nil {
		return nil, e
	}
	if e := s.faults.apply(r.Context(), c); e != nil {
		return nil, e
	}
	return a.Handle(s, c)
}

// write renders the answer in the call's format and returns the status.
func (s *Server) write(w http.ResponseWriter, c *Call, body Object, e *Error) int {
	status := http.StatusOK
	var out Object
	root := c.Action + "Response"
	switch {
	case e != nil && e.Gateway:
		status = e.Status
		if e.Code == ErrThrottlingUser.Code {
			if e.Status == ErrThrottlingUser.Status { // a fault rule's own httpStatus wins
				status = s.cfg.ThrottleStatus
			}
			t := c.throttled
			if t == nil { // injected by a fault rule: hint a one-second wait
				t = &throttle{limit: s.limits.limitFor(c.Action), wait: time.Second, full: time.Second}
			}
			w.Header().Set("x-ratelimit-user-api", t.header())
		}
		host := c.Host
		if host == "" {
			host = "iot.cn-shanghai.aliyuncs.com"
		}
		out = Object{
			{"RequestId", c.RequestID},
			{"HostId", host},
			{"Code", e.Code},
			{"Message", e.Message},
			{"Recommend", "https://api.aliyun.com/troubleshoot?q=" + e.Code + "&product=Iot&requestId=" + c.RequestID},
		}
		if e.Status == http.StatusForbidden {
			// RAM denials carry the detail SDK v1 and Tea read (errors.md §1).
			out = append(out, Field{"AccessDeniedDetail", Object{
				{"AuthAction", "iot:" + c.Action},
				{"AuthPrincipalType", "SubUser"},
				{"AuthPrincipalDisplayName", c.AccessKeyID},
				{"NoPermissionType", "ImplicitDeny"},
				{"PolicyType", "AccountLevelIdentityBasedPolicy"},
				{"EncodedDiagnosticMessage", ""},
			}})
		}
		root = "Error"
	case e != nil:
		status = s.cfg.BusinessErrorStatus
		if e.Status != http.StatusOK {
			status = e.Status
		}
		out = Object{{"RequestId", c.RequestID}, {"Success", false}, {"Code", e.Code}, {"ErrorMessage", e.Message}}
		if e.Data != nil {
			out = append(out, Field{"Data", e.Data})
		}
	default:
		out = append(Object{{"RequestId", c.RequestID}, {"Success", true}}, body...)
	}
	if c.Action == "" && root != "Error" {
		root = "Response"
	}
	var data []byte
	if c.Format == "JSON" {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		data = EncodeJSON(out)
	} else {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		data = EncodeXML(root, out)
	}
	w.Header().Set("x-acs-request-id", c.RequestID)
	w.WriteHeader(status)
	w.Write(data)
	return status
}

// MarkReady declares a store that already holds state (a file database
// from an earlier run) ready without seeding it again.
func (s *Server) MarkReady(ctx context.Context) error {
	if err := s.st.Ping(ctx); err != nil {
		return err
	}
	s.ready.Store(true)
	return nil
}
