// Package admin is the admin HTTP API under /_emulator/: plain JSON
// routes over the control plane (package control), so that curl, a test
// in any language and the dashboard drive the emulator the way emutest
// does in Go. Errors are {"error": "..."} with a 4xx status.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/internal/batch"
	"github.com/iot-emulator/iot-emulator/internal/control"
	"github.com/iot-emulator/iot-emulator/internal/faults"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/journal"
)

// maxBody bounds an admin request body.
const maxBody = 1 << 20

// HealthReport is what the health check answers.
type HealthReport struct {
	// Status is "ok", "starting" or "unavailable" (with Err).
	Status string
	Err    error
	// MQTT is the broker's endpoint ("tcp://host:port"), "" when off.
	MQTT string
}

// Health reports whether the emulator is ready.
type Health func(ctx context.Context) HealthReport

// api serves the routes.
type api struct {
	p      *control.Plane
	health Health
	log    *slog.Logger
}

// Action is one served RPC action as GET /_emulator/actions lists it.
type Action struct {
	Name     string   `json:"name"`
	Required []string `json:"required"`
	QPS      float64  `json:"qps"`
	DeepQPS  float64  `json:"deepQps,omitempty"`
}

// Routes mounts the admin API on r (the /_emulator subtree).
func Routes(r chi.Router, p *control.Plane, health Health, caPEM []byte, actions []Action, log *slog.Logger) {
	a := &api{p: p, health: health, log: log}
	r.Use(a.recoverer)
	r.Get("/actions", func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusOK, map[string]any{"actions": actions})
	})
	r.Get("/health", a.healthz)
	r.Head("/health", a.healthz) // container and load-balancer probes often send HEAD
	r.Post("/reset", a.reset)
	r.Get("/state", a.state)
	r.Get("/config/progression", a.getProgression)
	r.Put("/config/progression", a.putProgression)
	r.Post("/batches/{applyId}/advance", a.advance)
	r.Post("/batches/{applyId}/fail", a.fail)
	r.Get("/faults", a.listFaults)
	r.Post("/faults", a.addFault)
	r.Delete("/faults", a.clearFaults)
	r.Get("/faults/{id}", a.getFault)
	r.Delete("/faults/{id}", a.deleteFault)
	r.Get("/requests", a.requests)
	r.Post("/devices/{productKey}/{deviceName}/kick", a.kick)
	a.thingRoutes(r)
	a.dashboardRoutes(r)
	pprofRoutes(r)
	r.Post("/fixtures", a.loadFixture)
	r.Get("/ca.pem", servePEM(caPEM))
	r.Delete("/requests", a.clearRequests)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusNotFound, map[string]any{"error": "no admin endpoint " + r.URL.Path})
	})
	mux := r
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		// chi forgets the allowed methods once the handler is our own.
		var allowed []string
		path := strings.TrimPrefix(r.URL.Path, "/_emulator")
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			if mux.Match(chi.NewRouteContext(), m, path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		JSON(w, http.StatusMethodNotAllowed, map[string]any{"error": r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + strings.Join(allowed, ", ")})
	})
}

// Off mounts what answers with --admin off: the health check, and a clear
// refusal on every other path.
func Off(r chi.Router, health Health, caPEM []byte, log *slog.Logger) {
	a := &api{health: health, log: log}
	r.Use(a.recoverer)
	r.Get("/health", a.healthz)
	r.Head("/health", a.healthz)
	// The CA is public: clients need it whether or not the admin API is on.
	r.Get("/ca.pem", servePEM(caPEM))
	off := func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusNotFound, map[string]any{"error": "the admin API is switched off (--admin off); only /_emulator/health and /_emulator/ca.pem answer"})
	}
	r.NotFound(off)
	r.MethodNotAllowed(off)
}

