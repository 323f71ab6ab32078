package emulator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iot-emulator/iot-emulator/store"
)

// Progression modes: how a batch leaves CHECK and CREATE.
const (
	// ProgressImmediate settles a batch as soon as the worker can.
	ProgressImmediate = "immediate"
	// ProgressDelay settles it after the check/create delay (the default).
	ProgressDelay = "delay"
	// ProgressManual waits for POST /_emulator/batches/{applyId}/advance.
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

// Progression returns the policy in force.
func (s *Server) Progression() Progression {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progression
}

// SetProgression changes the policy for new batches and reschedules the
// ones already waiting, so switching from manual to immediate frees them.
func (s *Server) SetProgression(ctx context.Context, p Progression) error {
	s.sched.Lock()
	defer s.sched.Unlock()
	s.mu.Lock()
	s.progression = p
	s.mu.Unlock()
	pending, err := s.st.Pending(ctx)
	if err != nil {
		return err
	}
	for _, b := range pending {
		due, polls := s.schedule(b.Status)
		if err := s.st.Schedule(ctx, b.ApplyID, due, polls); err != nil && !errors.Is(err, store.ErrState) {
			return err
		}
	}
	s.worker.wake()
	return nil
}

// schedule says when a batch entering status (CHECK or CREATE) settles.
func (s *Server) schedule(status string) (*time.Time, *int) {
	p := s.Progression()
	now := s.now()
	switch p.Mode {
	case ProgressManual:
		return nil, nil
	case ProgressPolls:
		n := p.Polls
		return nil, &n
	case ProgressImmediate:
		return &now, nil
	}
	d := s.cfg.CheckDelay
	if status == store.StatusCreate {
		d = s.cfg.CreateDelay
	}
	due := now.Add(d)
	return &due, nil
}

// worker settles batches in the background: requests only record what is
// wanted, so CHECK and CREATE are observable states, and a batch left
// transient by a stopped process is found again in the store on start.
type worker struct {
	s      *Server
	mu     sync.Mutex // one settlement at a time
	wakeCh chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func newWorker(s *Server) *worker {
	return &worker{s: s, wakeCh: make(chan struct{}, 1)}
}

func (w *worker) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (w *worker) start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go w.loop(ctx)
}

// stop ends the loop after the settlement in progress has committed.
func (w *worker) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
	w.cancel = nil
}

func (w *worker) loop(ctx context.Context) {
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
			wait = max(next.Sub(w.s.now()), time.Millisecond)
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
func (w *worker) runDue(ctx context.Context) time.Time {
	pending, err := w.s.st.Pending(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.s.log.Error("batch worker: list pending", "err", err)
		}
		return w.s.now().Add(time.Second)
	}
	var next time.Time
	for _, b := range pending {
		if b.Due == nil {
			continue
		}
		if b.Due.After(w.s.now()) {
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
		w.settle(context.WithoutCancel(ctx), b.ApplyID, nil)
	}
	return next
}

// settle ends a batch's transient state now; forced names fail with the
// given reasons.
func (w *worker) settle(ctx context.Context, applyID int64, forced map[string]string) (store.Batch, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := w.s.st.Settle(ctx, applyID, forced, w.s.deviceQuota())
	if err != nil && !errors.Is(err, store.ErrState) && !errors.Is(err, store.ErrNotFound) {
		w.s.log.Error("batch worker: settle", "applyId", applyID, "err", err)
	}
	return b, err
}

// exclusive runs fn with no settlement in progress, so a reset never
// interleaves with one: a batch is settled wholly before it is wiped, or
// wiped before it is settled (and then settling finds nothing).
func (w *worker) exclusive(fn func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fn()
}
