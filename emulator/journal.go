package emulator

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// JournalEntry is one RPC request as the journal keeps it and
// GET /_emulator/requests shows it.
type JournalEntry struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"requestId"`
	Action      string    `json:"action"`
	AccessKeyID string    `json:"accessKeyId"`
	// Params are the query and form parameters, with Signature and secrets
	// replaced by "***". V3 signatures travel in a header and are never here.
	Params map[string]string `json:"params"`
	// ParamsOmitted counts repeat-list elements left out of Params once it
	// holds maxJournalParams entries, so a 10,000-name batch does not keep
	// 20,000 strings per entry.
	ParamsOmitted int     `json:"paramsOmitted,omitempty"`
	Status        int     `json:"status"`
	Code          string  `json:"code"`
	LatencyMs     float64 `json:"latencyMs"`
}

// JournalFilter selects journal entries; empty fields match everything.
type JournalFilter struct {
	Action      string
	Code        string
	AccessKeyID string
}

func (f JournalFilter) match(e *JournalEntry) bool {
	return (f.Action == "" || f.Action == e.Action) &&
		(f.Code == "" || f.Code == e.Code) &&
		(f.AccessKeyID == "" || f.AccessKeyID == e.AccessKeyID)
}

// maxJournalParams bounds the parameters kept per entry.
const maxJournalParams = 100

// redacted replaces the value of a secret parameter.
const redacted = "***"

func secretParam(k string) bool {
	switch k {
	case "Signature", "AccessKeySecret", "SecurityToken":
		return true
	}
	l := strings.ToLower(k)
	return strings.Contains(l, "secret") || strings.Contains(l, "password")
}

// journalParams copies the call's parameters, redacted and bounded: plain
// parameters first, then repeat-list elements (keys with a ".") in key order.
func journalParams(p map[string]string) (map[string]string, int) {
	out := make(map[string]string, min(len(p), maxJournalParams))
	var lists []string
	for k, v := range p {
		if strings.Contains(k, ".") {
			lists = append(lists, k)
			continue
		}
		if secretParam(k) {
			v = redacted
		}
		out[k] = v
	}
	omitted := 0
	if len(out)+len(lists) > maxJournalParams {
		sort.Strings(lists)
	}
	for _, k := range lists {
		if len(out) >= maxJournalParams {
			omitted++
			continue
		}
		v := p[k]
		if secretParam(k) {
			v = redacted
		}
		out[k] = v
	}
	return out, omitted
}

// journal keeps the last size requests in a ring.
type journal struct {
	mu    sync.Mutex
	size  int
	buf   []JournalEntry
	start int // index of the oldest entry once the ring is full
}

func newJournal(size int) *journal { return &journal{size: max(size, 0)} }

func (j *journal) add(e JournalEntry) {
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

// list returns the matching entries, oldest first.
func (j *journal) list(f JournalFilter) []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []JournalEntry{}
	for i := range j.buf {
		e := &j.buf[(j.start+i)%len(j.buf)]
		if f.match(e) {
			out = append(out, *e)
		}
	}
	return out
}

func (j *journal) clear() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.buf)
	j.buf, j.start = nil, 0
	return n
}

// record logs the request and adds it to the journal.
func (s *Server) record(c *Call, status int, e *Error) {
	code := ""
	if e != nil {
		code = e.Code
	}
	params, omitted := journalParams(c.Params)
	latency := float64(s.now().Sub(c.Received).Microseconds()) / 1000
	s.log.Info("request", "requestId", c.RequestID, "action", c.Action, "accessKeyId", c.AccessKeyID, "status", status, "code", code,
		"latencyMs", latency, "params", params)
	s.journal.add(JournalEntry{Time: c.Received.UTC(), RequestID: c.RequestID, Action: c.Action, AccessKeyID: c.AccessKeyID,
		Params: params, ParamsOmitted: omitted, Status: status, Code: code, LatencyMs: latency})
}

// Requests returns the journal's matching entries, oldest first.
func (s *Server) Requests(f JournalFilter) []JournalEntry { return s.journal.list(f) }

// ClearRequests empties the journal and returns how many entries it held.
func (s *Server) ClearRequests() int { return s.journal.clear() }