// recoverer answers a panic in an admin route with a JSON 500 and logs it
// with its stack, instead of dropping the connection.
func (a *api) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("admin panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				JSON(w, http.StatusInternalServerError, map[string]any{"error": "internal error: " + fmt.Sprint(v)})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// servePEM answers GET /_emulator/ca.pem.
func servePEM(caPEM []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(caPEM) == 0 {
			JSON(w, http.StatusNotFound, map[string]any{"error": "no local CA: TLS is off, or --tls-cert serves a certificate of your own"})
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(caPEM)
	}
}

// healthz answers 200 once the store is migrated and fixtures are loaded.
func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	h := a.health(r.Context())
	body := map[string]any{"status": h.Status}
	if h.MQTT != "" {
		body["mqtt"] = h.MQTT
	}
	status := http.StatusOK
	if h.Err != nil {
		body["error"] = h.Err.Error()
	}
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	JSON(w, status, body)
}

// JSON writes v as the JSON answer with the status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// Parameters and messages carry '&' and '<' (topics, URLs) as they are.
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// failure maps an error of the control plane to its HTTP answer; an
// unexpected one is logged once.
func (a *api) failure(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, control.ErrInput):
		status = http.StatusBadRequest
	case errors.Is(err, iot.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, iot.ErrState):
		status = http.StatusConflict
	default:
		a.log.Error("admin", "path", r.URL.Path, "err", err)
	}
	JSON(w, status, map[string]any{"error": control.Message(err)})
}

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", control.ErrInput, fmt.Sprintf(format, args...))
}

// readJSON decodes a JSON body strictly, so a misspelt field is an error
// rather than a silently ignored one. An empty body leaves v as it is.
func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return inputErr("body: %v", err)
	}
	if len(body) > maxBody {
		return inputErr("body: larger than %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return inputErr("body: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return inputErr("body: unexpected data after the JSON value")
	}
	return nil
}

func (a *api) reset(w http.ResponseWriter, r *http.Request) {
	ak := r.URL.Query().Get("accessKeyId")
	var o control.ResetOptions
	switch keep := r.URL.Query().Get("keep"); keep {
	case "":
	case "config":
		o.KeepConfig = true
	default:
		a.failure(w, r, inputErr("keep: %q is not config (the only thing a reset can keep)", keep))
		return
	}
	if err := a.p.ResetWith(r.Context(), ak, o); err != nil {
		a.failure(w, r, err)
		return
	}
	if ak == "" {
		ak = "all"
	}
	JSON(w, http.StatusOK, map[string]any{"reset": ak})
}

func (a *api) state(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := control.StateQuery{AccessKeyID: v.Get("accessKeyId"), ProductKey: v.Get("productKey")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"devicePage", &q.DevicePage}, {"devicePageSize", &q.DevicePageSize}} {
		if raw := v.Get(p.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 1 {
				a.failure(w, r, inputErr("%s: %q is not a positive integer", p.name, raw))
				return
			}
			*p.dst = n
		}
	}
	st, err := a.p.State(r.Context(), q)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, st)
}

// --- progression ---

type progressionBody struct {
	Progression string `json:"progression"`
}

func (a *api) getProgression(w http.ResponseWriter, r *http.Request) {
	JSON(w, http.StatusOK, progressionBody{a.p.Progression().String()})
}

func (a *api) putProgression(w http.ResponseWriter, r *http.Request) {
	var b progressionBody
	if err := readJSON(r, &b); err != nil {
		a.failure(w, r, err)
		return
	}
	if b.Progression == "" {
		a.failure(w, r, inputErr("progression: required (immediate, delay, manual or polls:N)"))
		return
	}
	p, err := batch.ParseProgression(b.Progression)
	if err != nil {
		a.failure(w, r, inputErr("%v", err))
		return
	}
	if err := a.p.SetProgression(r.Context(), p); err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, progressionBody{p.String()})
}

func applyIDParam(r *http.Request) (int64, error) {
	raw := chi.URLParam(r, "applyId")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, inputErr("applyId: %q is not a positive integer", raw)
	}
	return id, nil
}

