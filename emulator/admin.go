package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/store"
)

// The admin API (the control plane for tests) lives under /_emulator/ and
// speaks plain JSON; errors are {"error": "..."} with a 4xx status. It is a
// separate route tree, so no RPC call to "/" can reach it.

// State view defaults and bounds for GET /_emulator/state.
const (
	defaultStatePageSize = 100
	maxStatePageSize     = 1000
	maxAdminBody         = 1 << 20
)

// defaultFailMsg is the reason of a name failed through the admin API
// without one.
const defaultFailMsg = "Failed through the emulator's admin API."

func (s *Server) adminRoutes(r chi.Router) {
	r.Get("/health", s.health)
	r.Head("/health", s.health) // container and load-balancer probes often send HEAD
	r.Post("/reset", s.adminReset)
	r.Get("/state", s.adminState)
	r.Get("/config/progression", s.adminGetProgression)
	r.Put("/config/progression", s.adminPutProgression)
	r.Post("/batches/{applyId}/advance", s.adminAdvance)
	r.Post("/batches/{applyId}/fail", s.adminFail)
	r.Get("/faults", s.adminListFaults)
	r.Post("/faults", s.adminAddFault)
	r.Delete("/faults", s.adminClearFaults)
	r.Get("/faults/{id}", s.adminGetFault)
	r.Delete("/faults/{id}", s.adminDeleteFault)
	r.Get("/requests", s.adminRequests)
	r.Delete("/requests", s.adminClearRequests)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusNotFound, map[string]any{"error": "no admin endpoint " + r.URL.Path})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": r.Method + " is not allowed on " + r.URL.Path})
	})
}

// adminOff answers every admin path but health when --admin off.
func adminOff(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusNotFound, map[string]any{"error": "the admin API is switched off (--admin off); only /_emulator/health answers"})
}

// health answers 200 once the store is migrated and fixtures are loaded.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		adminJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting"})
		return
	}
	if err := s.st.Ping(r.Context()); err != nil {
		adminJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": err.Error()})
		return
	}
	adminJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// adminFailure maps an error of the Go API to its HTTP answer.
func (s *Server) adminFailure(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errInput):
		status = http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrState):
		status = http.StatusConflict
	default:
		s.log.Error("admin", "path", r.URL.Path, "err", err)
	}
	adminJSON(w, status, map[string]any{"error": err.Error()})
}

