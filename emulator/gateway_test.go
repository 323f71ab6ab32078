package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
)

// The default fixture's account, and an STS account added by gatewayFixture.
const (
	testAK      = "testAccessKeyId"
	testSecret  = "testAccessKeySecret"
	testPK      = "a1TestProd1"
	stsAK       = "STS.testStsKeyId"
	stsSecret   = "testStsSecret"
	stsToken    = "testSecurityToken"
	stsPK       = "a1StsProd01"
	otherAK     = "otherAccessKeyId"
	otherSecret = "otherAccessKeySecret"
)

// gatewayFixture is the default fixture plus an STS account and a second
// plain account, for the tests that need more than one caller.
func gatewayFixture(t testing.TB) *fixtures.Fixture {
	t.Helper()
	f, err := fixtures.Parse([]byte(`{"accounts":[
		{"accessKeyId":"` + testAK + `","accessKeySecret":"` + testSecret + `",
		 "products":[{"productKey":"` + testPK + `","productName":"emulator_default","nodeType":0,
		              "devices":[{"deviceName":"fixture01"}]}]},
		{"accessKeyId":"` + stsAK + `","accessKeySecret":"` + stsSecret + `","securityToken":"` + stsToken + `",
		 "products":[{"productKey":"` + stsPK + `","productName":"sts_product","nodeType":0}]},
		{"accessKeyId":"` + otherAK + `","accessKeySecret":"` + otherSecret + `",
		 "products":[{"productKey":"` + testPK + `","productName":"emulator_default","nodeType":0}]}]}`))
	require.NoError(t, err)
	return f
}

// clock is a settable time source for the server, so freshness and
// throttling tests do not depend on how fast the machine is.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// gateway is an emulator plus what the raw-request helpers need.
type gateway struct {
	*emutest.Server
	clock *clock
	host  string
}

// newGateway starts an emulator on a frozen clock with gatewayFixture;
// throttling stays off unless cfg switches it on.
func newGateway(t *testing.T, cfg ...func(*emulator.Config)) *gateway {
	t.Helper()
	clk := newClock()
	srv := emutest.New(t, emutest.WithFixture(gatewayFixture(t)), emutest.WithConfig(func(c *emulator.Config) {
		c.Now = clk.Now
		for _, f := range cfg {
			f(c)
		}
	}))
	return &gateway{Server: srv, clock: clk, host: srv.Domain()}
}

func nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// v1 is an RPC V1 request under construction.
type v1 struct {
	method string
	params map[string]string
	// inBody sends every parameter as a form body (pop-core POST).
	inBody bool
}

// newV1 returns the common parameters pop-core would send, plus kv pairs.
func (g *gateway) newV1(ak, action string, kv ...string) *v1 {
	p := map[string]string{
		"AccessKeyId":      ak,
		"Action":           action,
		"Format":           "JSON",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   nonce(),
		"SignatureVersion": "1.0",
		"Timestamp":        g.clock.Now().Format("2006-01-02T15:04:05Z"),
		"Version":          "2018-01-20",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return &v1{method: http.MethodGet, params: p}
}

// sign sets Signature from every other parameter.
func (r *v1) sign(secret string) *v1 {
	delete(r.params, "Signature")
	m := map[string][]string{}
	for k, v := range r.params {
		m[k] = []string{v}
	}
	r.params["Signature"] = signature.V1Sign(secret, signature.V1StringToSign(r.method, m))
	return r
}

func (r *v1) set(kv ...string) *v1 {
	for i := 0; i+1 < len(kv); i += 2 {
		r.params[kv[i]] = kv[i+1]
	}
	return r
}

func (r *v1) without(names ...string) *v1 {
	for _, n := range names {
		delete(r.params, n)
	}
	return r
}

func (r *v1) request(t testing.TB, g *gateway) *http.Request {
	t.Helper()
	vals := url.Values{}
	for k, v := range r.params {
		vals.Set(k, v)
	}
	var req *http.Request
	var err error
	if r.inBody {
		req, err = http.NewRequest(r.method, g.URL()+"/", strings.NewReader(vals.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, err = http.NewRequest(r.method, g.URL()+"/?"+vals.Encode(), nil)
		require.NoError(t, err)
	}
	return req
}

// v3 is an ACS3-HMAC-SHA256 request under construction, shaped like the
// Tea client's: parameters in the query, headers signed.
type v3 struct {
	method      string
	query       [][2]string
	body        []byte
	contentType string
	headers     map[string]string
	// signed overrides the SignedHeaders list; nil signs what the Tea
	// client signs (host, content-type when set, every x-acs-* header).
	signed []string
	// chunked sends the body without a Content-Length.
	chunked bool
}

func (g *gateway) newV3(action string, kv ...string) *v3 {
	r := &v3{method: http.MethodPost, headers: map[string]string{
		"x-acs-action":               action,
		"x-acs-version":              "2018-01-20",
		"x-acs-date":                 g.clock.Now().Format("2006-01-02T15:04:05Z"),
		"x-acs-signature-nonce":      nonce(),
		"x-acs-credentials-provider": "static_ak",
	}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.query = append(r.query, [2]string{kv[i], kv[i+1]})
	}
	return r
}

func (r *v3) header(kv ...string) *v3 {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(r.headers, kv[i])
		} else {
			r.headers[kv[i]] = kv[i+1]
		}
	}
	return r
}

func (r *v3) form(body string) *v3 {
	r.body = []byte(body)
	r.contentType = "application/x-www-form-urlencoded"
	return r
}

// teaEscape encodes like Node's querystring, which the TS Tea client uses:
// '*', '(', ')', '!' and '~' stay raw, a space is %20.
func teaEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*()", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
}

func (r *v3) rawQuery() string {
	parts := make([]string, len(r.query))
	for i, kv := range r.query {
		parts[i] = kv[0] + "=" + teaEscape(kv[1])
	}
	return strings.Join(parts, "&")
}

