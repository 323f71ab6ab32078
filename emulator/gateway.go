package emulator

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
	"github.com/iot-emulator/iot-emulator/store"
)

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

// admit runs the gateway checks in the order of protocol.md §7: required
// common parameters → action → AccessKeyId → timestamp → signature (and
// STS token) → nonce → throttling → the action's required parameters.
// Nothing before the handler writes to the store, except that loose mode
// creates the caller's account on first use.
func (s *Server) admit(c *Call) (*Action, *Error) {
	ctx := c.ctx
	cred, e := s.commonParams(c)
	if e != nil {
		return nil, e
	}
	a, ok := actionTable[c.Action]
	if !ok {
		return nil, ErrActionNotFound
	}
	if c.Version != apiVersion {
		// Lenient on purpose: an SDK upgrade must not break a test suite.
		s.log.Info("unexpected API version accepted", "version", c.Version, "action", c.Action)
	}
	acct, e := s.account(ctx, c.AccessKeyID)
	if e != nil {
		return nil, e
	}
	c.Account = acct
	if cred.hasTimestamp {
		// time.Parse also takes fractional seconds the layout does not
		// name; the gateway wants exactly yyyy-MM-ddTHH:mm:ssZ.
		t, err := time.Parse(timestampLayout, cred.timestamp)
		if err != nil || len(cred.timestamp) != len(timestampLayout) {
			return nil, ErrTimestampFormat
		}
		if d := s.now().Sub(t); d > s.cfg.TimestampWindow || d < -s.cfg.TimestampWindow {
			return nil, ErrTimestampExpired
		}
	}
	if s.cfg.Auth == AuthStrict {
		if e := s.verify(c); e != nil {
			return nil, e
		}
	}
	if cred.hasNonce && !s.nonces.add(c.AccessKeyID, cred.nonce, s.now()) {
		return nil, ErrNonceUsed
	}
	if t := s.limits.take(c, s.now()); t != nil {
		c.throttled = t
		return nil, ErrThrottlingUser
	}
	for _, p := range a.Required {
		if c.Params[p] == "" {
			return nil, missing(p)
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
func (s *Server) commonParams(c *Call) (credentials, *Error) {
	strict := s.cfg.Auth == AuthStrict
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
	for _, p := range []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureNonce", "Timestamp"} {
		if _, ok := c.Params[p]; ok {
			continue
		}
		switch p {
		case "Action", "Version", "AccessKeyId":
			return cred, missing(p)
		}
		if strict {
			return cred, missing(p)
		}
	}
	if m, ok := c.Params["SignatureMethod"]; ok && m != "HMAC-SHA1" {
		return cred, ErrSignatureMethod
	}
	if v, ok := c.Params["SignatureVersion"]; ok && v != "1.0" {
		return cred, invalid("SignatureVersion")
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

// account finds the caller's account. In loose mode an unknown AccessKeyId
// becomes a new account seeded with the first fixture account's products
// (without their devices); concurrent first calls with one AccessKeyId
// create it once.
func (s *Server) account(ctx context.Context, ak string) (store.Account, *Error) {
	// Seeding writes an account with its products in one transaction, so
	// an account found here is never half made.
	a, err := s.st.Account(ctx, ak)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return a, ErrInternal
	}
	if s.cfg.Auth != AuthLoose || ak == "" {
		return a, ErrAccessKeyNotFound
	}
	// One lock per AccessKeyId, and a second look under it: the store may
	// have been reset since the lock was made, so the lock only orders the
	// creators and the store stays the source of truth.
	muAny, _ := s.looseSeed.LoadOrStore(ak, &sync.Mutex{})
	mu := muAny.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	if a, err = s.st.Account(ctx, ak); err == nil {
		return a, nil
	}
	if err := s.st.Add(ctx, []store.Seed{fixtures.AccountSeed(s.looseTemplate(), ak, "")}); err != nil {
		s.log.Error("loose account", "accessKeyId", ak, "error", err)
		return a, ErrInternal
	}
	if a, err = s.st.Account(ctx, ak); err != nil {
		return a, ErrInternal
	}
	s.log.Info("loose account created", "accessKeyId", ak)
	return a, nil
}

// looseTemplate is a deep copy of the first fixture account without
// devices, secrets or token, so seeding never aliases the fixture.
func (s *Server) looseTemplate() fixtures.Account {
	if len(s.cfg.Fixtures.Accounts) == 0 {
		return fixtures.Account{}
	}
	src := s.cfg.Fixtures.Accounts[0]
	t := fixtures.Account{Instances: append([]string(nil), src.Instances...)}
	for _, p := range src.Products {
		p.Devices = nil
		p.ProductSecret = ""
		t.Products = append(t.Products, p)
	}
	return t
}

// verify checks the V1 or V3 signature, then the STS token, which the
// signature covers.
func (s *Server) verify(c *Call) *Error {
	secret := c.Account.AccessKeySecret
	if c.V3 {
		hash := signature.PayloadHash(c.Body)
		if !strings.EqualFold(c.Header.Get("x-acs-content-sha256"), hash) {
			return ErrContentSHA256Mismatch
		}
		headers := make(map[string][]string, len(c.Header)+1)
		for k, v := range c.Header {
			headers[strings.ToLower(k)] = v
		}
		headers["host"] = []string{c.Host}
		cr := signature.V3CanonicalRequest(signature.Request{Method: c.Method, Path: "/", Query: c.Query, Headers: headers, PayloadHash: hash}, c.auth.SignedHeaders)
		if !signature.V3Verify(secret, signature.V3StringToSign(cr), c.auth.Signature) {
			return ErrSignatureMismatch
		}
	} else {
		sts := signature.V1StringToSign(c.Method, c.signedParams())
		if !signature.V1Verify(secret, sts, c.Params["Signature"]) {
			return ErrSignatureMismatch.WithMessage("%s server string to sign is:%s", ErrSignatureMismatch.Message, sts)
		}
	}
	token := c.Params["SecurityToken"]
	if c.V3 {
		token = c.Header.Get("x-acs-security-token")
	}
	switch want := c.Account.SecurityToken; {
	case want == "" && token == "":
	case token == "":
		// The fixture says this key pair is an STS credential, which is
		// never valid without its token.
		return ErrSecurityTokenMissing
	case token != want:
		return ErrSecurityTokenInvalid
	}
	return nil
}

// nonceCache remembers nonces per AccessKeyId. A request is fresh while its
// timestamp is within ±window of now, so a nonce can come back at most 2 ×
// window after it was first seen; it is kept that long and no longer. The
// expiry queue is in arrival order, so sweeping is amortised O(1), and a
// hard cap bounds memory under floods (the oldest nonces go first).
type nonceCache struct {
	mu     sync.Mutex
	keep   time.Duration
	max    int
	seen   map[string]time.Time
	queue  []nonceEntry
	head   int
	latest time.Time
}

type nonceEntry struct {
	key     string
	expires time.Time
}

// maxNonces bounds the cache: at ~150 bytes a nonce, about 150 MB.
const maxNonces = 1_000_000

func newNonceCache(window time.Duration) *nonceCache {
	return &nonceCache{keep: 2 * window, max: maxNonces, seen: map[string]time.Time{}}
}

// add records a nonce and reports false if it is still remembered.
func (n *nonceCache) add(ak, nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	// Expiries are queued in the order they were set; a clock that steps
	// back must not put an earlier expiry behind a later one.
	if now.Before(n.latest) {
		now = n.latest
	}
	n.latest = now
	for n.head < len(n.queue) && (!now.Before(n.queue[n.head].expires) || len(n.seen) >= n.max) {
		e := n.queue[n.head]
		if exp, ok := n.seen[e.key]; ok && exp.Equal(e.expires) {
			delete(n.seen, e.key)
		}
		n.queue[n.head] = nonceEntry{}
		n.head++
	}
	if n.head > len(n.queue)/2 {
		n.queue = append(n.queue[:0], n.queue[n.head:]...)
		n.head = 0
	}
	key := ak + "\x00" + nonce
	if _, ok := n.seen[key]; ok {
		return false
	}
	exp := now.Add(n.keep)
	n.seen[key] = exp
	n.queue = append(n.queue, nonceEntry{key, exp})
	return true
}

// len reports how many nonces are remembered.
func (n *nonceCache) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}

// reset forgets every nonce.
func (n *nonceCache) reset() {
	n.mu.Lock()
	n.seen = map[string]time.Time{}
	n.queue, n.head = nil, 0
	n.mu.Unlock()
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

// Limits lists the per-account QPS limit of every action under cfg: the
// documented default (actions.go), or the --qps override, times
// --qps-scale. It is what the throttle enforces, for --help and the README.
func Limits(cfg Config) []Limit {
	scale := cfg.QPSScale
	if scale == 0 {
		scale = 1
	}
	out := make([]Limit, 0, len(actionTable))
	for name, a := range actionTable {
		q := a.QPS
		if v, ok := cfg.QPS[name]; ok {
			q = v
		}
		out = append(out, Limit{Action: name, QPS: q * scale, DeepQPS: a.DeepQPS * scale})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Action < out[j].Action })
	return out
}

// throttle is why a call was refused, for the x-ratelimit-user-api header.
type throttle struct {
	limit float64
	// wait is how long until the bucket holds a token again; full is how
	// long until it is full.
	wait, full time.Duration
}

// limiter holds one token bucket per (account, action): burst N, refilled
// at N per second. N+k calls in the same instant therefore see k refusals,
// and a client that paces itself at N per second is never refused.
type limiter struct {
	mu     sync.Mutex
	on     bool
	limits map[string]float64
	// deep holds the deep-page limits, for the actions that have one.
	deep    map[string]float64
	buckets map[string]*rate.Limiter
}

func newLimiter(cfg Config) *limiter {
	l := &limiter{on: cfg.Throttle, limits: map[string]float64{}, deep: map[string]float64{}, buckets: map[string]*rate.Limiter{}}
	for _, lim := range Limits(cfg) {
		l.limits[lim.Action] = lim.QPS
		l.deep[lim.Action] = lim.DeepQPS
	}
	return l
}

// limitFor is the action's limit in force (0: unlimited).
func (l *limiter) limitFor(action string) float64 { return l.limits[action] }

// take spends one token of the call's bucket at now, or returns why not.
func (l *limiter) take(c *Call, now time.Time) *throttle {
	if !l.on {
		return nil
	}
	key := c.Action
	q := l.limits[c.Action]
	if l.deep[c.Action] > 0 && deepPage(c) {
		key += "#deep"
		if d := l.deep[c.Action]; q <= 0 || d < q {
			q = d
		}
	}
	if q <= 0 {
		return nil
	}
	burst := max(1, int(q))
	key = c.AccessKeyID + "\x00" + key
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Limit(q), burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	if b.AllowN(now, 1) {
		return nil
	}
	tokens := b.TokensAt(now)
	return &throttle{
		limit: q,
		wait:  secondsToDuration((1 - tokens) / q),
		full:  secondsToDuration((float64(burst) - tokens) / q),
	}
}

func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Ceil(s * float64(time.Second)))
}

// header renders the x-ratelimit-user-api value the Tea SDKs read
// (darabonba GetThrottlingTimeLeft splits on ',' then ':' without trimming
// and parses TimeLeft as an integer number of milliseconds).
func (t *throttle) header() string {
	ms := func(d time.Duration) string {
		return strconv.FormatInt(max(1, (d+time.Millisecond-1).Milliseconds()), 10)
	}
	return "Limit:" + strconv.FormatFloat(t.limit, 'f', -1, 64) + ",Remain:0,TimeLeft:" + ms(t.wait) + ",Reset:" + ms(t.full)
}

// reset refills every bucket.
func (l *limiter) reset() {
	l.mu.Lock()
	l.buckets = map[string]*rate.Limiter{}
	l.mu.Unlock()
}

func deepPage(c *Call) bool {
	page, err1 := atoiStrict(c.Params["CurrentPage"])
	size, err2 := atoiStrict(c.Params["PageSize"])
	// Compared by division: page × size may not fit an int64.
	return err1 == nil && err2 == nil && size > 0 && page >= (100_000+size-1)/size
}