// readJSON decodes a JSON body strictly, so a misspelt field is an error
// rather than a silently ignored one. An empty body leaves v as it is.
func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
	if err != nil {
		return inputErr("body: %v", err)
	}
	if len(body) > maxAdminBody {
		return inputErr("body: larger than %d bytes", maxAdminBody)
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

// --- reset ---

// Reset wipes all state and reloads the fixtures, or, for one AccessKeyId,
// only that account's state (a fixture account is reloaded; a loose-auth
// account is seeded again on its next call). A full reset also forgets
// nonces, refills throttle buckets, and clears fault rules and the journal;
// the progression policy stays. Batches in CHECK or CREATE are deleted with
// the rest: the worker never settles a batch half across a reset.
func (s *Server) Reset(ctx context.Context, accessKeyID string) error {
	if accessKeyID == "" {
		err := s.worker.exclusive(func() error {
			s.looseSeed.Clear()
			return s.cfg.Fixtures.Apply(ctx, s.st)
		})
		if err != nil {
			return err
		}
		s.nonces.reset()
		s.limits.reset()
		s.faults.clear()
		s.journal.clear()
		s.worker.wake()
		s.log.Info("reset", "accessKeyId", "")
		return nil
	}
	var tmpl *fixtures.Account
	for i, a := range s.cfg.Fixtures.Accounts {
		if a.AccessKeyID == accessKeyID {
			tmpl = &s.cfg.Fixtures.Accounts[i]
		}
	}
	if tmpl == nil {
		if _, err := s.st.Account(ctx, accessKeyID); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no account with accessKeyId %q: %w", accessKeyID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
	}
	err := s.worker.exclusive(func() error {
		s.looseSeed.Delete(accessKeyID)
		var seeds []store.Seed
		if tmpl != nil {
			seeds = append(seeds, fixtures.AccountSeed(*tmpl, tmpl.AccessKeyID, tmpl.AccessKeySecret))
		}
		return s.st.Replace(ctx, accessKeyID, seeds)
	})
	if err != nil {
		return err
	}
	s.worker.wake()
	s.log.Info("reset", "accessKeyId", accessKeyID)
	return nil
}

func (s *Server) adminReset(w http.ResponseWriter, r *http.Request) {
	ak := r.URL.Query().Get("accessKeyId")
	if err := s.Reset(r.Context(), ak); err != nil {
		s.adminFailure(w, r, err)
		return
	}
	if ak == "" {
		ak = "all"
	}
	adminJSON(w, http.StatusOK, map[string]any{"reset": ak})
}

// --- state ---

// State is the emulator's whole state as GET /_emulator/state shows it,
// secrets included.
type State struct {
	Progression string          `json:"progression"`
	Accounts    []StateAccount  `json:"accounts"`
	Devices     StateDevicePage `json:"devices"`
}

// StateAccount is one account with its products and batches.
type StateAccount struct {
	AccessKeyID     string         `json:"accessKeyId"`
	AccessKeySecret string         `json:"accessKeySecret"`
	SecurityToken   string         `json:"securityToken"`
	Instances       []string       `json:"instances"`
	Products        []StateProduct `json:"products"`
	Batches         []StateBatch   `json:"batches"`
}

// StateProduct is one product.
type StateProduct struct {
	ProductKey          string    `json:"productKey"`
	ProductName         string    `json:"productName"`
	ProductSecret       string    `json:"productSecret"`
	IotInstanceID       string    `json:"iotInstanceId"`
	NodeType            int       `json:"nodeType"`
	DataFormat          int       `json:"dataFormat"`
	Description         string    `json:"description"`
	AuthType            string    `json:"authType"`
	AliyunCommodityCode string    `json:"aliyunCommodityCode"`
	DeviceCount         int       `json:"deviceCount"`
	Created             time.Time `json:"created"`
}

// StateBatch is one batch (ApplyId) with its counts.
type StateBatch struct {
	ApplyID       int64  `json:"applyId"`
	AccessKeyID   string `json:"accessKeyId"`
	IotInstanceID string `json:"iotInstanceId"`
	ProductKey    string `json:"productKey"`
	// Kind is "names" (BatchCheckDeviceNames) or "random" (BatchRegisterDevice).
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// Count is the number of names; Failed how many failed; Devices how
	// many devices the batch created.
	Count   int `json:"count"`
	Failed  int `json:"failed"`
	Devices int `json:"devices"`
	// Due is when the worker settles a batch in CHECK or CREATE; nil when
	// it waits for an advance or for polls.
	Due *time.Time `json:"due"`
	// PollsLeft counts the status queries still to come under polls:N.
	PollsLeft *int      `json:"pollsLeft"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// StateDevicePage is one page of devices, in creation order.
type StateDevicePage struct {
	Page     int           `json:"page"`
	PageSize int           `json:"pageSize"`
	Total    int           `json:"total"`
	Items    []StateDevice `json:"items"`
}

// StateDevice is one device, secret included.
type StateDevice struct {
	AccessKeyID  string    `json:"accessKeyId"`
	ProductKey   string    `json:"productKey"`
	DeviceName   string    `json:"deviceName"`
	DeviceSecret string    `json:"deviceSecret"`
	DeviceID     string    `json:"deviceId"`
	IotID        string    `json:"iotId"`
	Nickname     string    `json:"nickname"`
	Status       string    `json:"status"`
	ApplyID      int64     `json:"applyId"`
	Created      time.Time `json:"created"`
}

// StateQuery narrows State: one account, one product's devices, a device page.
type StateQuery struct {
	AccessKeyID string
	ProductKey  string
	// DevicePage counts from 1 (0 is 1); DevicePageSize is 1–1000 (0 is 100).
	DevicePage     int
	DevicePageSize int
}

func stateBatch(b store.Batch) StateBatch {
	return StateBatch{ApplyID: b.ApplyID, AccessKeyID: b.AccessKeyID, IotInstanceID: b.InstanceID, ProductKey: b.ProductKey,
		Kind: b.Kind, Status: b.Status, Count: b.Count, Failed: b.Failed, Devices: b.Devices, Due: b.Due, PollsLeft: b.PollsLeft,
		Created: b.Created, Updated: b.Updated}
}

// State returns the state q selects.
func (s *Server) State(ctx context.Context, q StateQuery) (State, error) {
	page, size := max(q.DevicePage, 1), q.DevicePageSize
	if size == 0 {
		size = defaultStatePageSize
	}
	if q.DevicePage < 0 || size < 1 || size > maxStatePageSize {
		return State{}, inputErr("devicePage must be at least 1 and devicePageSize between 1 and %d", maxStatePageSize)
	}
	var accounts []store.Account
	if q.AccessKeyID != "" {
		a, err := s.st.Account(ctx, q.AccessKeyID)
		if errors.Is(err, store.ErrNotFound) {
			return State{}, fmt.Errorf("no account with accessKeyId %q: %w", q.AccessKeyID, store.ErrNotFound)
		}
		if err != nil {
			return State{}, err
		}
		accounts = []store.Account{a}
	} else {
		var err error
		if accounts, err = s.st.Accounts(ctx); err != nil {
			return State{}, err
		}
	}
	out := State{Progression: s.Progression().String(), Accounts: make([]StateAccount, 0, len(accounts))}
	for _, a := range accounts {
		sa := StateAccount{AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret, SecurityToken: a.SecurityToken,
			Instances: append([]string{}, a.Instances...), Products: []StateProduct{}, Batches: []StateBatch{}}
		products, err := s.st.Products(ctx, a.AccessKeyID)
		if err != nil {
			return State{}, err
		}
		for _, p := range products {
			sa.Products = append(sa.Products, StateProduct{ProductKey: p.ProductKey, ProductName: p.ProductName, ProductSecret: p.ProductSecret,
				IotInstanceID: p.InstanceID, NodeType: p.NodeType, DataFormat: p.DataFormat, Description: p.Description, AuthType: p.AuthType,
				AliyunCommodityCode: p.AliyunCommodityCode, DeviceCount: p.DeviceCount, Created: p.Created})
		}
		batches, err := s.st.Batches(ctx, a.AccessKeyID)
		if err != nil {
			return State{}, err
		}
		for _, b := range batches {
			sa.Batches = append(sa.Batches, stateBatch(b))
		}
		out.Accounts = append(out.Accounts, sa)
	}
	devs, total, err := s.st.DumpDevices(ctx, q.AccessKeyID, q.ProductKey, pageOffset(page, size), size)
	if err != nil {
		return State{}, err
	}
	out.Devices = StateDevicePage{Page: page, PageSize: size, Total: total, Items: make([]StateDevice, 0, len(devs))}
	for _, d := range devs {
		out.Devices.Items = append(out.Devices.Items, StateDevice{AccessKeyID: d.AccessKeyID, ProductKey: d.ProductKey, DeviceName: d.DeviceName,
			DeviceSecret: d.DeviceSecret, DeviceID: d.DeviceID, IotID: d.IotID, Nickname: d.Nickname, Status: d.Status, ApplyID: d.ApplyID,
			Created: d.Created})
	}
	return out, nil
}

func (s *Server) adminState(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := StateQuery{AccessKeyID: v.Get("accessKeyId"), ProductKey: v.Get("productKey")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"devicePage", &q.DevicePage}, {"devicePageSize", &q.DevicePageSize}} {
		if raw := v.Get(p.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 1 {
				s.adminFailure(w, r, inputErr("%s: %q is not a positive integer", p.name, raw))
				return
			}
			*p.dst = n
		}
	}
	st, err := s.State(r.Context(), q)
	if err != nil {
		s.adminFailure(w, r, err)
		return
	}
	adminJSON(w, http.StatusOK, st)
}

// --- progression ---

type progressionBody struct {
	Progression string `json:"progression"`
}

func (s *Server) adminGetProgression(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, progressionBody{s.Progression().String()})
}

func (s *Server) adminPutProgression(w http.ResponseWriter, r *http.Request) {
	var b progressionBody
	if err := readJSON(r, &b); err != nil {
		s.adminFailure(w, r, err)
		return
	}
	if b.Progression == "" {
		s.adminFailure(w, r, inputErr("progression: required (immediate, delay, manual or polls:N)"))
		return
	}
	p, err := ParseProgression(b.Progression)
	if err != nil {
		s.adminFailure(w, r, inputErr("%v", err))
		return
	}
	if err := s.SetProgression(r.Context(), p); err != nil {
		s.adminFailure(w, r, err)
		return
	}
	s.log.Info("progression set", "progression", p.String())
	adminJSON(w, http.StatusOK, progressionBody{p.String()})
}

// --- batches ---

// Advance settles a batch in CHECK or CREATE now, whatever the progression:
// CHECK becomes CHECK_SUCCESS (or CHECK_FAILED for names that exist by
// now), CREATE creates the devices. Errors wrap store.ErrNotFound for an
// unknown ApplyId and store.ErrState for a batch in any other state.
func (s *Server) Advance(ctx context.Context, applyID int64) (StateBatch, error) {
	return s.settleNow(ctx, applyID, nil)
}

// Fail settles a batch in CHECK or CREATE as failed: the names in invalid
// (name → reason; an empty reason gets a default one) fail and make the
// InvalidList, the rest the ValidList; in CREATE only the valid names are
// created. An empty invalid fails every name. Errors as for Advance; a name
// that is not in the batch is an input error.
func (s *Server) Fail(ctx context.Context, applyID int64, invalid map[string]string) (StateBatch, error) {
	b, err := s.st.Batch(ctx, "", applyID)
	if errors.Is(err, store.ErrNotFound) {
		return StateBatch{}, noBatch(applyID)
	}
	if err != nil {
		return StateBatch{}, err
	}
	if !b.Transient() {
		return StateBatch{}, notTransient(b)
	}
	names, err := s.st.BatchNames(ctx, applyID)
	if err != nil {
		return StateBatch{}, err
	}
	forced := make(map[string]string, max(len(invalid), len(names)))
	if len(invalid) == 0 {
		for _, n := range names {
			forced[n.DeviceName] = defaultFailMsg
		}
	} else {
		in := make(map[string]bool, len(names))
		for _, n := range names {
			in[n.DeviceName] = true
		}
		var unknown []string
		for name, msg := range invalid {
			if !in[name] {
				unknown = append(unknown, name)
			}
			if msg == "" {
				msg = defaultFailMsg
			}
			forced[name] = msg
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return StateBatch{}, inputErr("not names of batch %d: %s", applyID, strings.Join(unknown, ", "))
		}
	}
	return s.settleNow(ctx, applyID, forced)
}

func noBatch(applyID int64) error {
	return fmt.Errorf("no batch with applyId %d: %w", applyID, store.ErrNotFound)
}

func notTransient(b store.Batch) error {
	return fmt.Errorf("batch %d is %s; only a batch in CHECK or CREATE can be advanced or failed: %w", b.ApplyID, b.Status, store.ErrState)
}

func (s *Server) settleNow(ctx context.Context, applyID int64, forced map[string]string) (StateBatch, error) {
	b, err := s.worker.settle(ctx, applyID, forced)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return StateBatch{}, noBatch(applyID)
	case errors.Is(err, store.ErrState):
		cur, gerr := s.st.Batch(ctx, "", applyID)
		if gerr != nil {
			return StateBatch{}, noBatch(applyID)
		}
		return StateBatch{}, notTransient(cur)
	case err != nil:
		return StateBatch{}, err
	}
	return stateBatch(b), nil
}

func applyIDParam(r *http.Request) (int64, error) {
	raw := chi.URLParam(r, "applyId")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, inputErr("applyId: %q is not a positive integer", raw)
	}
	return id, nil
}

func (s *Server) adminAdvance(w http.ResponseWriter, r *http.Request) {
	id, err := applyIDParam(r)
	if err == nil {
		var b StateBatch
		if b, err = s.Advance(r.Context(), id); err == nil {
			adminJSON(w, http.StatusOK, b)
			return
		}
	}
	s.adminFailure(w, r, err)
}

// failBody is the body of POST /_emulator/batches/{applyId}/fail.
type failBody struct {
	Invalid []struct {
		DeviceName string `json:"deviceName"`
		ErrorMsg   string `json:"errorMsg"`
	} `json:"invalid"`
}

func (s *Server) adminFail(w http.ResponseWriter, r *http.Request) {
	id, err := applyIDParam(r)
	if err != nil {
		s.adminFailure(w, r, err)
		return
	}
	var body failBody
	if err := readJSON(r, &body); err != nil {
		s.adminFailure(w, r, err)
		return
	}
	invalid := make(map[string]string, len(body.Invalid))
	for i, n := range body.Invalid {
		if n.DeviceName == "" {
			s.adminFailure(w, r, inputErr("invalid[%d].deviceName: required", i))
			return
		}
		invalid[n.DeviceName] = n.ErrorMsg
	}
	b, err := s.Fail(r.Context(), id, invalid)
	if err != nil {
		s.adminFailure(w, r, err)
		return
	}
	adminJSON(w, http.StatusOK, b)
}

// --- faults ---

func (s *Server) adminListFaults(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
}

func (s *Server) adminAddFault(w http.ResponseWriter, r *http.Request) {
	var rule FaultRule
	if err := readJSON(r, &rule); err != nil {
		s.adminFailure(w, r, err)
		return
	}
	id, err := s.AddFault(rule)
	if err != nil {
		s.adminFailure(w, r, err)
		return
	}
	adminJSON(w, http.StatusOK, map[string]any{"id": id})
}

func (s *Server) adminClearFaults(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, map[string]any{"deleted": s.ClearFaults()})
}

func (s *Server) adminGetFault(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	for _, f := range s.Faults() {
		if f.ID == id {
			adminJSON(w, http.StatusOK, f)
			return
		}
	}
	s.adminFailure(w, r, fmt.Errorf("no fault rule with id %q: %w", id, store.ErrNotFound))
}

func (s *Server) adminDeleteFault(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !s.DeleteFault(id) {
		s.adminFailure(w, r, fmt.Errorf("no fault rule with id %q: %w", id, store.ErrNotFound))
		return
	}
	adminJSON(w, http.StatusOK, map[string]any{"deleted": 1})
}

// --- journal ---

func (s *Server) adminRequests(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	f := JournalFilter{Action: v.Get("action"), Code: v.Get("code"), AccessKeyID: v.Get("accessKeyId")}
	adminJSON(w, http.StatusOK, map[string]any{"requests": s.Requests(f)})
}

func (s *Server) adminClearRequests(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, map[string]any{"deleted": s.ClearRequests()})
}