// sign completes the headers (host, payload hash) and sets Authorization
// for ak/secret. Headers set to a non-empty value before sign are kept,
// so a test can send a wrong x-acs-content-sha256.
func (r *v3) sign(g *gateway, ak, secret string) *v3 {
	r.headers["host"] = g.host
	if _, ok := r.headers["x-acs-content-sha256"]; !ok {
		r.headers["x-acs-content-sha256"] = signature.PayloadHash(r.body)
	}
	if r.contentType != "" {
		r.headers["content-type"] = r.contentType
	}
	signed := r.signed
	if signed == nil {
		for h := range r.headers {
			if h == "host" || h == "content-type" || strings.HasPrefix(h, "x-acs-") {
				signed = append(signed, h)
			}
		}
		sort.Strings(signed)
	}
	query := map[string][]string{}
	for _, kv := range r.query {
		query[kv[0]] = append(query[kv[0]], kv[1])
	}
	headers := map[string][]string{}
	for k, v := range r.headers {
		headers[k] = []string{v}
	}
	cr := signature.V3CanonicalRequest(signature.Request{Method: r.method, Path: "/", Query: query, Headers: headers,
		PayloadHash: signature.PayloadHash(r.body)}, signed)
	r.headers["authorization"] = "ACS3-HMAC-SHA256 Credential=" + ak + ",SignedHeaders=" + strings.Join(signed, ";") +
		",Signature=" + signature.V3Sign(secret, signature.V3StringToSign(cr))
	return r
}

func (r *v3) request(t testing.TB, g *gateway) *http.Request {
	t.Helper()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
	}
	u := g.URL() + "/"
	if q := r.rawQuery(); q != "" {
		u += "?" + q
	}
	req, err := http.NewRequest(r.method, u, body)
	require.NoError(t, err)
	for k, v := range r.headers {
		if k == "host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if r.chunked {
		req.ContentLength = -1
	}
	return req
}

// reply is an answer as received.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, body}
}

// popError is the gateway envelope, read from JSON or from XML <Error>.
type popError struct {
	XMLName   xml.Name
	RequestID string `xml:"RequestId" json:"RequestId"`
	HostID    string `xml:"HostId" json:"HostId"`
	Code      string `xml:"Code" json:"Code"`
	Message   string `xml:"Message" json:"Message"`
	Recommend string `xml:"Recommend" json:"Recommend"`
}

// gatewayError decodes the answer in the given format and checks the
// envelope every gateway error shares.
func (r reply) gatewayError(t testing.TB, format string) popError {
	t.Helper()
	var e popError
	switch format {
	case "JSON":
		require.Equal(t, "application/json;charset=utf-8", r.header.Get("Content-Type"), "body: %s", r.body)
		require.NoError(t, json.Unmarshal(r.body, &e), "body: %s", r.body)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(r.body, &raw))
		assert.ElementsMatch(t, []string{"RequestId", "HostId", "Code", "Message", "Recommend"}, keys(raw), "a gateway error has exactly the POP fields")
	case "XML":
		require.Equal(t, "text/xml;charset=utf-8", r.header.Get("Content-Type"), "body: %s", r.body)
		require.NoError(t, xml.Unmarshal(r.body, &e), "body: %s", r.body)
		assert.Equal(t, "Error", e.XMLName.Local)
		assert.True(t, bytes.HasPrefix(r.body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)))
	default:
		t.Fatalf("format %q", format)
	}
	assert.Regexp(t, `^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`, e.RequestID)
	assert.Equal(t, e.RequestID, r.header.Get("x-acs-request-id"))
	assert.NotEmpty(t, e.HostID)
	assert.Equal(t, "https://api.aliyun.com/troubleshoot?q="+e.Code+"&product=Iot&requestId="+e.RequestID, e.Recommend)
	return e
}

// admitted checks that the gateway let the call through to its handler:
// HTTP 200, whether the action succeeded or answered a business error.
func (r reply) admitted(t testing.TB) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}

// success decodes a JSON answer that must be HTTP 200 with Success=true.
func (r reply) success(t testing.TB) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	require.Equal(t, true, m["Success"], "body: %s", r.body)
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// errorCase is one gateway error and how to provoke it.
type errorCase struct {
	name string
	// config adjusts the server (throttling, auth mode).
	config func(*emulator.Config)
	// send sends whatever it takes and returns the answer to check; the
	// format is "JSON" or "XML" for V1 cases and always "JSON" for V3.
	send    func(t *testing.T, g *gateway, format string) reply
	v3      bool
	status  int
	code    string
	message string
}

func v1Case(build func(g *gateway) *v1) func(t *testing.T, g *gateway, format string) reply {
	return func(t *testing.T, g *gateway, format string) reply {
		r := build(g)
		if _, ok := r.params["Format"]; ok {
			r.params["Format"] = format
			if _, signed := r.params["Signature"]; signed {
				r.sign(testSecret)
			}
		}
		return do(t, r.request(t, g))
	}
}

func v3Case(build func(g *gateway) *v3) func(t *testing.T, g *gateway, format string) reply {
	return func(t *testing.T, g *gateway, _ string) reply { return do(t, build(g).request(t, g)) }
}

func queryStatus(g *gateway) *v1 {
	return g.newV1(testAK, "QueryBatchRegisterDeviceStatus", "ProductKey", testPK, "ApplyId", "1")
}

func qps(action string, n float64) func(*emulator.Config) {
	return func(c *emulator.Config) {
		c.Throttle = true
		c.QPS = map[string]float64{action: n}
	}
}

// twice sends the same request two times and returns the second answer.
func twice(t *testing.T, g *gateway, req func() *http.Request) reply {
	first := do(t, req())
	require.Equal(t, http.StatusOK, first.status, "the first request is admitted: %s", first.body)
	return do(t, req())
}

