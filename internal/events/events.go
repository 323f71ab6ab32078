// Package events is the emulator's in-process event bus: the gateway's
// answered calls, batch transitions and (with the broker) device logins
// are published here, and the control plane's watchers (the dashboard,
// scripts on the admin API's stream, tests) subscribe. Publishing never
// blocks: a subscriber that falls behind loses events and is told how many.
package events

import (
	"sync"
	"time"
)

// Kinds of events.
const (
	// Request is an answered RPC call; Data is a journal.Entry.
	Request = "request"
	// Device is a device event (login, logout, publish, …); Data is a
	// journal.Entry.
	Device = "device"
	// Batch is a batch that changed status; Data is an iot.Batch.
	Batch = "batch"
	// Message is a message to or from a device; Data is a
	// things.MessageView.
	Message = "message"
	// Reset is a reset of all state or of one account; Data is the
	// AccessKeyId ("" for all).
	Reset = "reset"
)

// Event is one thing that happened.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Data any       `json:"data"`
}

// Bus fans events out to its subscribers. The zero value is ready.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives events on C until Close.
type Subscription struct {
	// C delivers the events in the order they were published.
	C       <-chan Event
	c       chan Event
	bus     *Bus
	mu      sync.Mutex
	dropped int
}

// Subscribe starts a subscription that buffers up to buffer events.
func (b *Bus) Subscribe(buffer int) *Subscription {
	c := make(chan Event, max(buffer, 1))
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*Subscription]struct{}{}
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close ends the subscription and closes C.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.c)
	}
}

// Dropped reports how many events were lost because C was full.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Publish delivers e to every subscriber that has room for it.
func (b *Bus) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.c <- e:
		default:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
		}
	}
}