func (a *api) advance(w http.ResponseWriter, r *http.Request) {
	id, err := applyIDParam(r)
	if err == nil {
		var b control.StateBatch
		if b, err = a.p.Advance(r.Context(), id); err == nil {
			JSON(w, http.StatusOK, b)
			return
		}
	}
	a.failure(w, r, err)
}

// failBody is the body of POST /_emulator/batches/{applyId}/fail.
type failBody struct {
	Invalid []struct {
		DeviceName string `json:"deviceName"`
		ErrorMsg   string `json:"errorMsg"`
	} `json:"invalid"`
}

func (a *api) fail(w http.ResponseWriter, r *http.Request) {
	id, err := applyIDParam(r)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	var body failBody
	if err := readJSON(r, &body); err != nil {
		a.failure(w, r, err)
		return
	}
	invalid := make(map[string]string, len(body.Invalid))
	for i, n := range body.Invalid {
		if n.DeviceName == "" {
			a.failure(w, r, inputErr("invalid[%d].deviceName: required", i))
			return
		}
		invalid[n.DeviceName] = n.ErrorMsg
	}
	b, err := a.p.Fail(r.Context(), id, invalid)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, b)
}

// --- faults ---

func (a *api) listFaults(w http.ResponseWriter, r *http.Request) {
	JSON(w, http.StatusOK, map[string]any{"faults": a.p.Faults()})
}

func (a *api) addFault(w http.ResponseWriter, r *http.Request) {
	var rule faults.Rule
	if err := readJSON(r, &rule); err != nil {
		a.failure(w, r, err)
		return
	}
	id, err := a.p.AddFault(rule)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"id": id})
}

func (a *api) clearFaults(w http.ResponseWriter, r *http.Request) {
	JSON(w, http.StatusOK, map[string]any{"deleted": a.p.ClearFaults()})
}

func (a *api) getFault(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	for _, f := range a.p.Faults() {
		if f.ID == id {
			JSON(w, http.StatusOK, f)
			return
		}
	}
	a.failure(w, r, fmt.Errorf("no fault rule with id %q: %w", id, iot.ErrNotFound))
}

func (a *api) deleteFault(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !a.p.DeleteFault(id) {
		a.failure(w, r, fmt.Errorf("no fault rule with id %q: %w", id, iot.ErrNotFound))
		return
	}
	JSON(w, http.StatusOK, map[string]any{"deleted": 1})
}

// --- journal ---

func (a *api) requests(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	f := journal.Filter{Action: v.Get("action"), Code: v.Get("code"), AccessKeyID: v.Get("accessKeyId"), Protocol: v.Get("protocol")}
	JSON(w, http.StatusOK, map[string]any{"requests": a.p.Requests(f)})
}

func (a *api) clearRequests(w http.ResponseWriter, r *http.Request) {
	JSON(w, http.StatusOK, map[string]any{"deleted": a.p.ClearRequests()})
}

// kick disconnects a device; ?accessKeyId= picks the account when loose
// accounts share the ProductKey.
func (a *api) kick(w http.ResponseWriter, r *http.Request) {
	n, err := a.p.Kick(r.Context(), r.URL.Query().Get("accessKeyId"), chi.URLParam(r, "productKey"), chi.URLParam(r, "deviceName"))
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"kicked": n})
}

// loadFixture applies a fixture, from the body or from ?path= (a file the
// emulator can read), idempotently.
func (a *api) loadFixture(w http.ResponseWriter, r *http.Request) {
	var f *fixtures.Fixture
	var err error
	if path := r.URL.Query().Get("path"); path != "" {
		f, err = fixtures.Load(path)
	} else {
		var body []byte
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		switch {
		case err != nil:
		case len(body) > maxBody:
			err = fmt.Errorf("body: larger than %d bytes", maxBody)
		default:
			f, err = fixtures.Parse(body)
		}
	}
	if err != nil {
		a.failure(w, r, inputErr("%v", err))
		return
	}
	report, err := a.p.LoadFixture(r.Context(), f)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, report)
}