var gatewayErrorCases = []errorCase{
	{name: "a request without Action is MissingAction", status: 400, code: "MissingAction", message: "Action is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).without("Action").sign(testSecret) })},
	{name: "a request without Version is MissingVersion", status: 400, code: "MissingVersion", message: "Version is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).without("Version").sign(testSecret) })},
	{name: "a request without AccessKeyId is MissingAccessKeyId", status: 400, code: "MissingAccessKeyId", message: "AccessKeyId is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).without("AccessKeyId").sign(testSecret) })},
	{name: "a request without Signature is MissingSignature", status: 400, code: "MissingSignature", message: "Signature is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g) })},
	{name: "a request without SignatureNonce is MissingSignatureNonce", status: 400, code: "MissingSignatureNonce", message: "SignatureNonce is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).without("SignatureNonce").sign(testSecret) })},
	{name: "a request without Timestamp is MissingTimestamp", status: 400, code: "MissingTimestamp", message: "Timestamp is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).without("Timestamp").sign(testSecret) })},
	{name: "a request without a parameter the API requires is Missing{Param}", status: 400, code: "MissingApplyId", message: "ApplyId is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).without("ApplyId").sign(testSecret) })},
	{name: "an empty required API parameter is Missing{Param} too", status: 400, code: "MissingProductKey", message: "ProductKey is mandatory for this action.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).set("ProductKey", "").sign(testSecret) })},
	{name: "an unknown Format is InvalidParameter.Format, answered in XML", status: 400, code: "InvalidParameter.Format", message: "Specified parameter format is not valid.",
		send: func(t *testing.T, g *gateway, format string) reply {
			r := do(t, queryStatus(g).set("Format", "YAML").sign(testSecret).request(t, g))
			if format == "JSON" { // nothing to answer in but the documented default
				r.gatewayError(t, "XML")
				t.Skip("checked in XML")
			}
			return r
		}},
	{name: "a parameter that is not valid URL encoding is InvalidParameter", status: 400, code: "InvalidParameter", message: `"DeviceName.1" is not valid URL encoding`,
		send: func(t *testing.T, g *gateway, format string) reply {
			req := queryStatus(g).set("Format", format).sign(testSecret).request(t, g)
			req.URL.RawQuery += "&DeviceName.1=%zz"
			return do(t, req)
		}},
	{name: "a SignatureVersion other than 1.0 is InvalidSignatureVersion", status: 400, code: "InvalidSignatureVersion", message: "Specified parameter SignatureVersion is not valid.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).set("SignatureVersion", "2.0").sign(testSecret) })},
	{name: "an unknown Action is InvalidAction.NotFound with HTTP 404", status: 404, code: "InvalidAction.NotFound", message: "Specified api is not found, please check your url and method.",
		send: v1Case(func(g *gateway) *v1 { return g.newV1(testAK, "DescribeRegions").sign(testSecret) })},
	{name: "a path other than / is InvalidAction.NotFound with HTTP 404", status: 404, code: "InvalidAction.NotFound", message: "Specified api is not found",
		send: func(t *testing.T, g *gateway, format string) reply {
			req := queryStatus(g).set("Format", format).sign(testSecret).request(t, g)
			req.URL.Path = "/iot"
			return do(t, req)
		}},
	{name: "an unknown AccessKeyId is InvalidAccessKeyId.NotFound with HTTP 404", status: 404, code: "InvalidAccessKeyId.NotFound", message: "Specified access key is not found.",
		send: v1Case(func(g *gateway) *v1 {
			return g.newV1("nobody", "QueryPageByApplyId", "ApplyId", "1").sign("x")
		})},
	{name: "a Timestamp that is not yyyy-MM-ddTHH:mm:ssZ is InvalidTimeStamp.Format", status: 400, code: "InvalidTimeStamp.Format", message: "Specified time stamp or date value is not well formatted.",
		send: v1Case(func(g *gateway) *v1 {
			return queryStatus(g).set("Timestamp", g.clock.Now().Format(time.RFC1123)).sign(testSecret)
		})},
	{name: "a Timestamp 16 minutes old is InvalidTimeStamp.Expired", status: 400, code: "InvalidTimeStamp.Expired", message: "Specified time stamp or date value is expired.",
		send: v1Case(func(g *gateway) *v1 {
			return queryStatus(g).set("Timestamp", g.clock.Now().Add(-16*time.Minute).Format("2006-01-02T15:04:05Z")).sign(testSecret)
		})},
	{name: "a SignatureMethod other than HMAC-SHA1 is InvalidSignatureMethod", status: 400, code: "InvalidSignatureMethod", message: "Specified signature method is not valid.",
		send: v1Case(func(g *gateway) *v1 { return queryStatus(g).set("SignatureMethod", "HMAC-SHA256").sign(testSecret) })},
	{name: "a method other than GET and POST is UnsupportedHTTPMethod", status: 400, code: "UnsupportedHTTPMethod", message: "Specified HTTP method is not supported.",
		send: func(t *testing.T, g *gateway, format string) reply {
			r := queryStatus(g).set("Format", format)
			r.method = http.MethodPut
			return do(t, r.sign(testSecret).request(t, g))
		}},
	{name: "a signature made with another secret is SignatureDoesNotMatch with the server's string to sign", status: 400, code: "SignatureDoesNotMatch",
		message: "Specified signature is not matched with our calculation. server string to sign is:GET&%2F&AccessKeyId%3DtestAccessKeyId%26Action%3DQueryBatchRegisterDeviceStatus",
		send: func(t *testing.T, g *gateway, format string) reply {
			return do(t, queryStatus(g).set("Format", format).sign("wrongSecret").request(t, g))
		}},
	{name: "a nonce used twice by one AccessKeyId is SignatureNonceUsed", status: 400, code: "SignatureNonceUsed", message: "Specified signature nonce was used already.",
		send: func(t *testing.T, g *gateway, format string) reply {
			r := queryStatus(g).set("Format", format).sign(testSecret)
			return twice(t, g, func() *http.Request { return r.request(t, g) })
		}},
	{name: "an STS account's request without SecurityToken is MissingSecurityToken", status: 400, code: "MissingSecurityToken", message: "SecurityToken is mandatory for this action.",
		send: func(t *testing.T, g *gateway, format string) reply {
			return do(t, g.newV1(stsAK, "QueryPageByApplyId", "ApplyId", "1", "Format", format).sign(stsSecret).request(t, g))
		}},
	{name: "a SecurityToken that is not the account's is InvalidSecurityToken.Malformed", status: 400, code: "InvalidSecurityToken.Malformed", message: "Specified SecurityToken is malformed.",
		send: func(t *testing.T, g *gateway, format string) reply {
			return do(t, g.newV1(stsAK, "QueryPageByApplyId", "ApplyId", "1", "Format", format, "SecurityToken", "stolen").sign(stsSecret).request(t, g))
		}},
	{name: "a call over the action's QPS limit is Throttling.User", status: 400, code: "Throttling.User", message: "Request was denied due to user flow control.",
		config: qps("QueryBatchRegisterDeviceStatus", 1),
		send: func(t *testing.T, g *gateway, format string) reply {
			do(t, queryStatus(g).set("Format", format).sign(testSecret).request(t, g))
			return do(t, queryStatus(g).set("Format", format).sign(testSecret).request(t, g))
		}},
	{name: "a call over the limit is Throttling.User with HTTP 429 when so configured", status: 429, code: "Throttling.User", message: "Request was denied due to user flow control.",
		config: func(c *emulator.Config) { qps("QueryBatchRegisterDeviceStatus", 1)(c); c.ThrottleStatus = 429 },
		send: func(t *testing.T, g *gateway, format string) reply {
			do(t, queryStatus(g).set("Format", format).sign(testSecret).request(t, g))
			return do(t, queryStatus(g).set("Format", format).sign(testSecret).request(t, g))
		}},
	{name: "a request with more parameters than the bound is InvalidParameter.TooLarge", status: 400, code: "InvalidParameter.TooLarge", message: "more than 50000 parameters",
		send: func(t *testing.T, g *gateway, format string) reply {
			req := queryStatus(g).set("Format", format).sign(testSecret).request(t, g)
			var b strings.Builder
			for i := 1; i <= emulator.MaxParams; i++ {
				fmt.Fprintf(&b, "DeviceName.%d=d%d&", i, i)
			}
			req.Body = io.NopCloser(strings.NewReader(b.String()))
			req.ContentLength = int64(b.Len())
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return do(t, req)
		}},

	// ACS3-HMAC-SHA256: always answered in JSON.
	{name: "a V3 Authorization header that does not parse is IncompleteSignature", v3: true, status: 400, code: "IncompleteSignature", message: "The request signature does not conform to Aliyun standards.",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, testSecret).header("authorization", "ACS3-HMAC-SHA256 Credential="+testAK+",Signature=abc")
		})},
	{name: "a V3 request whose body does not match x-acs-content-sha256 is IncompleteSignature", v3: true, status: 400, code: "IncompleteSignature", message: "x-acs-content-sha256",
		send: v3Case(func(g *gateway) *v3 {
			r := g.newV3("BatchCheckDeviceNames", "ProductKey", testPK).form("DeviceName.1=light01").sign(g, testAK, testSecret)
			r.body = []byte("DeviceName.1=light02")
			return r
		})},
	{name: "a V3 request that leaves x-acs-date out of SignedHeaders is IncompleteSignature", v3: true, status: 400, code: "IncompleteSignature", message: "x-acs-date must be signed",
		send: v3Case(func(g *gateway) *v3 {
			r := g.newV3("QueryPageByApplyId", "ApplyId", "1")
			r.signed = []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-signature-nonce", "x-acs-version"}
			return r.sign(g, testAK, testSecret)
		})},
	{name: "a V3 request that signs a header it does not send is IncompleteSignature", v3: true, status: 400, code: "IncompleteSignature", message: "signed header content-type is missing",
		send: v3Case(func(g *gateway) *v3 {
			r := g.newV3("QueryPageByApplyId", "ApplyId", "1")
			r.signed = []string{"content-type", "host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
			return r.sign(g, testAK, testSecret)
		})},
	{name: "a V3 request without x-acs-content-sha256 is IncompleteSignature", v3: true, status: 400, code: "IncompleteSignature", message: "x-acs-content-sha256 is missing",
		send: v3Case(func(g *gateway) *v3 {
			r := g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, testSecret)
			delete(r.headers, "x-acs-content-sha256")
			return r
		})},
	{name: "a V3 request without x-acs-action is MissingAction", v3: true, status: 400, code: "MissingAction", message: "x-acs-action is mandatory for this action.",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-action", "").sign(g, testAK, testSecret)
		})},
	{name: "a V3 request without x-acs-date is MissingTimestamp", v3: true, status: 400, code: "MissingTimestamp", message: "x-acs-date is mandatory for this action.",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-date", "").sign(g, testAK, testSecret)
		})},
	{name: "a V3 request without x-acs-signature-nonce is MissingSignatureNonce", v3: true, status: 400, code: "MissingSignatureNonce", message: "x-acs-signature-nonce is mandatory for this action.",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-signature-nonce", "").sign(g, testAK, testSecret)
		})},
	{name: "a V3 request for an unknown action is InvalidAction.NotFound", v3: true, status: 404, code: "InvalidAction.NotFound", message: "Specified api is not found",
		send: v3Case(func(g *gateway) *v3 { return g.newV3("NoSuchAction").sign(g, testAK, testSecret) })},
	{name: "a V3 request from an unknown AccessKeyId is InvalidAccessKeyId.NotFound", v3: true, status: 404, code: "InvalidAccessKeyId.NotFound", message: "Specified access key is not found.",
		send: v3Case(func(g *gateway) *v3 { return g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, "nobody", "x") })},
	{name: "a V3 x-acs-date that does not parse is InvalidTimeStamp.Format", v3: true, status: 400, code: "InvalidTimeStamp.Format", message: "not well formatted",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-date", "2026-01-01T12:00:00.000Z").sign(g, testAK, testSecret)
		})},
	{name: "a V3 x-acs-date 16 minutes ahead is InvalidTimeStamp.Expired", v3: true, status: 400, code: "InvalidTimeStamp.Expired", message: "expired",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-date", g.clock.Now().Add(16*time.Minute).Format("2006-01-02T15:04:05Z")).sign(g, testAK, testSecret)
		})},
	{name: "a V3 signature made with another secret is SignatureDoesNotMatch without a string to sign", v3: true, status: 400, code: "SignatureDoesNotMatch", message: "Specified signature is not matched with our calculation.",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, "wrongSecret")
		})},
	{name: "a V3 request sent twice is SignatureNonceUsed", v3: true, status: 400, code: "SignatureNonceUsed", message: "Specified signature nonce was used already.",
		send: func(t *testing.T, g *gateway, _ string) reply {
			r := g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, testSecret)
			return twice(t, g, func() *http.Request { return r.request(t, g) })
		}},
	{name: "a V3 STS request with another x-acs-security-token is InvalidSecurityToken.Malformed", v3: true, status: 400, code: "InvalidSecurityToken.Malformed", message: "malformed",
		send: v3Case(func(g *gateway) *v3 {
			return g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-security-token", "stolen", "x-acs-accesskey-id", stsAK).sign(g, stsAK, stsSecret)
		})},
	{name: "a V3 call over the QPS limit is Throttling.User", v3: true, status: 400, code: "Throttling.User", message: "Request was denied due to user flow control.",
		config: qps("QueryPageByApplyId", 1),
		send: func(t *testing.T, g *gateway, _ string) reply {
			do(t, g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, testSecret).request(t, g))
			return do(t, g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, testSecret).request(t, g))
		}},
}

