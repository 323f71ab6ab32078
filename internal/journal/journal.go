// Package journal keeps the last N things the emulator was asked to do
// in a ring: answered RPC calls and device (MQTT) events, for the control
// plane's request log (GET /_emulator/requests, emutest, the dashboard).
package journal

import (
	"sync"
	"time"
)

// Protocols of entries.
const (
	RPC  = "rpc"
	MQTT = "mqtt"
)

// Entry is one answered RPC call or one device event.
type Entry struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestId"`
	// Protocol is "rpc" or "mqtt".
	Protocol string `json:"protocol"`
	// Action is the RPC action, or the device event (login, login refused,
	// disconnect, subscribe, publish, denied, kick).
	Action      string `json:"action"`
	AccessKeyID string `json:"accessKeyId"`
	// Params are the call's parameters with secrets replaced by "***", or
	// the event's details (clientId, productKey, deviceName, topic, …).
	Params map[string]string `json:"params"`
	// ParamsOmitted counts repeat-list elements left out of Params.
	ParamsOmitted int `json:"paramsOmitted,omitempty"`
	// Faults are the ids of the fault rules that fired on an RPC call.
	Faults []string `json:"faults,omitempty"`
	// Status is the HTTP status of an RPC answer, or the CONNACK code of a
	// login.
	Status int `json:"status"`
	// Code is the error code of the answer, or the reason of a refused or
	// ended device session.
	Code      string  `json:"code"`
	LatencyMs float64 `json:"latencyMs"`
}

// Filter selects entries; empty fields match everything.
type Filter struct {
	Action      string
	Code        string
	AccessKeyID string
	Protocol    string
}

func (f Filter) match(e *Entry) bool {
	return (f.Action == "" || f.Action == e.Action) &&
		(f.Code == "" || f.Code == e.Code) &&
		(f.AccessKeyID == "" || f.AccessKeyID == e.AccessKeyID) &&
		(f.Protocol == "" || f.Protocol == e.Protocol)
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
