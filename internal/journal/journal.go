// Package journal keeps the last N answered RPC calls in a ring, for the
// control plane's request log (GET /_emulator/requests, emutest, the
// dashboard).
package journal

import (
	"sync"

	"github.com/iot-emulator/iot-emulator/internal/pop"
)

// Entry is one answered call.
type Entry = pop.Record

// Filter selects entries; empty fields match everything.
type Filter struct {
	Action      string
	Code        string
	AccessKeyID string
}

func (f Filter) match(e *Entry) bool {
	return (f.Action == "" || f.Action == e.Action) &&
		(f.Code == "" || f.Code == e.Code) &&
		(f.AccessKeyID == "" || f.AccessKeyID == e.AccessKeyID)
}

// Journal keeps the last size entries. It is safe for concurrent use.
type Journal struct {
	mu    sync.Mutex
	size  int
	buf   []Entry
	start int // index of the oldest entry once the ring is full
}

// New returns a journal of size entries (0 keeps none).
func New(size int) *Journal { return &Journal{size: max(size, 0)} }

// Add appends an entry, dropping the oldest when full.
func (j *Journal) Add(e Entry) {
	if j.size == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.buf) < j.size {
		j.buf = append(j.buf, e)
		return
	}
	j.buf[j.start] = e
	j.start = (j.start + 1) % j.size
}

// List returns the matching entries, oldest first.
func (j *Journal) List(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []Entry{}
	for i := range j.buf {
		e := &j.buf[(j.start+i)%len(j.buf)]
		if f.match(e) {
			out = append(out, *e)
		}
	}
	return out
}

// Clear empties the journal and returns how many entries it held.
func (j *Journal) Clear() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.buf)
	j.buf, j.start = nil, 0
	return n
}