func TestGatewayErrors(t *testing.T) {
	for _, tc := range gatewayErrorCases {
		formats := []string{"JSON", "XML"}
		if tc.v3 {
			formats = []string{"JSON"}
		}
		for _, format := range formats {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				var cfg []func(*emulator.Config)
				if tc.config != nil {
					cfg = append(cfg, tc.config)
				}
				g := newGateway(t, cfg...)
				r := tc.send(t, g, format)
				e := r.gatewayError(t, format)
				assert.Equal(t, tc.status, r.status, "body: %s", r.body)
				assert.Equal(t, tc.code, e.Code)
				assert.Contains(t, e.Message, tc.message)
				if tc.code == "SignatureDoesNotMatch" && tc.v3 {
					assert.NotContains(t, e.Message, "server string to sign is")
				}
				if tc.code == "Throttling.User" {
					assert.Equal(t, "Limit:1,Remain:0,TimeLeft:1000,Reset:1000", r.header.Get("x-ratelimit-user-api"))
				} else {
					assert.Empty(t, r.header.Get("x-ratelimit-user-api"))
				}
			})
		}
	}
}

func TestCheckOrder(t *testing.T) {
	stale := func(g *gateway) string { return g.clock.Now().Add(-time.Hour).Format("2006-01-02T15:04:05Z") }
	for _, tc := range []struct {
		name   string
		config func(*emulator.Config)
		send   func(t *testing.T, g *gateway) reply
		code   string
	}{
		{"a missing common parameter is reported before an unknown action", nil, func(t *testing.T, g *gateway) reply {
			return do(t, g.newV1(testAK, "NoSuchAction").without("SignatureNonce").sign(testSecret).request(t, g))
		}, "MissingSignatureNonce"},
		{"an unknown action is reported before an unknown AccessKeyId", nil, func(t *testing.T, g *gateway) reply {
			return do(t, g.newV1("nobody", "NoSuchAction").sign("x").request(t, g))
		}, "InvalidAction.NotFound"},
		{"an unknown AccessKeyId is reported before a stale timestamp", nil, func(t *testing.T, g *gateway) reply {
			return do(t, g.newV1("nobody", "QueryPageByApplyId", "ApplyId", "1").set("Timestamp", stale(g)).sign("x").request(t, g))
		}, "InvalidAccessKeyId.NotFound"},
		{"a stale timestamp is reported before a wrong signature", nil, func(t *testing.T, g *gateway) reply {
			return do(t, queryStatus(g).set("Timestamp", stale(g)).sign("wrongSecret").request(t, g))
		}, "InvalidTimeStamp.Expired"},
		{"a wrong signature is reported before a replayed nonce, and does not use the nonce up", nil, func(t *testing.T, g *gateway) reply {
			good := queryStatus(g).sign(testSecret)
			bad := g.newV1(testAK, "QueryPageByApplyId", "ApplyId", "1").set("SignatureNonce", good.params["SignatureNonce"]).sign("wrongSecret")
			r := do(t, bad.request(t, g))
			do(t, good.request(t, g)).admitted(t)
			return r
		}, "SignatureDoesNotMatch"},
		{"a replayed nonce is reported before throttling", qps("QueryBatchRegisterDeviceStatus", 1), func(t *testing.T, g *gateway) reply {
			r := queryStatus(g).sign(testSecret)
			return twice(t, g, func() *http.Request { return r.request(t, g) })
		}, "SignatureNonceUsed"},
		{"throttling is reported before a missing API parameter", qps("QueryBatchRegisterDeviceStatus", 1), func(t *testing.T, g *gateway) reply {
			do(t, queryStatus(g).sign(testSecret).request(t, g))
			return do(t, queryStatus(g).without("ApplyId").sign(testSecret).request(t, g))
		}, "Throttling.User"},
		{"a V3 header that does not parse is reported before anything else", nil, func(t *testing.T, g *gateway) reply {
			return do(t, g.newV3("NoSuchAction").header("x-acs-date", "").sign(g, "nobody", "x").header("authorization", "ACS3-HMAC-SHA256 nonsense").request(t, g))
		}, "IncompleteSignature"},
		{"a V3 body hash mismatch is reported after a stale date", nil, func(t *testing.T, g *gateway) reply {
			r := g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-date", stale(g), "x-acs-content-sha256", strings.Repeat("0", 64))
			return do(t, r.sign(g, testAK, testSecret).request(t, g))
		}, "InvalidTimeStamp.Expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg []func(*emulator.Config)
			if tc.config != nil {
				cfg = append(cfg, tc.config)
			}
			g := newGateway(t, cfg...)
			r := tc.send(t, g)
			assert.Equal(t, tc.code, r.gatewayError(t, "JSON").Code)
		})
	}
}

