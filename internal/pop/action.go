package pop

import "sort"

// Handler runs one admitted call. It returns the response body (the
// fields after RequestId and Success) or an error: an *Error is answered
// as it is; anything else is logged once with the request id and answered
// with the action's Internal error.
type Handler func(c *Call) (Object, error)

// Action declares one RPC action: its name, the parameters the gateway
// requires (answered with Missing{Param}), its documented per-account QPS
// limit, the error it answers when its handler fails unexpectedly, and
// the handler. The router, the throttle, --help, the README and the
// conformance tests all read one table of these.
type Action struct {
	Name     string
	Required []string
	QPS      float64
	// DeepQPS, when set, is the documented lower limit for deep pages
	// (CurrentPage × PageSize ≥ 100,000), counted in a bucket of its own.
	DeepQPS float64
	// Internal is the documented error of an unexpected failure (a store
	// error); nil is the gateway's InternalError.
	Internal *Error
	Handle   Handler
}

// Limit is one action's QPS limit in force, per account.
type Limit struct {
	Action string
	// QPS is requests per second; 0 means unlimited.
	QPS float64
	// DeepQPS is the limit for deep pages (CurrentPage × PageSize ≥
	// 100,000) where the action has one, else 0.
	DeepQPS float64
}

// Limits lists the per-account QPS limit of every action: the documented
// one, or the override, times scale (0 is 1), sorted by action. It is what
// the throttle enforces.
func Limits(actions []*Action, override map[string]float64, scale float64) []Limit {
	if scale == 0 {
		scale = 1
	}
	out := make([]Limit, 0, len(actions))
	for _, a := range actions {
		q := a.QPS
		if v, ok := override[a.Name]; ok {
			q = v
		}
		out = append(out, Limit{Action: a.Name, QPS: q * scale, DeepQPS: a.DeepQPS * scale})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Action < out[j].Action })
	return out
}
