package iot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// MaxShadowAttributes is the documented ceiling of reported attributes in
// one shadow (devices.md §8.7, error 408).
const MaxShadowAttributes = 128

// shadowNull is how a shadow request says "remove": the string "null", not
// JSON null (doc 53932).
const shadowNull = "null"

// Shadow is a device shadow document (devices.md §8.7). Empty maps are kept
// nil, so that a shadow survives Document and ParseShadowDocument as it
// was.
type Shadow struct {
	Reported map[string]any
	Desired  map[string]any
	// ReportedMeta/DesiredMeta hold the per-key update time in seconds.
	ReportedMeta map[string]int64
	DesiredMeta  map[string]int64
	Timestamp    int64 // seconds of the last change
	Version      int64
}

type shadowTime struct {
	Timestamp int64 `json:"timestamp"`
}

// shadowState is state and metadata alike: desired before reported does
// not matter, encoding/json sorts maps and the fields are written sorted.
type shadowState[V any] struct {
	Desired  map[string]V `json:"desired,omitempty"`
	Reported map[string]V `json:"reported,omitempty"`
}

type shadowDoc struct {
	State     shadowState[any]        `json:"state"`
	Metadata  shadowState[shadowTime] `json:"metadata"`
	Timestamp int64                   `json:"timestamp,omitempty"`
	Version   int64                   `json:"version"`
}

func metaOf(m map[string]int64) map[string]shadowTime {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]shadowTime, len(m))
	for k, t := range m {
		out[k] = shadowTime{t}
	}
	return out
}

func metaFrom(m map[string]shadowTime) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, t := range m {
		out[k] = t.Timestamp
	}
	return out
}

func nilIfEmpty[V any](m map[string]V) map[string]V {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (s Shadow) doc() shadowDoc {
	return shadowDoc{
		State:     shadowState[any]{Desired: nilIfEmpty(s.Desired), Reported: nilIfEmpty(s.Reported)},
		Metadata:  shadowState[shadowTime]{Desired: metaOf(s.DesiredMeta), Reported: metaOf(s.ReportedMeta)},
		Timestamp: s.Timestamp,
		Version:   s.Version,
	}
}

// Document is the stored/returned JSON:
// {"metadata":{"desired":{…},"reported":{"k":{"timestamp":s}}},"state":{"desired":{…},"reported":{…}},"timestamp":s,"version":n};
// desired and reported appear only when they hold something, timestamp
// only when set, so an empty shadow is {"metadata":{},"state":{},"version":0}.
// Deterministic (sorted keys).
func (s Shadow) Document() []byte {
	return marshalSorted(s.doc())
}

// marshalSorted writes v through a generic map, so that every key,
// including struct fields, comes out sorted, and without HTML escaping.
func marshalSorted(v any) []byte {
	b := marshalPlain(v)
	var generic any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&generic) != nil {
		return b
	}
	return marshalPlain(generic)
}

// ParseShadowDocument reads what Document wrote (round-trip identity).
func ParseShadowDocument(data []byte) (Shadow, error) {
	var d shadowDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return Shadow{}, fmt.Errorf("shadow document: %w", err)
	}
	return Shadow{
		Reported:     nilIfEmpty(d.State.Reported),
		Desired:      nilIfEmpty(d.State.Desired),
		ReportedMeta: metaFrom(d.Metadata.Reported),
		DesiredMeta:  metaFrom(d.Metadata.Desired),
		Timestamp:    d.Timestamp,
		Version:      d.Version,
	}, nil
}

// ShadowError is a refused shadow request with the codes of devices.md §8.7
// (400 invalid JSON, 401 method missing, 402 state missing, 403 invalid
// version, 404 reported missing, 405 reported empty, 406 invalid method,
// 407 empty JSON, 408 more than 128 attributes, 409 version conflict).
type ShadowError struct {
	Code    int
	Message string
}

// Error is the code and message, as the reply's content carries both.
func (e *ShadowError) Error() string { return strconv.Itoa(e.Code) + " " + e.Message }

// The refusals, with the messages the platform sends.
var (
	errShadowJSON     = &ShadowError{400, "Invalid JSON."}
	errShadowMethod   = &ShadowError{401, "Method missing."}
	errShadowState    = &ShadowError{402, "State missing."}
	errShadowVersion  = &ShadowError{403, "Invalid version."}
	errShadowReported = &ShadowError{404, "Reported missing."}
	errShadowEmpty    = &ShadowError{405, "Reported empty."}
	errShadowBadVerb  = &ShadowError{406, "Invalid method."}
	errShadowNoJSON   = &ShadowError{407, "Empty JSON."}
	errShadowTooMany  = &ShadowError{408, "Too many attributes."}
	errShadowConflict = &ShadowError{409, "Version conflict."}
)