func TestFreshness(t *testing.T) {
	g := newGateway(t)
	at := func(d time.Duration) string { return g.clock.Now().Add(d).Format("2006-01-02T15:04:05Z") }
	for _, tc := range []struct {
		name, timestamp, code string
	}{
		{"a timestamp 14m59s old is fresh", at(-(15*time.Minute - time.Second)), ""},
		{"a timestamp exactly 15 minutes old is fresh", at(-15 * time.Minute), ""},
		{"a timestamp 15m01s old is expired", at(-(15*time.Minute + time.Second)), "InvalidTimeStamp.Expired"},
		{"a timestamp 14m59s ahead is fresh", at(15*time.Minute - time.Second), ""},
		{"a timestamp 15m01s ahead is expired", at(15*time.Minute + time.Second), "InvalidTimeStamp.Expired"},
		{"a timestamp with milliseconds is badly formatted", g.clock.Now().Format("2006-01-02T15:04:05.000Z"), "InvalidTimeStamp.Format"},
		{"a timestamp with an offset is badly formatted", g.clock.Now().Format("2006-01-02T15:04:05+08:00"), "InvalidTimeStamp.Format"},
		{"a date alone is badly formatted", g.clock.Now().Format("2006-01-02"), "InvalidTimeStamp.Format"},
		{"an empty timestamp is badly formatted", "", "InvalidTimeStamp.Format"},
	} {
		for _, scheme := range []string{"V1", "V3"} {
			t.Run(tc.name+" under "+scheme, func(t *testing.T) {
				var r reply
				if scheme == "V1" {
					r = do(t, queryStatus(g).set("Timestamp", tc.timestamp).sign(testSecret).request(t, g))
				} else {
					req := g.newV3("QueryBatchRegisterDeviceStatus", "ProductKey", testPK, "ApplyId", "1")
					req.headers["x-acs-date"] = tc.timestamp
					if tc.timestamp == "" { // an empty header is no header
						t.Skip("covered by MissingTimestamp")
					}
					r = do(t, req.sign(g, testAK, testSecret).request(t, g))
				}
				if tc.code == "" {
					assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
					return
				}
				assert.Equal(t, tc.code, r.gatewayError(t, "JSON").Code)
			})
		}
	}
}

