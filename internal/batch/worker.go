// Package batch is the batch worker: it times batches by the progression
// policy and settles them in the background, so CHECK and CREATE are
// observable states, and a batch left transient by a stopped process is
// found again in the store on start. Requests only record what is wanted.
package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// Progression modes: how a batch leaves CHECK and CREATE.
const (
	// ProgressImmediate settles a batch as soon as the worker can.
	ProgressImmediate = "immediate"
	// ProgressDelay settles it after the check/create delay (the default).
	ProgressDelay = "delay"
	// ProgressManual waits for an explicit Advance or Fail
	// (POST /_emulator/batches/{applyId}/advance).
	ProgressManual = "manual"
	// ProgressPolls settles it after N status queries.
	ProgressPolls = "polls"
)

// Progression is the batch timing policy.
type Progression struct {
	Mode string
	// Polls is N for ProgressPolls.
	Polls int
}

// String renders the policy as the flag spells it ("polls:3").
func (p Progression) String() string {
	if p.Mode == ProgressPolls {
		return ProgressPolls + ":" + strconv.Itoa(p.Polls)
	}
	return p.Mode
}

// Validate reports a policy that is not one of the four.
func (p Progression) Validate() error {
	switch p.Mode {
	case ProgressImmediate, ProgressDelay, ProgressManual:
		return nil
	case ProgressPolls:
		if p.Polls >= 1 {
			return nil
		}
	}
	return fmt.Errorf("progression %q: want immediate, delay, manual or polls:N with N >= 1", p.String())
}

// ParseProgression reads "immediate", "delay", "manual" or "polls:N" (N ≥ 1).
func ParseProgression(s string) (Progression, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case ProgressImmediate, ProgressDelay, ProgressManual:
		return Progression{Mode: s}, nil
	}
	if n, ok := strings.CutPrefix(s, ProgressPolls+":"); ok {
		if v, err := strconv.Atoi(n); err == nil && v >= 1 {
			return Progression{Mode: ProgressPolls, Polls: v}, nil
		}
	}
	return Progression{}, fmt.Errorf("progression %q: want immediate, delay, manual or polls:N with N >= 1", s)
}

// Config is how the worker times and settles batches.
type Config struct {
	Progression Progression
	// CheckDelay and CreateDelay are how long CHECK and CREATE last under
	// the delay progression.
	CheckDelay, CreateDelay time.Duration
	// Quota caps the devices of one product when settling.
	Quota  int
	Logger *slog.Logger
	Now    func() time.Time
	// Bus, when set, receives every batch transition.
	Bus *events.Bus
}

// Worker times and settles batches. Create it with New, run it with Start.
type Worker struct {
	cfg Config
	st  *store.Store
	log *slog.Logger

	// sched is held for reading while a batch is timed and stored, and for
	// writing while the progression changes and waiting batches are
	// rescheduled, so no batch is stored under a policy already replaced.
	sched       sync.RWMutex
	pmu         sync.Mutex // guards progression
	progression Progression

	mu     sync.Mutex // one settlement at a time
	wakeCh chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a worker over the store; zero Logger and Now discard and
// use time.Now.
func New(cfg Config, st *store.Store) *Worker {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, st: st, log: cfg.Logger, progression: cfg.Progression, wakeCh: make(chan struct{}, 1)}
}

// Progression returns the policy in force.
func (w *Worker) Progression() Progression {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.progression
}

// SetProgression changes the policy for new batches and reschedules the
// ones already waiting, so switching from manual to immediate frees them.
func (w *Worker) SetProgression(ctx context.Context, p Progression) error {
	w.sched.Lock()
	defer w.sched.Unlock()
	w.pmu.Lock()
	w.progression = p
	w.pmu.Unlock()
	pending, err := w.st.Pending(ctx)
	if err != nil {
		return err
	}
	for _, b := range pending {
		due, polls := w.schedule(b.Status)
		if err := w.st.Schedule(ctx, b.ApplyID, due, polls); err != nil && !errors.Is(err, iot.ErrState) {
			return err
		}
	}
	w.Wake()
	return nil
}