// ShadowRequest is a parsed /shadow/update message: method update, get or
// delete ("control" and "reply" are the cloud's own and invalid from
// clients → 406).
type ShadowRequest struct {
	Method string
	// Reported is nil when absent; for delete it holds the keys to remove.
	// The string "null" as a key's value means delete that key.
	Reported     map[string]any
	ReportedNull bool // "reported":"null" (delete all / clear)
	Desired      map[string]any
	DesiredNull  bool // "desired":"null": the device clears desired after acting
	Version      int64
	HasVersion   bool
}

// ParseShadowRequest reads a /shadow/update message; bad input is a
// *ShadowError. A missing version is allowed (HasVersion false) and skips
// the version check, as UpdateDeviceShadow with version 0 does.
func ParseShadowRequest(data []byte) (ShadowRequest, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return ShadowRequest{}, errShadowNoJSON
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(trimmed, &top) != nil || top == nil {
		return ShadowRequest{}, errShadowJSON
	}
	if len(top) == 0 {
		return ShadowRequest{}, errShadowNoJSON
	}
	var req ShadowRequest
	rawMethod, ok := top["method"]
	if !ok || isNull(rawMethod) {
		return ShadowRequest{}, errShadowMethod
	}
	if json.Unmarshal(rawMethod, &req.Method) != nil {
		return ShadowRequest{}, errShadowBadVerb
	}
	switch req.Method {
	case "":
		return ShadowRequest{}, errShadowMethod
	case "get":
		return req, nil
	case "update", "delete":
	default:
		return ShadowRequest{}, errShadowBadVerb
	}
	if raw, ok := top["version"]; ok && !isNull(raw) {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil || !isIntegerText(string(n)) {
			return ShadowRequest{}, errShadowVersion
		}
		v, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v < -1 {
			return ShadowRequest{}, errShadowVersion
		}
		req.Version, req.HasVersion = v, true
	}
	rawState, ok := top["state"]
	if !ok || isNull(rawState) {
		return ShadowRequest{}, errShadowState
	}
	var state map[string]json.RawMessage
	if json.Unmarshal(rawState, &state) != nil || state == nil {
		return ShadowRequest{}, errShadowState
	}
	var err error
	var hasReported, hasDesired bool
	if req.Reported, req.ReportedNull, hasReported, err = shadowPart(state, "reported"); err != nil {
		return ShadowRequest{}, err
	}
	if req.Desired, req.DesiredNull, hasDesired, err = shadowPart(state, "desired"); err != nil {
		return ShadowRequest{}, err
	}
	if !hasReported && !hasDesired {
		return ShadowRequest{}, errShadowReported
	}
	// An empty object is refused whichever part it is, since it asks for
	// nothing; the platform names it after reported, its main part.
	if (hasReported && !req.ReportedNull && len(req.Reported) == 0) ||
		(hasDesired && !req.DesiredNull && len(req.Desired) == 0 && !hasReported) {
		return ShadowRequest{}, errShadowEmpty
	}
	return req, nil
}

// shadowPart reads state.reported or state.desired: an object, or the
// string "null".
func shadowPart(state map[string]json.RawMessage, key string) (m map[string]any, null, present bool, err error) {
	raw, ok := state[key]
	if !ok || isNull(raw) {
		return nil, false, false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == shadowNull {
			return nil, true, true, nil
		}
		return nil, false, false, errShadowJSON
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&m) != nil || m == nil {
		return nil, false, false, errShadowJSON
	}
	return m, false, true, nil
}