func TestNonces(t *testing.T) {
	t.Run("one nonce may be used once by each AccessKeyId", func(t *testing.T) {
		g := newGateway(t)
		n := nonce()
		do(t, queryStatus(g).set("SignatureNonce", n).sign(testSecret).request(t, g)).admitted(t)
		do(t, g.newV1(otherAK, "QueryBatchRegisterDeviceStatus", "ProductKey", testPK, "ApplyId", "1", "SignatureNonce", n).sign(otherSecret).request(t, g))
		r := do(t, g.newV1(otherAK, "QueryPageByApplyId", "ApplyId", "1", "SignatureNonce", n).sign(otherSecret).request(t, g))
		assert.Equal(t, "SignatureNonceUsed", r.gatewayError(t, "JSON").Code)
	})
	t.Run("V1 and V3 share the nonces of an AccessKeyId", func(t *testing.T) {
		g := newGateway(t)
		n := nonce()
		do(t, queryStatus(g).set("SignatureNonce", n).sign(testSecret).request(t, g)).admitted(t)
		r := do(t, g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-signature-nonce", n).sign(g, testAK, testSecret).request(t, g))
		assert.Equal(t, "SignatureNonceUsed", r.gatewayError(t, "JSON").Code)
	})
	t.Run("a nonce is forgotten once no request carrying it can be fresh, twice the window later", func(t *testing.T) {
		g := newGateway(t)
		n := nonce()
		do(t, queryStatus(g).set("SignatureNonce", n).sign(testSecret).request(t, g)).admitted(t)
		g.clock.Advance(30*time.Minute - time.Second)
		r := do(t, queryStatus(g).set("SignatureNonce", n).sign(testSecret).request(t, g))
		assert.Equal(t, "SignatureNonceUsed", r.gatewayError(t, "JSON").Code, "still remembered just before 2 × 15 minutes")
		g.clock.Advance(2 * time.Second)
		do(t, queryStatus(g).set("SignatureNonce", n).sign(testSecret).request(t, g)).admitted(t)
	})
	t.Run("a request refused for its signature leaves its nonce usable", func(t *testing.T) {
		g := newGateway(t)
		n := nonce()
		do(t, queryStatus(g).set("SignatureNonce", n).sign("wrongSecret").request(t, g))
		do(t, queryStatus(g).set("SignatureNonce", n).sign(testSecret).request(t, g)).admitted(t)
	})
}

// capturedRequest is one line of testdata/sdk-requests.jsonl, a request
// recorded from an official client (shared/testdata/README.md).
type capturedRequest struct {
	Seq       int                 `json:"seq"`
	Client    string              `json:"client"`
	Case      string              `json:"case"`
	Signature string              `json:"signature"`
	Method    string              `json:"method"`
	RawQuery  string              `json:"raw_query"`
	Headers   map[string][]string `json:"headers"`
	Body      string              `json:"body"`
}

func TestCapturedSDKRequestsAreAdmitted(t *testing.T) {
	data, err := os.ReadFile("testdata/sdk-requests.jsonl")
	require.NoError(t, err)
	f, err := fixtures.Parse([]byte(`{"accounts":[{"accessKeyId":"testAccessKeyId","accessKeySecret":"testAccessKeySecret",
		"products":[{"productKey":"a1TestPK01","productName":"captured_product","nodeType":0}]}]}`))
	require.NoError(t, err)
	// The captures carry their own (old) timestamps and nonces: widen the
	// window instead of rewriting them, since they are signed.
	srv := emutest.New(t, emutest.WithFixture(f), emutest.WithConfig(func(c *emulator.Config) { c.TimestampWindow = 100 * 365 * 24 * time.Hour }))
	dec := json.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var c capturedRequest
		if err := dec.Decode(&c); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		n++
		t.Run(fmt.Sprintf("request %d from %s (%s, %s) is admitted", c.Seq, c.Client, c.Case, c.Signature), func(t *testing.T) {
			u := srv.URL() + "/"
			if c.RawQuery != "" {
				u += "?" + c.RawQuery
			}
			req, err := http.NewRequest(c.Method, u, strings.NewReader(c.Body))
			require.NoError(t, err)
			if c.Body == "" {
				req.Body, req.ContentLength = http.NoBody, 0
			}
			for k, vs := range c.Headers {
				switch k {
				case "Host":
					req.Host = vs[0]
				case "Content-Length", "Transfer-Encoding", "Connection":
				default:
					req.Header[k] = vs
				}
			}
			r := do(t, req)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			if c.Signature == signature.AlgorithmACS3 {
				assert.Equal(t, "application/json;charset=utf-8", r.header.Get("Content-Type"), "V3 is answered in JSON")
			}
			assert.NotContains(t, string(r.body), "Signature", "body: %s", r.body)
		})
	}
	require.Positive(t, n)
}

func TestV3Requests(t *testing.T) {
	t.Run("a Tea-style call with every parameter in the query and no body runs the action", func(t *testing.T) {
		g := newGateway(t)
		m := do(t, g.newV3("BatchCheckDeviceNames", "ProductKey", testPK, "DeviceName.1", "dev:01@home", "DeviceName.2", "dev-02.x_y").sign(g, testAK, testSecret).request(t, g)).success(t)
		assert.Contains(t, m, "Data")
	})
	t.Run("characters Tea leaves raw in the query are decoded before signing", func(t *testing.T) {
		g := newGateway(t)
		r := do(t, g.newV3("BatchCheckDeviceNames", "ProductKey", testPK, "DeviceName.1", "light*01!", "DeviceName.2", "dev(2)~ '").sign(g, testAK, testSecret).request(t, g))
		r.admitted(t)
		var m struct {
			Data struct {
				InvalidDeviceNameList struct{ InvalidDeviceName []string }
			}
		}
		require.NoError(t, json.Unmarshal(r.body, &m))
		assert.Equal(t, []string{"light*01!", "dev(2)~ '"}, m.Data.InvalidDeviceNameList.InvalidDeviceName)
	})
	t.Run("a form body signed through its hash is read and decoded", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("BatchCheckDeviceNames", "ProductKey", testPK).form("DeviceName.1=light+01")
		m := do(t, r.sign(g, testAK, testSecret).request(t, g))
		e := map[string]any{}
		require.NoError(t, json.Unmarshal(m.body, &e))
		assert.Equal(t, "iot.device.InvalidFormattedDeviceNameInNameArray", e["Code"], "'+' decoded to a space, which no name may hold")
		do(t, g.newV3("BatchCheckDeviceNames", "ProductKey", testPK).form("DeviceName.1=light_01").sign(g, testAK, testSecret).request(t, g)).success(t)
	})
	t.Run("a chunked body is hashed as received", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("BatchCheckDeviceNames", "ProductKey", testPK).form("DeviceName.1=light_01&DeviceName.2=light_02")
		r.chunked = true
		do(t, r.sign(g, testAK, testSecret).request(t, g)).success(t)
	})
	t.Run("a chunked body that differs from its hash is refused", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("BatchCheckDeviceNames", "ProductKey", testPK).form("DeviceName.1=light_01").sign(g, testAK, testSecret)
		r.body, r.chunked = []byte("DeviceName.1=light_09"), true
		assert.Equal(t, "IncompleteSignature", do(t, r.request(t, g)).gatewayError(t, "JSON").Code)
	})
	t.Run("a GET is signed with its method", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("QueryBatchRegisterDeviceStatus", "ProductKey", testPK, "ApplyId", "1")
		r.method = http.MethodGet
		resp := do(t, r.sign(g, testAK, testSecret).request(t, g))
		assert.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	})
	t.Run("extra signed headers and a minimal signed set are both accepted", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-custom", "a  b ")
		assert.Equal(t, http.StatusOK, do(t, r.sign(g, testAK, testSecret).request(t, g)).status)
		r = g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-credentials-provider", "")
		r.signed = []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
		assert.Equal(t, http.StatusOK, do(t, r.sign(g, testAK, testSecret).request(t, g)).status)
	})
	t.Run("a changed signed header breaks the signature", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, testSecret)
		r.headers["x-acs-credentials-provider"] = "sts"
		assert.Equal(t, "SignatureDoesNotMatch", do(t, r.request(t, g)).gatewayError(t, "JSON").Code)
	})
	t.Run("the Host the client signed must be the Host it sent", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, testSecret)
		r.headers["host"] = "iot.cn-shanghai.aliyuncs.com"
		assert.Equal(t, "SignatureDoesNotMatch", do(t, r.request(t, g)).gatewayError(t, "JSON").Code)
	})
	t.Run("a V3 STS call with its token is admitted", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV3("QueryPageByApplyId", "ApplyId", "1").header("x-acs-security-token", stsToken, "x-acs-accesskey-id", stsAK)
		assert.Equal(t, http.StatusOK, do(t, r.sign(g, stsAK, stsSecret).request(t, g)).status)
	})
	t.Run("a V3 answer is JSON even when Format=XML is in the query", func(t *testing.T) {
		g := newGateway(t)
		r := do(t, g.newV3("QueryPageByApplyId", "ApplyId", "1", "Format", "XML").sign(g, testAK, testSecret).request(t, g))
		assert.Equal(t, "application/json;charset=utf-8", r.header.Get("Content-Type"))
	})
}

