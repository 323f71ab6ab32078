// Package faults holds the fault rules a test sets to make matching RPC
// calls misbehave on purpose (an error in its documented envelope, a
// latency, or both), with seeded probabilities so a run repeats.
package faults

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

	"github.com/iot-emulator/iot-emulator/internal/pop"
)

// Rule makes matching calls misbehave on purpose, so a test can
// exercise a client's error, retry and timeout paths. It is what
// POST /_emulator/faults takes; every field but Action is optional.
type Rule struct {
	// Action is the RPC action the rule matches, or "*" for every action.
	Action string `json:"action"`
	// AccessKeyID, when set, limits the rule to one account's calls.
	AccessKeyID string `json:"accessKeyId"`
	// Code is the error the call answers with, in that code's own envelope:
	// a code declared by the gateway or the product (docs/fidelity.md, errors §1, §2) gets its documented family, HTTP status and
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
	Rule
	// Hits counts the calls the rule has fired on.
	Hits int `json:"hits"`
	// Remaining is how many more calls it will fire on; nil when Count is 0.
	Remaining *int `json:"remaining"`
}

// maxFaultLatency bounds LatencyMs so a typo cannot park a request for hours.
const maxFaultLatency = 10 * time.Minute

var faultCodeRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// ErrInput marks a rule the caller got wrong.
var ErrInput = errors.New("invalid input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// validate names the first field that is wrong; served says whether an
// action name is one the emulator serves.
func (r Rule) validate(served func(string) bool) error {
	switch {
	case r.Action == "":
		return inputErr(`action: required (an action name, or "*" for all)`)
	case r.Action != "*" && !served(r.Action):
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
func (r Rule) injected(defaultCode string) *pop.Error {
	code := r.Code
	if code == "" {
		if r.LatencyMs > 0 {
			return nil
		}
		code = defaultCode
	}
	e, ok := pop.Known(code)
	switch {
	case ok:
	case strings.HasPrefix(code, "iot."):
		e = pop.Error{Code: code, Status: http.StatusOK, Message: "Fault injected by the emulator."}
	default:
		e = pop.Error{Code: code, Status: http.StatusBadRequest, Message: "Fault injected by the emulator.", Gateway: true}
	}
	if r.HTTPStatus != 0 {
		e.Status = r.HTTPStatus
	}
	if r.Message != "" {
		e.Message = r.Message
	}
	return &e
}

// Set holds the fault rules, in the order they were added. It is safe for
// concurrent use.
type Set struct {
	mu    sync.Mutex
	next  int
	rules []*faultState
	// served tells the actions a rule may name; defaultCode is the error
	// of a rule with neither code nor latency.
	served      func(string) bool
	defaultCode string
	// stop ends every injected latency (shutdown).
	stop     chan struct{}
	stopOnce sync.Once
}

// Stop ends the injected latencies in progress and every later one, so a
// shutdown never waits for a fault rule's sleep.
func (f *Set) Stop() { f.stopOnce.Do(func() { close(f.stop) }) }

type faultState struct {
	Fault
	rng *rand.Rand
}

// NewSet returns an empty set for the actions served reports, whose rules
// without code or latency answer defaultCode.
func NewSet(served func(action string) bool, defaultCode string) *Set {
	return &Set{served: served, defaultCode: defaultCode, stop: make(chan struct{})}
}

// errFaultCancelled answers a call whose client left during an injected latency.
var errFaultCancelled = pop.ErrServiceUnavailable.WithMessage("The request was cancelled during an injected latency.")

// Apply returns the error a matching rule injects, after its latency.
// Every matching rule that fires adds its latency; the first one with an
// error decides the answer. It runs before the handler (the gateway's
// Intercept), so a faulted call changes no state.
func (f *Set) Apply(ctx context.Context, c *pop.Call) error {
	latency, e := f.fire(c)
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return errFaultCancelled
		case <-f.stop:
			return errFaultCancelled
		case <-t.C:
		}
	}
	if e == nil {
		return nil
	}
	return e
}

func (f *Set) fire(c *pop.Call) (time.Duration, *pop.Error) {
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
		c.Faults = append(c.Faults, r.ID) // the journal says which rules fired
		latency += time.Duration(r.LatencyMs) * time.Millisecond
		if e := r.injected(f.defaultCode); e != nil {
			return latency, e
		}
	}
	return latency, nil
}

// Add validates a rule and adds it; it returns the rule's id.
func (f *Set) Add(r Rule) (string, error) {
	if err := r.validate(f.served); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := "f" + strconv.Itoa(f.next)
	f.rules = append(f.rules, &faultState{
		Fault: Fault{ID: id, Rule: r},
		rng:   rand.New(rand.NewPCG(uint64(r.Seed), 0x10e1)),
	})
	return id, nil
}

// List returns the rules in the order they apply.
func (f *Set) List() []Fault {
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

// Remove deletes one rule and reports whether it existed.
func (f *Set) Remove(id string) bool {
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

// Clear removes every rule and returns how many there were.
func (f *Set) Clear() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.rules)
	f.rules = nil
	return n
}