// Apply applies an update or delete at now (seconds). Versions: an update
// with version > current is applied and the version becomes the request's;
// version -1 resets the version to 0 (and applies); otherwise 409 "Version
// conflict."; checkVersion=false (UpdateDeviceShadow with version 0) or a
// request without version skips the check and bumps the version by 1.
// Update: keys whose value is the string "null" are removed,
// "desired":"null" clears desired (and "reported":"null" reported), nested
// objects merge key by key and arrays are replaced whole; more than 128
// reported attributes → 408. Delete removes the listed keys (or all
// reported with "reported":"null", all desired with "desired":"null").
// It returns the new shadow and whether desired gained or changed a value:
// only then the caller pushes a "control" message, since a device clearing
// desired after acting must not get its own clearing pushed back. A get
// returns s unchanged. s itself is never modified.
func (s Shadow) Apply(req ShadowRequest, now int64, checkVersion bool) (Shadow, bool, error) {
	switch req.Method {
	case "get":
		return s, false, nil
	case "update", "delete":
	default:
		return s, false, errShadowBadVerb
	}
	version := s.Version + 1
	switch {
	case req.HasVersion && req.Version == -1:
		version = 0
	case !checkVersion || !req.HasVersion:
	case req.Version > s.Version:
		version = req.Version
	default:
		return s, false, errShadowConflict
	}
	out := Shadow{
		Reported:     cloneMap(s.Reported),
		Desired:      cloneMap(s.Desired),
		ReportedMeta: cloneMeta(s.ReportedMeta),
		DesiredMeta:  cloneMeta(s.DesiredMeta),
		Timestamp:    now,
		Version:      version,
	}
	desiredSet := false
	if req.Method == "delete" {
		if req.ReportedNull {
			out.Reported, out.ReportedMeta = nil, nil
		}
		for k := range req.Reported {
			delete(out.Reported, k)
			delete(out.ReportedMeta, k)
		}
		if req.DesiredNull {
			out.Desired, out.DesiredMeta = nil, nil
		}
		for k := range req.Desired {
			delete(out.Desired, k)
			delete(out.DesiredMeta, k)
		}
	} else {
		if req.ReportedNull {
			out.Reported, out.ReportedMeta = nil, nil
		}
		out.Reported, out.ReportedMeta, _ = mergePart(out.Reported, out.ReportedMeta, req.Reported, now)
		if req.DesiredNull {
			out.Desired, out.DesiredMeta = nil, nil
		}
		out.Desired, out.DesiredMeta, desiredSet = mergePart(out.Desired, out.DesiredMeta, req.Desired, now)
	}
	if len(out.Reported) > MaxShadowAttributes {
		return s, false, errShadowTooMany
	}
	out.Reported, out.ReportedMeta = nilIfEmpty(out.Reported), nilIfEmpty(out.ReportedMeta)
	out.Desired, out.DesiredMeta = nilIfEmpty(out.Desired), nilIfEmpty(out.DesiredMeta)
	return out, desiredSet, nil
}

// mergePart merges an update into one part; set reports whether a value
// was written (not only removed).
func mergePart(cur map[string]any, meta map[string]int64, upd map[string]any, now int64) (map[string]any, map[string]int64, bool) {
	set := false
	for k, v := range upd {
		if v == shadowNull {
			delete(cur, k)
			delete(meta, k)
			continue
		}
		if cur == nil {
			cur = map[string]any{}
		}
		if meta == nil {
			meta = map[string]int64{}
		}
		cur[k] = mergeValue(cur[k], v)
		meta[k] = now
		set = true
	}
	return cur, meta, set
}

// mergeValue merges objects key by key ("null" removes a nested key) and
// replaces everything else, arrays included, whole (doc 53932).
func mergeValue(old, upd any) any {
	uo, ok := upd.(map[string]any)
	if !ok {
		return cloneValue(upd)
	}
	oo, ok := old.(map[string]any)
	if !ok {
		oo = map[string]any{}
	}
	out := cloneMap(oo)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range uo {
		if v == shadowNull {
			delete(out, k)
			continue
		}
		out[k] = mergeValue(out[k], v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneMeta(m map[string]int64) map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ShadowReplySuccess is the /shadow/get reply to an accepted update or
// delete: {"method":"reply","payload":{"status":"success","version":v},"timestamp":now}.
func ShadowReplySuccess(version, now int64) []byte {
	return marshalSorted(map[string]any{
		"method":    "reply",
		"payload":   map[string]any{"status": "success", "version": version},
		"timestamp": now,
	})
}

// ShadowReplyError is the /shadow/get reply to a refused request:
// {"method":"reply","payload":{"status":"error","content":{"errorcode":"409","errormessage":"Version conflict."}},"timestamp":now}.
// The code is a string there, as in the platform's captures.
func ShadowReplyError(err *ShadowError, now int64) []byte {
	code, msg := 500, "Server exception."
	if err != nil {
		code, msg = err.Code, err.Message
	}
	return marshalSorted(map[string]any{
		"method": "reply",
		"payload": map[string]any{"status": "error", "content": map[string]any{
			"errorcode": strconv.Itoa(code), "errormessage": msg}},
		"timestamp": now,
	})
}

// ShadowGetReply is the answer to {"method":"get"}:
// {"method":"reply","payload":{"status":"success","state":{…},"metadata":{…}},"version":n,"timestamp":now}.
func ShadowGetReply(s Shadow, now int64) []byte { return shadowPush("reply", s, now) }

// ShadowControl is what the cloud pushes when desired changed: the get
// reply with "method":"control".
func ShadowControl(s Shadow, now int64) []byte { return shadowPush("control", s, now) }

func shadowPush(method string, s Shadow, now int64) []byte {
	d := s.doc()
	return marshalSorted(map[string]any{
		"method":    method,
		"payload":   map[string]any{"status": "success", "state": d.State, "metadata": d.Metadata},
		"version":   s.Version,
		"timestamp": now,
	})
}