// bigNames returns n valid device names and 64-"character" CJK nicknames,
// the largest the rules allow, so the Tea URL is as long as it gets.
func bigNames(n int) (names, nicks []string) {
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("dev:%05d@big.batch_name-%07d", i, i)[:32])
		nicks = append(nicks, strings.Repeat("温度传感器", 6)+"温度")
	}
	return names, nicks
}

func TestLargeRequests(t *testing.T) {
	t.Run("a Tea-style URL with exactly 10,000 names and nicknames (~4 MB) is admitted and checked", func(t *testing.T) {
		g := newGateway(t)
		names, nicks := bigNames(10_000)
		var kv []string
		for i := range names {
			kv = append(kv, fmt.Sprintf("DeviceNameList.%d.DeviceName", i+1), names[i], fmt.Sprintf("DeviceNameList.%d.DeviceNickname", i+1), nicks[i])
		}
		kv = append(kv, "ProductKey", testPK)
		r := g.newV3("BatchCheckDeviceNames", kv...)
		req := r.sign(g, testAK, testSecret).request(t, g)
		require.Greater(t, len(req.URL.RawQuery), 3_500_000)
		require.Less(t, len(req.URL.RawQuery), emulator.MaxHeaderBytes)
		require.Equal(t, 20_001, strings.Count(req.URL.RawQuery, "&")+1, "more pairs than Go's own query parser allows")
		m := do(t, req).success(t)
		applyID := int64(m["Data"].(map[string]any)["ApplyId"].(float64))

		// The gateway's part ends here; the batch is checked like any other.
		st, _ := waitStatus(t, g.NewIotClient(), "JSON", testPK, applyID)
		require.Equal(t, "CHECK_SUCCESS", st.Data.Status)
		assert.Empty(t, st.Data.InvalidList.Name)
	})
	t.Run("the Go SDK sends 10,000 names with nicknames in a form body", func(t *testing.T) {
		g := newGateway(t)
		names, nicks := bigNames(10_000)
		list := make([]iot.BatchCheckDeviceNamesDeviceNameList, len(names))
		for i := range names {
			list[i] = iot.BatchCheckDeviceNamesDeviceNameList{DeviceName: names[i], DeviceNickname: nicks[i]}
		}
		req := iot.CreateBatchCheckDeviceNamesRequest()
		req.ProductKey, req.DeviceNameList = testPK, &list
		resp, err := g.NewIotClient().BatchCheckDeviceNames(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	})
	t.Run("a request line over the header limit gets HTTP 431 and the server keeps serving", func(t *testing.T) {
		g := newGateway(t)
		conn, err := net.Dial("tcp", g.host)
		require.NoError(t, err)
		defer conn.Close()
		// Written from a goroutine: the server answers before it has read
		// everything, and a blocked writer must not hide the answer.
		go func() {
			fmt.Fprintf(conn, "GET /?Pad=%s HTTP/1.1\r\nHost: %s\r\n\r\n", strings.Repeat("x", emulator.MaxHeaderBytes+8192), g.host)
		}()
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
		do(t, queryStatus(g).sign(testSecret).request(t, g)).admitted(t)
	})
}

func TestLooseAuth(t *testing.T) {
	loose := func(c *emulator.Config) { c.Auth = emulator.AuthLoose }
	t.Run("any AccessKeyId is admitted without a signature and gets the default product", func(t *testing.T) {
		g := newGateway(t, loose)
		r := g.newV1("worker-1", "BatchCheckDeviceNames", "ProductKey", testPK, "DeviceName.1", "light01").without("Timestamp", "SignatureNonce", "SignatureMethod", "SignatureVersion")
		do(t, r.request(t, g)).success(t)
	})
	t.Run("a wrong secret is not noticed", func(t *testing.T) {
		g := newGateway(t, loose)
		req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		req.ProductKey, req.ApplyId = testPK, requestsInteger(1)
		resp, err := g.NewIotClientFor("worker-2", "anything").QueryBatchRegisterDeviceStatus(req)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", resp.Code)
		r := g.newV3("QueryPageByApplyId", "ApplyId", "1").sign(g, testAK, "wrongSecret")
		assert.Equal(t, http.StatusOK, do(t, r.request(t, g)).status)
	})
	t.Run("each AccessKeyId is its own account", func(t *testing.T) {
		g := newGateway(t, loose)
		a, b := g.NewIotClientFor("worker-a", "x"), g.NewIotClientFor("worker-b", "y")
		applyID := register(t, a, testPK, []string{"shared01"})
		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requestsInteger(applyID)
		pr, err := b.QueryPageByApplyId(q)
		require.NoError(t, err)
		assert.Equal(t, "iot.common.InvalidTenant", pr.Code, "b cannot see a's batch")
		assert.Empty(t, pr.ApplyDeviceList.ApplyDeviceInfo)
		register(t, b, testPK, []string{"shared01"}) // the same name is free in b's product
	})
	t.Run("concurrent first calls of one AccessKeyId create one account", func(t *testing.T) {
		g := newGateway(t, loose)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := 0; i < 16; i++ {
			client := g.NewIotClientFor("worker-race", "x")
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := iot.CreateBatchCheckDeviceNamesRequest()
				req.ProductKey, req.DeviceName = testPK, &[]string{"light01"}
				resp, err := client.BatchCheckDeviceNames(req)
				if err == nil && !resp.Success {
					err = errors.New(resp.Code)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
		st, err := g.Emulator().State(context.Background(), emulator.StateQuery{AccessKeyID: "worker-race"})
		require.NoError(t, err)
		require.Len(t, st.Accounts, 1)
		assert.Len(t, st.Accounts[0].Batches, 16)
		require.Len(t, st.Accounts[0].Products, 1)
		assert.Equal(t, testPK, st.Accounts[0].Products[0].ProductKey)
	})
	t.Run("seeding a loose account leaves the fixture's devices alone", func(t *testing.T) {
		f := gatewayFixture(t)
		srv := emutest.New(t, emutest.WithFixture(f), emutest.WithConfig(loose))
		req := iot.CreateQueryPageByApplyIdRequest()
		req.ApplyId = requestsInteger(1)
		_, err := srv.NewIotClientFor("worker-c", "x").QueryPageByApplyId(req)
		require.NoError(t, err)
		assert.Len(t, f.Accounts[0].Products[0].Devices, 1)
		assert.Empty(t, f.Accounts[0].Products[0].ProductSecret)
	})
	t.Run("freshness and replay rules still hold for what is sent", func(t *testing.T) {
		g := newGateway(t, loose)
		r := g.newV1("worker-d", "QueryPageByApplyId", "ApplyId", "1").set("Timestamp", g.clock.Now().Add(-time.Hour).Format("2006-01-02T15:04:05Z"))
		assert.Equal(t, "InvalidTimeStamp.Expired", do(t, r.request(t, g)).gatewayError(t, "JSON").Code)
		r = g.newV1("worker-d", "QueryPageByApplyId", "ApplyId", "1")
		assert.Equal(t, "SignatureNonceUsed", twice(t, g, func() *http.Request { return r.request(t, g) }).gatewayError(t, "JSON").Code)
	})
	t.Run("strict mode refuses an AccessKeyId that is not in the fixtures", func(t *testing.T) {
		g := newGateway(t)
		r := g.newV1("worker-1", "QueryPageByApplyId", "ApplyId", "1").sign("x")
		assert.Equal(t, "InvalidAccessKeyId.NotFound", do(t, r.request(t, g)).gatewayError(t, "JSON").Code)
	})
}

// sdkError runs an SDK call and returns the *errors.ServerError it must fail with.
func sdkError(t *testing.T, err error) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	require.ErrorAs(t, err, &se)
	return se
}

func TestGoSDKSurfacesGatewayErrors(t *testing.T) {
	query := func() *iot.QueryBatchRegisterDeviceStatusRequest {
		req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		req.ProductKey, req.ApplyId = testPK, requestsInteger(1)
		return req
	}
	t.Run("a wrong secret is SignatureDoesNotMatch, recognised as a wrong secret", func(t *testing.T) {
		g := newGateway(t)
		_, err := g.NewIotClientFor(testAK, "wrongSecret").QueryBatchRegisterDeviceStatus(query())
		se := sdkError(t, err)
		assert.Equal(t, 400, se.HttpStatus())
		assert.Equal(t, "SignatureDoesNotMatch", se.ErrorCode())
		assert.Equal(t, "InvalidAccessKeySecret: Please check you AccessKeySecret", se.Recommend())
	})
	t.Run("a client clock 20 minutes slow is InvalidTimeStamp.Expired", func(t *testing.T) {
		g := newGateway(t)
		g.clock.Advance(20 * time.Minute)
		_, err := g.NewIotClient().QueryBatchRegisterDeviceStatus(query())
		se := sdkError(t, err)
		assert.Equal(t, 400, se.HttpStatus())
		assert.Equal(t, "InvalidTimeStamp.Expired", se.ErrorCode())
	})
	t.Run("a replayed SDK request is SignatureNonceUsed", func(t *testing.T) {
		g := newGateway(t)
		var captured *http.Request
		var body []byte
		proxy := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			captured = r.Clone(r.Context())
			if r.Body != nil {
				body, _ = io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
		client := g.NewIotClient()
		client.SetTransport(proxy.Transport)
		resp, err := client.QueryBatchRegisterDeviceStatus(query())
		require.NoError(t, err)
		require.Equal(t, "iot.device.DeviceApplyIsNotFound", resp.Code)
		captured = captured.WithContext(context.Background())
		captured.Body, captured.RequestURI = io.NopCloser(bytes.NewReader(body)), ""
		e := do(t, captured).gatewayError(t, "JSON")
		assert.Equal(t, "SignatureNonceUsed", e.Code)
	})
	t.Run("an STS client with the fixture's token is admitted, with another token refused", func(t *testing.T) {
		g := newGateway(t)
		req := iot.CreateQueryPageByApplyIdRequest()
		req.ApplyId = requestsInteger(1)
		c, err := iot.NewClientWithStsToken("cn-shanghai", stsAK, stsSecret, stsToken)
		require.NoError(t, err)
		c.Domain = g.Domain()
		resp, err := c.QueryPageByApplyId(req)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", resp.Code)

		c, err = iot.NewClientWithStsToken("cn-shanghai", stsAK, stsSecret, "expiredToken")
		require.NoError(t, err)
		c.Domain = g.Domain()
		req = iot.CreateQueryPageByApplyIdRequest()
		req.ApplyId = requestsInteger(1)
		_, err = c.QueryPageByApplyId(req)
		assert.Equal(t, "InvalidSecurityToken.Malformed", sdkError(t, err).ErrorCode())
	})
	t.Run("XML callers get the error as an XML body the SDK does not parse", func(t *testing.T) {
		g := newGateway(t)
		req := query()
		req.AcceptFormat = "XML"
		_, err := g.NewIotClientFor(testAK, "wrongSecret").QueryBatchRegisterDeviceStatus(req)
		se := sdkError(t, err)
		assert.Equal(t, 400, se.HttpStatus())
		assert.Empty(t, se.ErrorCode())
		assert.Contains(t, se.Message(), "<Code>SignatureDoesNotMatch</Code>")
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
