package emulator

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
	"github.com/iot-emulator/iot-emulator/store"
)

// timestampLayout is the only form the gateway accepts (UTC, no fraction).
const timestampLayout = "2006-01-02T15:04:05Z"

// admit runs the gateway checks in the order of protocol.md §7: required
// common parameters → action → AccessKeyId → timestamp → signature →
// nonce → the action's required parameters → throttling.
func (s *Server) admit(c *Call) (*Action, *Error) {
	ctx := context.Background()
	var ts, nonce string
	if c.V3 {
		auth, err := signature.ParseAuthorization(c.Header.Get("Authorization"))
		if err != nil {
			return nil, ErrIncompleteSignature
		}
		c.auth = auth
		c.AccessKeyID = auth.AccessKeyID
		for _, h := range []string{"x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"} {
			if c.Header.Get(h) == "" {
				return nil, missing(h)
			}
		}
		ts, nonce = c.Header.Get("x-acs-date"), c.Header.Get("x-acs-signature-nonce")
	} else {
		for _, p := range []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureNonce", "Timestamp"} {
			if _, ok := c.Params[p]; !ok && !(s.cfg.Auth == AuthLoose && p == "Signature") {
				return nil, missing(p)
			}
		}
		if m, ok := c.Params["SignatureMethod"]; ok && m != "HMAC-SHA1" {
			return nil, ErrSignatureMethod
		}
		if v, ok := c.Params["SignatureVersion"]; ok && v != "1.0" {
			return nil, invalid("SignatureVersion")
		}
		c.AccessKeyID = c.Params["AccessKeyId"]
		ts, nonce = c.Params["Timestamp"], c.Params["SignatureNonce"]
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
	t, err := time.Parse(timestampLayout, ts)
	if err != nil {
		return nil, ErrTimestampFormat
	}
	if d := s.now().Sub(t); d > s.cfg.TimestampWindow || d < -s.cfg.TimestampWindow {
		return nil, ErrTimestampExpired
	}
	if s.cfg.Auth == AuthStrict {
		if e := s.verify(c); e != nil {
			return nil, e
		}
	}
	if !s.nonces.add(c.AccessKeyID, nonce, s.now()) {
		return nil, ErrNonceUsed
	}
	for _, p := range a.Required {
		if c.Params[p] == "" {
			return nil, missing(p)
		}
	}
	c.InstanceID = c.Params["IotInstanceId"]
	if !s.limits.allow(c) {
		return nil, ErrThrottlingUser
	}
	return a, nil
}

// account finds the caller's account; in loose mode an unknown AccessKeyId
// becomes a new account seeded like the fixture's first one.
func (s *Server) account(ctx context.Context, ak string) (store.Account, *Error) {
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
	onceAny, _ := s.looseSeed.LoadOrStore(ak, &sync.Once{})
	var seedErr error
	onceAny.(*sync.Once).Do(func() {
		tmpl := fixtures.Account{}
		if len(s.cfg.Fixtures.Accounts) > 0 {
			tmpl = s.cfg.Fixtures.Accounts[0]
			tmpl.SecurityToken = ""
			// Copy before trimming: the fixture is shared and reloaded on reset.
			tmpl.Products = append([]fixtures.Product(nil), tmpl.Products...)
			for i := range tmpl.Products {
				tmpl.Products[i].Devices = nil
				tmpl.Products[i].ProductSecret = ""
			}
		}
		seedErr = fixtures.ApplyAccount(ctx, s.st, tmpl, ak, "")
	})
	if seedErr != nil {
		return a, ErrInternal
	}
	if a, err = s.st.Account(ctx, ak); err != nil {
		return a, ErrInternal
	}
	return a, nil
}

// verify checks the STS token and the V1 or V3 signature.
func (s *Server) verify(c *Call) *Error {
	token := c.Params["SecurityToken"]
	if c.V3 {
		token = c.Header.Get("x-acs-security-token")
	}
	if token != "" && token != c.Account.SecurityToken {
		return ErrSecurityTokenInvalid
	}
	secret := c.Account.AccessKeySecret
	if !c.V3 {
		sts := signature.V1StringToSign(c.Method, c.signedParams())
		if !signature.V1Verify(secret, sts, c.Params["Signature"]) {
			return ErrSignatureMismatch.WithMessage("%s server string to sign is:%s", ErrSignatureMismatch.Message, sts)
		}
		return nil
	}
	hash := signature.PayloadHash(c.Body)
	if c.Header.Get("x-acs-content-sha256") != hash {
		return ErrContentSHA256Mismatch
	}
	headers := map[string][]string{"host": {c.Host}}
	for k, v := range c.Header {
		headers[toLower(k)] = v
	}
	cr := signature.V3CanonicalRequest(signature.Request{Method: c.Method, Path: "/", Query: c.Query, Headers: headers, PayloadHash: hash}, c.auth.SignedHeaders)
	if !signature.V3Verify(secret, signature.V3StringToSign(cr), c.auth.Signature) {
		return ErrSignatureMismatch
	}
	return nil
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// nonceCache remembers nonces per AccessKeyId for the timestamp window;
// older ones cannot be replayed anyway, so memory stays bounded by the
// request rate times the window.
type nonceCache struct {
	mu     sync.Mutex
	window time.Duration
	seen   map[string]time.Time
	swept  time.Time
}

func newNonceCache(window time.Duration) *nonceCache {
	return &nonceCache{window: window, seen: map[string]time.Time{}}
}

// add records a nonce and reports false if it was seen within the window.
func (n *nonceCache) add(ak, nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if now.Sub(n.swept) > n.window/4 || len(n.seen) > 1_000_000 {
		for k, exp := range n.seen {
			if now.After(exp) {
				delete(n.seen, k)
			}
		}
		n.swept = now
	}
	key := ak + "\x00" + nonce
	if exp, ok := n.seen[key]; ok && now.Before(exp) {
		return false
	}
	n.seen[key] = now.Add(n.window)
	return true
}

// reset forgets every nonce.
func (n *nonceCache) reset() {
	n.mu.Lock()
	n.seen = map[string]time.Time{}
	n.mu.Unlock()
}

// limiter holds one token bucket per (account, action).
type limiter struct {
	mu      sync.Mutex
	on      bool
	limits  map[string]float64
	buckets map[string]*rate.Limiter
}

func newLimiter(cfg Config) *limiter {
	l := &limiter{on: cfg.Throttle, limits: map[string]float64{}, buckets: map[string]*rate.Limiter{}}
	for name, a := range actionTable {
		q := a.QPS
		if v, ok := cfg.QPS[name]; ok {
			q = v
		}
		l.limits[name] = q * cfg.QPSScale
	}
	return l
}

func (l *limiter) limitFor(action string) float64 { return l.limits[action] }

// allow takes a token for the call. A bucket holds one second of tokens,
// so N+k calls inside one second against a limit of N see k refusals.
func (l *limiter) allow(c *Call) bool {
	if !l.on {
		return true
	}
	q := l.limits[c.Action]
	if (c.Action == "QueryProductList" || c.Action == "QueryDevice") && deepPage(c) {
		q = min(q, 2) // documented: only 2 QPS when CurrentPage × PageSize ≥ 100,000
		c = &Call{Action: c.Action + "#deep", AccessKeyID: c.AccessKeyID}
	}
	if q <= 0 {
		return true
	}
	key := c.AccessKeyID + "\x00" + c.Action
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Limit(q), max(1, int(q)))
		l.buckets[key] = b
	}
	l.mu.Unlock()
	return b.Allow()
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
	return err1 == nil && err2 == nil && int64(page)*int64(size) >= 100_000
}
