package pop

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/signature"
)

// Bounds on what one request may carry. A 10,000-name batch with nicknames
// is ~20,013 parameters and up to ~4 MB of URL (Tea sends everything in the
// query), so these leave room for that and refuse anything far beyond it.
const (
	MaxParams    = 50_000
	MaxBodyBytes = 16 << 20
	// MaxHeaderBytes bounds the request line plus headers.
	MaxHeaderBytes = 8 << 20
)

// Call is one decoded RPC request as it moves through the gateway checks
// to its handler.
type Call struct {
	// ctx is the request's context: work for a client that has gone away
	// stops instead of holding the store's one connection.
	ctx context.Context
	// RequestID is the x-acs-request-id of the answer, also in its body.
	RequestID string
	Received  time.Time
	Method    string
	Host      string
	// Action and Version come from the parameters (V1) or the x-acs-action
	// and x-acs-version headers (V3).
	Action  string
	Version string
	// Format is "JSON" or "XML", the format of the answer.
	Format string
	// V3 is true for ACS3-HMAC-SHA256 requests.
	V3 bool
	// Params merges the query string and the form body (the body wins).
	Params map[string]string
	// Query holds the query string parameters alone (V3 signs only these).
	Query map[string][]string
	Body  []byte
	// Header is the request's headers.
	Header http.Header
	// AccessKeyID is who the request claims to be; Principal is what the
	// product's Credentials said of it, filled once the gateway has
	// admitted the call.
	AccessKeyID string
	Principal   any
	// InstanceID is the IotInstanceId parameter ("" is the public instance).
	InstanceID string
	auth       signature.Authorization
	// Faults are the ids of the fault rules that fired on the call.
	Faults []string
	// throttled says why the throttle refused the call.
	throttled *throttle
}

// Context is the request's context: work for a client that has gone away
// stops.
func (c *Call) Context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// decode reads an RPC request into a Call. Errors are gateway errors; the
// call's Format is settled even when decoding fails, so the error goes out
// in the format the client asked for.
func decode(r *http.Request, c *Call) *Error {
	c.Method = r.Method
	c.Host = r.Host
	c.Header = r.Header
	c.Params = make(map[string]string, 16)
	c.Query = make(map[string][]string, 16)
	c.V3 = strings.HasPrefix(r.Header.Get("Authorization"), "ACS3-")
	var first *Error
	keep := func(e *Error) {
		if first == nil {
			first = e
		}
	}
	budget := MaxParams
	// First values share one backing array, capped to one element each so
	// a repeat copies out: one allocation for a call's parameters, not one
	// per parameter.
	var arena []string
	keep(parseForm(r.URL.RawQuery, func(k, v string) {
		if old, ok := c.Query[k]; ok {
			c.Query[k] = append(old, v)
		} else {
			if len(arena) == cap(arena) {
				arena = make([]string, 0, 16)
			}
			arena = append(arena, v)
			c.Query[k] = arena[len(arena)-1 : len(arena) : len(arena)]
		}
		if _, ok := c.Params[k]; !ok {
			c.Params[k] = v
		}
	}, &budget))
	// Chunked bodies (the TS Tea client) arrive here de-chunked.
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	switch {
	case err != nil:
		keep(ErrInvalidParam.WithMessage("The request body could not be read: %v", err))
	case len(body) > MaxBodyBytes:
		keep(ErrRequestTooLarge.WithMessage("The request body is larger than %d bytes.", MaxBodyBytes))
	default:
		c.Body = body
		// Go SDK v1 sends a form body even on GET, and signs it: read a
		// form body whatever the method.
		ct := strings.ToLower(r.Header.Get("Content-Type"))
		if len(body) > 0 && (ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded")) {
			keep(parseForm(string(body), func(k, v string) { c.Params[k] = v }, &budget))
		}
	}
	if c.V3 {
		c.Format = "JSON"
		c.Action = r.Header.Get("x-acs-action")
		c.Version = r.Header.Get("x-acs-version")
		return first
	}
	c.Action = c.Params["Action"]
	c.Version = c.Params["Version"]
	switch f := strings.ToUpper(c.Params["Format"]); f {
	case "JSON", "XML":
		c.Format = f
	case "":
		c.Format = "XML" // documented default
	default:
		c.Format = "XML"
		keep(ErrInvalidFormat)
	}
	return first
}

// parseForm decodes application/x-www-form-urlencoded text ('+' is a
// space) with our own bound, instead of net/url's, whose default of 10,000
// pairs is below a full batch. A badly encoded pair is skipped and
// reported, and the rest is still read, so that Format is known for the
// error answer.
func parseForm(s string, put func(k, v string), budget *int) *Error {
	var first *Error
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		*budget--
		if *budget < 0 {
			return ErrRequestTooLarge.WithMessage("The request carries more than %d parameters.", MaxParams)
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			if first == nil {
				if len(k) > 64 {
					k = k[:64] + "…"
				}
				first = ErrInvalidParam.WithMessage("Specified parameter %q is not valid URL encoding.", k)
			}
			continue
		}
		put(key, val)
	}
	return first
}

// List returns the values of a repeat list Name.N, ordered by numeric
// index; gaps are tolerated (SDK v1 drops empty elements without
// renumbering).
func (c *Call) List(name string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	prefix := name + "."
	for k, v := range c.Params {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			items = append(items, item{n, v})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// ObjectList returns the elements of a repeat list of objects
// Name.N.Field, ordered by numeric index, each as Field → value.
func (c *Call) ObjectList(name string) []map[string]string {
	byIndex := map[int]map[string]string{}
	prefix := name + "."
	for k, v := range c.Params {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(idx)
		if err != nil || n <= 0 {
			continue
		}
		if byIndex[n] == nil {
			byIndex[n] = map[string]string{}
		}
		byIndex[n][field] = v
	}
	keys := make([]int, 0, len(byIndex))
	for n := range byIndex {
		keys = append(keys, n)
	}
	sort.Ints(keys)
	out := make([]map[string]string, len(keys))
	for i, n := range keys {
		out[i] = byIndex[n]
	}
	return out
}

// signedParams is the V1 parameter set: the merged parameters, one value each.
func (c *Call) signedParams() map[string][]string {
	m := make(map[string][]string, len(c.Params))
	values := make([]string, 0, len(c.Params))
	for k, v := range c.Params {
		values = append(values, v)
		m[k] = values[len(values)-1 : len(values) : len(values)]
	}
	return m
}
