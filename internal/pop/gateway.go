// Package pop is the RPC gateway of Alibaba Cloud's POP OpenAPI: it
// decodes a call (query and form, repeat lists), runs the gateway checks
// (common parameters, V1 and ACS3 signatures through package signature,
// freshness, nonce, throttling, an interception hook for fault injection),
// hands the admitted call to its action's handler and renders the one
// response value as JSON or XML in the documented envelopes. It knows
// nothing of any product's resources: the product supplies the action
// table and how to find an AccessKey's secret.
package pop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/iot-emulator/iot-emulator/signature"
)

// Credential is what the product knows of an AccessKeyId.
type Credential struct {
	Secret string
	// SecurityToken, when set, is the STS token the key's calls must carry.
	SecurityToken string
	// Principal is handed to the handler as Call.Principal (the product's
	// own idea of the caller, e.g. its account).
	Principal any
}

// Credentials finds an AccessKeyId's credential. It returns an error that
// is ErrAccessKeyNotFound for a key it does not know; any other error is
// logged and answered InternalError.
type Credentials func(ctx context.Context, accessKeyID string) (Credential, error)

// Record is one answered call, as the gateway logs it and hands it to
// Config.Observe (the request journal keeps these).
type Record struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"requestId"`
	Action      string    `json:"action"`
	AccessKeyID string    `json:"accessKeyId"`
	// Params are the query and form parameters, with Signature and secrets
	// replaced by "***". V3 signatures travel in a header and are never here.
	Params map[string]string `json:"params"`
	// ParamsOmitted counts repeat-list elements left out of Params once it
	// holds MaxRecordParams entries, so a 10,000-name batch does not keep
	// 20,000 strings per record.
	ParamsOmitted int `json:"paramsOmitted,omitempty"`
	// Faults are the ids of the fault rules that fired on the call.
	Faults    []string `json:"faults,omitempty"`
	Status    int      `json:"status"`
	Code      string   `json:"code"`
	LatencyMs float64  `json:"latencyMs"`
}

// Config is what a gateway serves and how strictly.
type Config struct {
	// Product and Version name the API ("Iot", "2018-01-20"): Product
	// appears in the Recommend link and, lower-cased, in RAM actions.
	Product, Version string
	// DefaultHost is the HostId of an answer to a request without Host.
	DefaultHost string
	Actions     []*Action
	Credentials Credentials
	// Unserved, when set, gives the message for an action not in Actions
	// ("" keeps the gateway's own), so that a real action the product does
	// not serve is told apart from a typo.
	Unserved func(action string) string
	// VerifySignatures checks V1/ACS3 signatures and STS tokens and
	// requires every common parameter (strict auth); off, only what tells
	// callers apart is required.
	VerifySignatures bool
	// Throttle enables the per-account, per-action QPS limits; QPS
	// overrides single actions' limits, QPSScale multiplies them all.
	Throttle bool
	QPS      map[string]float64
	QPSScale float64
	// ThrottleStatus is the HTTP status of Throttling.User (400, or 429).
	ThrottleStatus int
	// BusinessErrorStatus is the HTTP status of Success=false answers (200).
	BusinessErrorStatus int
	// TimestampWindow is how far Timestamp/x-acs-date may be from now.
	TimestampWindow time.Duration
	// Intercept, when set, runs after the checks and before the handler; an
	// error it returns is the answer (fault injection).
	Intercept func(ctx context.Context, c *Call) error
	// Observe, when set, receives every answered call.
	Observe func(Record)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Gateway serves one product's RPC API at "/".
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	actions map[string]*Action
	nonces  *nonceCache
	limits  *limiter
}

// New builds a gateway; zero values take the documented defaults.
func New(cfg Config) *Gateway {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ThrottleStatus == 0 {
		cfg.ThrottleStatus = http.StatusBadRequest
	}
	if cfg.BusinessErrorStatus == 0 {
		cfg.BusinessErrorStatus = http.StatusOK
	}
	if cfg.TimestampWindow == 0 {
		cfg.TimestampWindow = 15 * time.Minute
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, now: cfg.Now, actions: make(map[string]*Action, len(cfg.Actions))}
	for _, a := range cfg.Actions {
		g.actions[a.Name] = a
	}
	g.nonces = newNonceCache(cfg.TimestampWindow)
	g.limits = newLimiter(cfg.Throttle, Limits(cfg.Actions, cfg.QPS, cfg.QPSScale))
	return g
}

// Reset forgets every nonce and refills every throttle bucket.
func (g *Gateway) Reset() {
	g.nonces.reset()
	g.limits.reset()
}

// NewRequestID returns a request id shaped like the real ones.
func NewRequestID() string { return strings.ToUpper(uuid.NewString()) }

// ServeHTTP is the whole life of one RPC call.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &Call{ctx: r.Context(), RequestID: NewRequestID(), Received: g.now(), Format: "XML"}
	body, e := g.handle(r, c)
	status := g.write(w, c, body, e)
	g.record(c, status, e)
}

// handle decodes and admits the call and runs its handler. A panic
// anywhere below it is answered InternalError in the call's format (XML
// until the call says otherwise) and logged with its stack; nothing was
// written yet, so the answer is whole.
func (g *Gateway) handle(r *http.Request, c *Call) (body Object, e *Error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			g.log.Error("panic", "requestId", c.RequestID, "action", c.Action, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			body, e = nil, ErrInternal
		}
	}()
	if e := decode(r, c); e != nil {
		return nil, e
	}
	// A Domain with a trailing slash makes SDKs ask for "//": that is "/".
	if strings.Trim(r.URL.Path, "/") != "" {
		g.log.Info("RPC call on a path other than /", "requestId", c.RequestID, "path", r.URL.Path)
		return nil, ErrActionNotFound.WithMessage("%s The RPC API is served at /, not at %s.", ErrActionNotFound.Message, r.URL.Path)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, ErrUnsupportedMethod
	}
	a, e := g.admit(c)
	if e != nil {
		return nil, e
	}
	if g.cfg.Intercept != nil {
		if err := g.cfg.Intercept(r.Context(), c); err != nil {
			return nil, g.wireError(c, a, err)
		}
	}
	body, err := a.Handle(c)
	if err != nil {
		return nil, g.wireError(c, a, err)
	}
	return body, nil
}

// wireError is the answer to a handler's error: a wire error as it is,
// anything else logged once and answered with the action's Internal error.
func (g *Gateway) wireError(c *Call, a *Action, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if c.Context().Err() != nil {
		// The client went away; its work stopped, and nobody reads the answer.
		g.log.Info("client left", "requestId", c.RequestID, "action", c.Action, "err", err)
		return ErrServiceUnavailable
	}
	g.log.Error("action failed", "requestId", c.RequestID, "action", c.Action, "accessKeyId", c.AccessKeyID, "err", err)
	if a.Internal != nil {
		return a.Internal
	}
	return ErrInternal
}

// credential asks the product for the caller's credential.
func (g *Gateway) credential(c *Call) (Credential, *Error) {
	cred, err := g.cfg.Credentials(c.Context(), c.AccessKeyID)
	if err == nil {
		c.Principal = cred.Principal
		return cred, nil
	}
	if errors.Is(err, ErrAccessKeyNotFound) {
		return cred, ErrAccessKeyNotFound
	}
	g.log.Error("credentials", "requestId", c.RequestID, "accessKeyId", c.AccessKeyID, "err", err)
	return cred, ErrInternal
}

// write renders the answer in the call's format and returns the status.
func (g *Gateway) write(w http.ResponseWriter, c *Call, body Object, e *Error) int {
	status := http.StatusOK
	var out Object
	root := c.Action + "Response"
	switch {
	case e != nil && e.Gateway:
		status = e.Status
		if e.Code == ErrThrottlingUser.Code {
			if e.Status == ErrThrottlingUser.Status { // a fault rule's own httpStatus wins
				status = g.cfg.ThrottleStatus
			}
			t := c.throttled
			if t == nil { // injected by a fault rule: hint a one-second wait
				t = &throttle{limit: g.limits.limitFor(c.Action), wait: time.Second, full: time.Second}
			}
			w.Header().Set("x-ratelimit-user-api", t.header())
		}
		host := c.Host
		if host == "" {
			host = g.cfg.DefaultHost
		}
		out = Object{
			{"RequestId", c.RequestID},
			{"HostId", host},
			{"Code", e.Code},
			{"Message", e.Message},
			{"Recommend", "https://api.aliyun.com/troubleshoot?q=" + e.Code + "&product=" + g.cfg.Product + "&requestId=" + c.RequestID},
		}
		if e.Status == http.StatusForbidden {
			// RAM denials carry the detail SDK v1 and Tea read (docs/fidelity.md, errors §1).
			out = append(out, Field{"AccessDeniedDetail", Object{
				{"AuthAction", strings.ToLower(g.cfg.Product) + ":" + c.Action},
				{"AuthPrincipalType", "SubUser"},
				{"AuthPrincipalDisplayName", c.AccessKeyID},
				{"NoPermissionType", "ImplicitDeny"},
				{"PolicyType", "AccountLevelIdentityBasedPolicy"},
				{"EncodedDiagnosticMessage", ""},
			}})
		}
		root = "Error"
	case e != nil:
		status = g.cfg.BusinessErrorStatus
		if e.Status != http.StatusOK {
			status = e.Status
		}
		out = Object{{"RequestId", c.RequestID}, {"Success", false}, {"Code", e.Code}, {"ErrorMessage", e.Message}}
		if e.Data != nil {
			out = append(out, Field{"Data", e.Data})
		}
	default:
		out = append(Object{{"RequestId", c.RequestID}, {"Success", true}}, body...)
	}
	if c.Action == "" && root != "Error" {
		root = "Response"
	}
	buf := answerBufs.Get().(*[]byte)
	defer putAnswerBuf(buf)
	data := (*buf)[:0]
	if c.Format == "JSON" {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		data = AppendJSON(data, out)
	} else {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		data = AppendXML(data, root, out)
	}
	*buf = data
	w.Header().Set("x-acs-request-id", c.RequestID)
	// Without a length net/http chunks any body past 2 KB (a page of
	// devices): more bytes, and more work on both ends.
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
	return status
}

// answerBufs holds the buffers answers are encoded into: a page of 50
// devices is 8 KB, and growing a fresh buffer to it on every call cost as
// much as the encoding (four fifths of it in allocation and collection).
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// putAnswerBuf returns a buffer once net/http has copied the answer out;
// an unusually large one is left to the collector.
func putAnswerBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		answerBufs.Put(b)
	}
}

// record logs the answered call and hands it to Observe.
func (g *Gateway) record(c *Call, status int, e *Error) {
	code := ""
	if e != nil {
		code = e.Code
	}
	params, omitted := RedactParams(c.Params)
	latency := float64(g.now().Sub(c.Received).Microseconds()) / 1000
	g.log.Info("request", "requestId", c.RequestID, "action", c.Action, "accessKeyId", c.AccessKeyID, "status", status, "code", code,
		"latencyMs", latency, "params", params)
	if g.cfg.Observe != nil {
		g.cfg.Observe(Record{Time: c.Received.UTC(), RequestID: c.RequestID, Action: c.Action, AccessKeyID: c.AccessKeyID,
			Params: params, ParamsOmitted: omitted, Faults: c.Faults, Status: status, Code: code, LatencyMs: latency})
	}
}

// timestampLayout is the only form the gateway accepts (UTC, no fraction).
const timestampLayout = "2006-01-02T15:04:05Z"

// v3Headers are the headers every ACS3 request must carry and sign, with
// the V1 parameter each stands for: a missing one is answered as that
// parameter's Missing{Param}, so a V3 caller sees the same codes as a V1
// caller. x-acs-content-sha256 has no V1 twin; without it the signature
// cannot be checked at all, so its absence is IncompleteSignature.
var v3Headers = []struct{ header, param string }{
	{"x-acs-action", "Action"},
	{"x-acs-version", "Version"},
	{"x-acs-date", "Timestamp"},
	{"x-acs-signature-nonce", "SignatureNonce"},
	{"x-acs-content-sha256", ""},
}

// credentials is what a request claims about its sender, read from the V1
// common parameters or the V3 headers.
type credentials struct {
	timestamp, nonce string
	// hasTimestamp and hasNonce are false only in loose mode, where the
	// two may be left out.
	hasTimestamp, hasNonce bool
}

// admit runs the gateway checks in the order of docs/fidelity.md, protocol §7: required
// common parameters → action → AccessKeyId → timestamp → signature (and
// STS token) → nonce → throttling → the action's required parameters.
// Nothing before the handler changes state, except what the product's
// Credentials do (loose auth may create the caller's account on first use).
func (g *Gateway) admit(c *Call) (*Action, *Error) {
	cred, e := g.commonParams(c)
	if e != nil {
		return nil, e
	}
	a, ok := g.actions[c.Action]
	if !ok {
		if g.cfg.Unserved != nil {
			if msg := g.cfg.Unserved(c.Action); msg != "" {
				g.log.Info("unserved action", "requestId", c.RequestID, "action", c.Action)
				return nil, ErrActionNotFound.WithMessage("%s", msg)
			}
		}
		return nil, ErrActionNotFound
	}
	if c.Version != g.cfg.Version {
		// Lenient on purpose: an SDK upgrade must not break a test suite.
		g.log.Info("unexpected API version accepted", "version", c.Version, "action", c.Action)
	}
	secret, e := g.credential(c)
	if e != nil {
		return nil, e
	}
	if cred.hasTimestamp {
		// time.Parse also takes fractional seconds the layout does not
		// name; the gateway wants exactly yyyy-MM-ddTHH:mm:ssZ.
		t, err := time.Parse(timestampLayout, cred.timestamp)
		if err != nil || len(cred.timestamp) != len(timestampLayout) {
			g.log.Debug("refused: timestamp format", "requestId", c.RequestID, "timestamp", cred.timestamp, "want", "yyyy-MM-ddTHH:mm:ssZ (UTC)")
			return nil, ErrTimestampFormat
		}
		if d := g.now().Sub(t); d > g.cfg.TimestampWindow || d < -g.cfg.TimestampWindow {
			g.log.Debug("refused: timestamp outside the window", "requestId", c.RequestID, "timestamp", cred.timestamp,
				"serverTime", g.now().UTC().Format(timestampLayout), "skew", d.String(), "window", g.cfg.TimestampWindow.String())
			return nil, ErrTimestampExpired
		}
	}
	if g.cfg.VerifySignatures {
		if e, why := verify(c, secret); e != nil {
			// At debug, enough to fix a client's signing bug from here: what
			// the server signed, and what the client sent.
			g.log.Debug("refused: "+e.Code, append([]any{"requestId", c.RequestID, "accessKeyId", c.AccessKeyID}, why...)...)
			return nil, e
		}
	}
	if cred.hasNonce && !g.nonces.add(c.AccessKeyID, cred.nonce, g.now()) {
		g.log.Debug("refused: nonce seen before", "requestId", c.RequestID, "accessKeyId", c.AccessKeyID, "nonce", cred.nonce,
			"remembered", (2 * g.cfg.TimestampWindow).String())
		return nil, ErrNonceUsed
	}
	if t := g.limits.take(c, g.now()); t != nil {
		c.throttled = t
		return nil, ErrThrottlingUser
	}
	for _, p := range a.Required {
		if c.Params[p] == "" {
			return nil, Missing(p)
		}
	}
	c.InstanceID = c.Params["IotInstanceId"]
	return a, nil
}

// commonParams checks that the common parameters (V1) or headers (V3) are
// there and well formed, and fills c.AccessKeyID.
//
// Loose mode needs only enough to tell callers apart: V1 Action, Version
// and AccessKeyId, or a parsable V3 Authorization header with the action
// and version headers. Timestamp and nonce are still checked when sent, so
// an SDK meets the same freshness and replay rules in both modes.
func (g *Gateway) commonParams(c *Call) (credentials, *Error) {
	strict := g.cfg.VerifySignatures
	var cred credentials
	if c.V3 {
		auth, err := signature.ParseAuthorization(c.Header.Get("Authorization"))
		if err != nil {
			return cred, ErrIncompleteSignature
		}
		c.auth = auth
		c.AccessKeyID = auth.AccessKeyID
		for _, h := range v3Headers {
			if c.Header.Get(h.header) != "" {
				continue
			}
			switch {
			case h.param == "":
				if strict {
					return cred, ErrIncompleteSignature.WithMessage("%s The header %s is missing.", ErrIncompleteSignature.Message, h.header)
				}
			case h.param == "Action" || h.param == "Version" || strict:
				return cred, missingHeader(h.param, h.header)
			}
		}
		if strict {
			if e := checkSignedHeaders(c); e != nil {
				return cred, e
			}
		}
		cred.timestamp, cred.hasTimestamp = headerValue(c, "x-acs-date")
		cred.nonce, cred.hasNonce = headerValue(c, "x-acs-signature-nonce")
		return cred, nil
	}
	// Every V1 common parameter is required in strict mode, SignatureMethod
	// and SignatureVersion too (docs/fidelity.md, protocol §3.1): without
	// them a call was accepted and acted.
	for _, p := range []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "SignatureMethod", "SignatureVersion"} {
		if _, ok := c.Params[p]; ok {
			continue
		}
		switch p {
		case "Action", "Version", "AccessKeyId":
			return cred, Missing(p)
		}
		if strict {
			return cred, Missing(p)
		}
	}
	if m, ok := c.Params["SignatureMethod"]; ok && m != "HMAC-SHA1" {
		return cred, ErrSignatureMethod
	}
	if v, ok := c.Params["SignatureVersion"]; ok && v != "1.0" {
		return cred, Invalid("SignatureVersion")
	}
	c.AccessKeyID = c.Params["AccessKeyId"]
	cred.timestamp, cred.hasTimestamp = c.Params["Timestamp"]
	cred.nonce, cred.hasNonce = c.Params["SignatureNonce"]
	return cred, nil
}

func headerValue(c *Call, name string) (string, bool) {
	v := c.Header.Get(name)
	return v, v != ""
}

// checkSignedHeaders enforces what makes a V3 signature meaningful: host
// and the action, version, date, nonce and payload hash headers must be
// among the SignedHeaders (otherwise they could be changed in flight), and
// every header named there must have been sent.
func checkSignedHeaders(c *Call) *Error {
	signed := map[string]bool{}
	for _, h := range c.auth.SignedHeaders {
		signed[h] = true
		if h == "host" {
			if c.Host == "" {
				return ErrIncompleteSignature.WithMessage("%s The signed header host is missing.", ErrIncompleteSignature.Message)
			}
			continue
		}
		if _, ok := c.Header[http.CanonicalHeaderKey(h)]; !ok {
			return ErrIncompleteSignature.WithMessage("%s The signed header %s is missing.", ErrIncompleteSignature.Message, h)
		}
	}
	for _, h := range append([]string{"host"}, headerNames()...) {
		if !signed[h] {
			return ErrIncompleteSignature.WithMessage("%s The header %s must be signed.", ErrIncompleteSignature.Message, h)
		}
	}
	return nil
}

func headerNames() []string {
	out := make([]string, len(v3Headers))
	for i, h := range v3Headers {
		out[i] = h.header
	}
	return out
}

// verify checks the V1 or V3 signature, then the STS token, which the
// signature covers.
// The second result is what the debug log says of a refusal.
func verify(c *Call, secret Credential) (*Error, []any) {
	if c.V3 {
		hash := signature.PayloadHash(c.Body)
		if !strings.EqualFold(c.Header.Get("x-acs-content-sha256"), hash) {
			return ErrContentSHA256Mismatch, []any{"sent", c.Header.Get("x-acs-content-sha256"), "bodySHA256", hash}
		}
		headers := make(map[string][]string, len(c.Header)+1)
		for k, v := range c.Header {
			headers[strings.ToLower(k)] = v
		}
		headers["host"] = []string{c.Host}
		cr := signature.V3CanonicalRequest(signature.Request{Method: c.Method, Path: "/", Query: c.Query, Headers: headers, PayloadHash: hash}, c.auth.SignedHeaders)
		sts := signature.V3StringToSign(cr)
		if !signature.V3Verify(secret.Secret, sts, c.auth.Signature) {
			return ErrSignatureMismatch, []any{"scheme", "ACS3-HMAC-SHA256", "canonicalRequest", cr, "stringToSign", sts, "signedHeaders", strings.Join(c.auth.SignedHeaders, ";"), "signature", c.auth.Signature}
		}
	} else {
		sts := signature.V1StringToSign(c.Method, c.signedParams())
		if !signature.V1Verify(secret.Secret, sts, c.Params["Signature"]) {
			return ErrSignatureMismatch.WithMessage("%s server string to sign is:%s", ErrSignatureMismatch.Message, sts),
				[]any{"scheme", "V1 HMAC-SHA1", "method", c.Method, "stringToSign", sts, "signature", c.Params["Signature"]}
		}
	}
	token := c.Params["SecurityToken"]
	if c.V3 {
		token = c.Header.Get("x-acs-security-token")
	}
	switch want := secret.SecurityToken; {
	case want == "" && token == "":
	case token == "":
		// The fixture says this key pair is an STS credential, which is
		// never valid without its token.
		return ErrSecurityTokenMissing, []any{"why", "the account's fixture has a securityToken"}
	case token != want:
		return ErrSecurityTokenInvalid, []any{"why", "not the account's securityToken"}
	}
	return nil, nil
}