// Enter times a batch entering status (CHECK or CREATE) under the policy
// in force and runs store with that timing, holding off policy changes
// until it returns; then the worker is woken to pick the batch up.
func (w *Worker) Enter(status string, store func(due *time.Time, polls *int) (iot.Batch, error)) (iot.Batch, error) {
	w.sched.RLock()
	due, polls := w.schedule(status)
	b, err := store(due, polls)
	w.sched.RUnlock()
	if err == nil {
		if due == nil && polls == nil {
			// Said once, when the batch starts waiting: a suite that left
			// the progression on manual otherwise hangs without a hint.
			w.log.Info(fmt.Sprintf("batch %d waits for POST /_emulator/batches/%d/advance", b.ApplyID, b.ApplyID),
				"applyId", b.ApplyID, "status", b.Status, "progression", ProgressManual)
		}
		w.publish(b)
		w.Wake()
	}
	return b, err
}

// schedule says when a batch entering status (CHECK or CREATE) settles.
func (w *Worker) schedule(status string) (*time.Time, *int) {
	p := w.Progression()
	now := w.cfg.Now()
	switch p.Mode {
	case ProgressManual:
		return nil, nil
	case ProgressPolls:
		n := p.Polls
		return nil, &n
	case ProgressImmediate:
		return &now, nil
	}
	d := w.cfg.CheckDelay
	if status == iot.StatusCreate {
		d = w.cfg.CreateDelay
	}
	due := now.Add(d)
	return &due, nil
}

// Wake makes the worker look for due batches now.
func (w *Worker) Wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

// Start runs the worker until ctx ends or Stop is called; batches left in
// CHECK or CREATE by an earlier process are resumed.
func (w *Worker) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go w.loop(ctx)
}

// Stop ends the loop after the settlement in progress has committed.
func (w *Worker) Stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
	w.cancel = nil
}

func (w *Worker) loop(ctx context.Context) {
	defer close(w.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := w.runDue(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(w.cfg.Now()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-w.wakeCh:
		case <-timer.C:
		}
	}
}

// runDue settles every batch that is due and returns when the next one is.
func (w *Worker) runDue(ctx context.Context) time.Time {
	pending, err := w.st.Pending(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("batch worker: list pending", "err", err)
		}
		return w.cfg.Now().Add(time.Second)
	}
	var next time.Time
	for _, b := range pending {
		if b.Due == nil {
			continue
		}
		if b.Due.After(w.cfg.Now()) {
			if next.IsZero() || b.Due.Before(next) {
				next = *b.Due
			}
			continue
		}
		if ctx.Err() != nil {
			return next
		}
		// A detached context: once begun, a settlement commits even if
		// shutdown starts, so a stop never leaves a batch half-written.
		w.Settle(context.WithoutCancel(ctx), b.ApplyID, nil)
	}
	return next
}

// Settle ends a batch's transient state now; forced names fail with the
// given reasons. Errors are iot.ErrNotFound, iot.ErrState (not transient)
// or the store's, which are also logged.
func (w *Worker) Settle(ctx context.Context, applyID int64, forced map[string]string) (iot.Batch, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := w.st.Settle(ctx, applyID, forced, w.cfg.Quota)
	switch {
	case err == nil:
		w.publish(b)
	case !errors.Is(err, iot.ErrState) && !errors.Is(err, iot.ErrNotFound):
		w.log.Error("batch worker: settle", "applyId", applyID, "err", err)
	}
	return b, err
}

// CountPoll records one status query of a poll-driven batch; the query
// that uses up the count settles the batch (detached: once the count is
// used up, the batch moves on even if the client leaves).
func (w *Worker) CountPoll(ctx context.Context, b iot.Batch) error {
	if !b.Transient() || b.PollsLeft == nil {
		return nil
	}
	done, err := w.st.CountPoll(ctx, b.ApplyID)
	if err != nil || !done {
		return err
	}
	// Settle logs its own store errors, and the poll's answer is already
	// decided, so only the count's failure is the caller's.
	w.Settle(context.WithoutCancel(ctx), b.ApplyID, nil)
	return nil
}

func (w *Worker) publish(b iot.Batch) {
	if w.cfg.Bus != nil {
		w.cfg.Bus.Publish(events.Event{Time: w.cfg.Now(), Kind: events.Batch, Data: b})
	}
}

// Exclusive runs fn with no settlement in progress, so a reset never
// interleaves with one: a batch is settled wholly before it is wiped, or
// wiped before it is settled (and then settling finds nothing).
func (w *Worker) Exclusive(fn func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fn()
}
