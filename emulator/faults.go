package emulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultRule makes matching calls misbehave on purpose, so a test can
// exercise a client's error, retry and timeout paths. It is what
// POST /_emulator/faults takes; every field but Action is optional.
type FaultRule struct {
	// Action is the RPC action the rule matches, or "*" for every action.
	Action string `json:"action"`
	// AccessKeyID, when set, limits the rule to one account's calls.
	AccessKeyID string `json:"accessKeyId"`
	// Code is the error the call answers with, in that code's own envelope:
	// a code from errors.md gets its documented family, HTTP status and
	// message; an unknown code starting with "iot." is a business error,
	// any other unknown code a gateway error. Empty with LatencyMs set makes
	// a latency-only rule; empty without latency is iot.system.SystemException.
	Code string `json:"code"`
	// HTTPStatus overrides the code's HTTP status (200–599).
	HTTPStatus int `json:"httpStatus"`
	// Message overrides the code's message.
	Message string `json:"message"`
	// Count is how many calls the rule fires on before it is spent; 0 is
	// every matching call.
	Count int `json:"count"`
	// Probability is the chance (0 < p ≤ 1) that a matching call fires the
	// rule; 0 means always.
	Probability float64 `json:"probability"`
	// Seed seeds the rule's own random sequence, so the same seed and the
	// same sequence of calls fire on the same calls in every run.
	Seed int64 `json:"seed"`
	// LatencyMs delays the answer (up to 600000); the delay ends early if
	// the client goes away.
	LatencyMs int `json:"latencyMs"`
}

// Fault is a rule as GET /_emulator/faults lists it.
type Fault struct {
	// ID names the rule for DELETE /_emulator/faults/{id}.
	ID string `json:"id"`
	FaultRule
	// Hits counts the calls the rule has fired on.
	Hits int `json:"hits"`
	// Remaining is how many more calls it will fire on; nil when Count is 0.
	Remaining *int `json:"remaining"`
}

// maxFaultLatency bounds LatencyMs so a typo cannot park a request for hours.
const maxFaultLatency = 10 * time.Minute

var faultCodeRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// errInput marks an admin call the caller got wrong (HTTP 400).
var errInput = errors.New("invalid input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInput, fmt.Sprintf(format, args...))
}

// validate names the first field that is wrong.
func (r FaultRule) validate() error {
	switch {
	case r.Action == "":
		return inputErr(`action: required (an action name, or "*" for all)`)
	case r.Action != "*" && actionTable[r.Action] == nil:
		return inputErr("action: %q is not an action this emulator serves", r.Action)
	case r.Code != "" && !faultCodeRE.MatchString(r.Code):
		return inputErr("code: %q is not an error code (letters, digits, '.', '_', '-')", r.Code)
	case r.HTTPStatus != 0 && (r.HTTPStatus < 200 || r.HTTPStatus > 599):
		return inputErr("httpStatus: %d is not between 200 and 599", r.HTTPStatus)
	case r.Count < 0:
		return inputErr("count: must not be negative")
	case r.Probability < 0 || r.Probability > 1:
		return inputErr("probability: %v is not between 0 and 1", r.Probability)
	case r.LatencyMs < 0 || time.Duration(r.LatencyMs)*time.Millisecond > maxFaultLatency:
		return inputErr("latencyMs: %d is not between 0 and %d", r.LatencyMs, maxFaultLatency.Milliseconds())
	}
	return nil
}

// injected is the error the rule answers with, nil for a latency-only rule.
func (r FaultRule) injected() *Error {
	code := r.Code
	if code == "" {
		if r.LatencyMs > 0 {
			return nil
		}
		code = ErrSystem.Code
	}
	var e Error
	if k, ok := knownErrors[code]; ok {
		e = *k
	} else if strings.HasPrefix(code, "iot.") {
		e = Error{Code: code, Status: http.StatusOK, Message: "Fault injected by the emulator."}
	} else {
		e = Error{Code: code, Status: http.StatusBadRequest, Message: "Fault injected by the emulator.", Gateway: true}
	}
	if r.HTTPStatus != 0 {
		e.Status = r.HTTPStatus
	}
	if r.Message != "" {
		e.Message = r.Message
	}
	return &e
}

// faultSet holds the fault rules set through the admin API, in the order
// they were added.
type faultSet struct {
	mu    sync.Mutex
	next  int
	rules []*faultState
}

type faultState struct {
	Fault
	rng *rand.Rand
}

func newFaultSet() *faultSet { return &faultSet{} }

// errFaultCancelled answers a call whose client left during an injected latency.
var errFaultCancelled = ErrServiceUnavailable.WithMessage("The request was cancelled during an injected latency.")

// apply returns the error a matching rule injects, after its latency. Every
// matching rule that fires adds its latency; the first one with an error
// decides the answer. It runs before the handler, so a faulted call changes
// no state.
func (f *faultSet) apply(ctx context.Context, c *Call) *Error {
	latency, e := f.fire(c)
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return errFaultCancelled
		case <-t.C:
		}
	}
	return e
}

func (f *faultSet) fire(c *Call) (time.Duration, *Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var latency time.Duration
	for _, r := range f.rules {
		if (r.Action != "*" && r.Action != c.Action) || (r.AccessKeyID != "" && r.AccessKeyID != c.AccessKeyID) {
			continue
		}
		if r.Count > 0 && r.Hits >= r.Count {
			continue
		}
		// Draw only for matching calls, so the sequence depends on the seed
		// and the matching calls alone.
		if r.Probability > 0 && r.Probability < 1 && r.rng.Float64() >= r.Probability {
			continue
		}
		r.Hits++
		latency += time.Duration(r.LatencyMs) * time.Millisecond
		if e := r.injected(); e != nil {
			return latency, e
		}
	}
	return latency, nil
}

func (f *faultSet) add(r FaultRule) (string, error) {
	if err := r.validate(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := "f" + strconv.Itoa(f.next)
	f.rules = append(f.rules, &faultState{
		Fault: Fault{ID: id, FaultRule: r},
		rng:   rand.New(rand.NewPCG(uint64(r.Seed), 0x10e1)),
	})
	return id, nil
}

func (f *faultSet) list() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Fault, 0, len(f.rules))
	for _, r := range f.rules {
		v := r.Fault
		if v.Count > 0 {
			left := max(v.Count-v.Hits, 0)
			v.Remaining = &left
		}
		out = append(out, v)
	}
	return out
}

func (f *faultSet) remove(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.ID == id {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
			return true
		}
	}
	return false
}

func (f *faultSet) clear() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.rules)
	f.rules = nil
	return n
}

// AddFault adds a fault rule and returns its id.
func (s *Server) AddFault(r FaultRule) (string, error) {
	id, err := s.faults.add(r)
	if err == nil {
		s.log.Info("fault rule added", "id", id, "action", r.Action, "code", r.Code, "count", r.Count,
			"probability", r.Probability, "latencyMs", r.LatencyMs)
	}
	return id, err
}

// Faults lists the fault rules in the order they apply.
func (s *Server) Faults() []Fault { return s.faults.list() }

// DeleteFault removes one rule and reports whether it existed.
func (s *Server) DeleteFault(id string) bool { return s.faults.remove(id) }

// ClearFaults removes every rule and returns how many there were.
func (s *Server) ClearFaults() int { return s.faults.clear() }
