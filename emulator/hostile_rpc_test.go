package emulator_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
)

// hostileCase is one bad input an RPC client may send: how to build it
// (signed with the default account unless it says otherwise) and what
// the emulator answers. Each runs in JSON and in XML and must leave the
// state as it found it.
type hostileCase struct {
	name   string
	build  func(g *gateway) *v1
	status int
	code   string
	// unsigned sends the request as built, without signing it again
	// after Format is set.
	unsigned bool
}

// register is a RegisterDevice call for the default product.
func registerCall(g *gateway, kv ...string) *v1 {
	return g.newV1(testAK, "RegisterDevice", append([]string{"ProductKey", testPK, "DeviceName", "hostile01"}, kv...)...)
}

var hostileCases = []hostileCase{
	// Common parameters (protocol §3.1): the two findings of issue 12 first.
	{name: "a write without SignatureMethod is MissingSignatureMethod", status: 400, code: "MissingSignatureMethod",
		build: func(g *gateway) *v1 { return registerCall(g).without("SignatureMethod") }},
	{name: "a write without SignatureVersion is MissingSignatureVersion", status: 400, code: "MissingSignatureVersion",
		build: func(g *gateway) *v1 { return registerCall(g).without("SignatureVersion") }},
	{name: "a write without Action is MissingAction", status: 400, code: "MissingAction",
		build: func(g *gateway) *v1 { return registerCall(g).without("Action") }},
	{name: "a write without Version is MissingVersion", status: 400, code: "MissingVersion",
		build: func(g *gateway) *v1 { return registerCall(g).without("Version") }},
	{name: "a write without AccessKeyId is MissingAccessKeyId", status: 400, code: "MissingAccessKeyId",
		build: func(g *gateway) *v1 { return registerCall(g).without("AccessKeyId") }},
	{name: "a write without Signature is MissingSignature", status: 400, code: "MissingSignature", unsigned: true,
		build: func(g *gateway) *v1 { return registerCall(g) }},
	{name: "a write without SignatureNonce is MissingSignatureNonce", status: 400, code: "MissingSignatureNonce",
		build: func(g *gateway) *v1 { return registerCall(g).without("SignatureNonce") }},
	{name: "a write without Timestamp is MissingTimestamp", status: 400, code: "MissingTimestamp",
		build: func(g *gateway) *v1 { return registerCall(g).without("Timestamp") }},
	{name: "an action the product does not have is InvalidAction.NotFound", status: 404, code: "InvalidAction.NotFound",
		build: func(g *gateway) *v1 { return registerCall(g).set("Action", "DropAllTables") }},
	{name: "an action name with a path in it is InvalidAction.NotFound", status: 404, code: "InvalidAction.NotFound",
		build: func(g *gateway) *v1 { return registerCall(g).set("Action", "../RegisterDevice") }},
	{name: "a write from an unknown AccessKeyId is InvalidAccessKeyId.NotFound", status: 404, code: "InvalidAccessKeyId.NotFound",
		build: func(g *gateway) *v1 { return registerCall(g).set("AccessKeyId", "intruderKeyId") }},
	{name: "a Timestamp in words is InvalidTimeStamp.Format", status: 400, code: "InvalidTimeStamp.Format",
		build: func(g *gateway) *v1 { return registerCall(g).set("Timestamp", "yesterday") }},
	{name: "a Timestamp with a year 99999 is InvalidTimeStamp.Format", status: 400, code: "InvalidTimeStamp.Format",
		build: func(g *gateway) *v1 { return registerCall(g).set("Timestamp", "99999-01-01T00:00:00Z") }},
	{name: "a Timestamp an hour old is InvalidTimeStamp.Expired", status: 400, code: "InvalidTimeStamp.Expired",
		build: func(g *gateway) *v1 {
			return registerCall(g).set("Timestamp", g.clock.Now().Add(-time.Hour).Format("2006-01-02T15:04:05Z"))
		}},
	{name: "a Timestamp a day ahead is InvalidTimeStamp.Expired", status: 400, code: "InvalidTimeStamp.Expired",
		build: func(g *gateway) *v1 {
			return registerCall(g).set("Timestamp", g.clock.Now().Add(24*time.Hour).Format("2006-01-02T15:04:05Z"))
		}},
	{name: "a SignatureMethod of HMAC-MD5 is InvalidSignatureMethod", status: 400, code: "InvalidSignatureMethod",
		build: func(g *gateway) *v1 { return registerCall(g).set("SignatureMethod", "HMAC-MD5") }},
	{name: "a SignatureVersion of 2.0 is InvalidSignatureVersion", status: 400, code: "InvalidSignatureVersion",
		build: func(g *gateway) *v1 { return registerCall(g).set("SignatureVersion", "2.0") }},
	{name: "a write signed with another secret is SignatureDoesNotMatch", status: 400, code: "SignatureDoesNotMatch", unsigned: true,
		build: func(g *gateway) *v1 { return registerCall(g).sign("guessedSecret") }},
	{name: "a write whose DeviceName was changed after signing is SignatureDoesNotMatch", status: 400, code: "SignatureDoesNotMatch", unsigned: true,
		build: func(g *gateway) *v1 { return registerCall(g).sign(testSecret).set("DeviceName", "hostile02") }},
	{name: "a write with an empty Signature is refused", status: 400, code: "SignatureDoesNotMatch", unsigned: true,
		build: func(g *gateway) *v1 { return registerCall(g).set("Signature", "") }},
	{name: "a write with a Signature of another request is SignatureDoesNotMatch", status: 400, code: "SignatureDoesNotMatch", unsigned: true,
		build: func(g *gateway) *v1 {
			other := queryStatus(g).sign(testSecret)
			return registerCall(g).set("Signature", other.params["Signature"])
		}},
	{name: "an STS account's write without SecurityToken is MissingSecurityToken", status: 400, code: "MissingSecurityToken",
		build: func(g *gateway) *v1 {
			return g.newV1(stsAK, "RegisterDevice", "ProductKey", stsPK, "DeviceName", "hostile01").sign(stsSecret)
		}},
	{name: "an STS account's write with a stolen SecurityToken is InvalidSecurityToken.Malformed", status: 400, code: "InvalidSecurityToken.Malformed",
		build: func(g *gateway) *v1 {
			return g.newV1(stsAK, "RegisterDevice", "ProductKey", stsPK, "DeviceName", "hostile01", "SecurityToken", "stolen").sign(stsSecret)
		}},
	{name: "a write of another account's secret is SignatureDoesNotMatch", status: 400, code: "SignatureDoesNotMatch", unsigned: true,
		build: func(g *gateway) *v1 { return registerCall(g).sign(otherSecret) }},
	{name: "a PUT is UnsupportedHTTPMethod", status: 400, code: "UnsupportedHTTPMethod",
		build: func(g *gateway) *v1 { r := registerCall(g); r.method = http.MethodPut; return r }},
	{name: "a DELETE is UnsupportedHTTPMethod", status: 400, code: "UnsupportedHTTPMethod",
		build: func(g *gateway) *v1 { r := registerCall(g); r.method = http.MethodDelete; return r }},
	{name: "a PATCH is UnsupportedHTTPMethod", status: 400, code: "UnsupportedHTTPMethod",
		build: func(g *gateway) *v1 { r := registerCall(g); r.method = http.MethodPatch; return r }},
	{name: "more parameters than the bound is InvalidParameter.TooLarge", status: 400, code: "InvalidParameter.TooLarge",
		build: func(g *gateway) *v1 {
			r := registerCall(g)
			r.inBody, r.method = true, http.MethodPost
			for i := 0; i <= emulator.MaxParams; i++ {
				r.params["X"+strconv.Itoa(i)] = "1"
			}
			return r
		}},
	{name: "a required parameter left out is Missing{Param}", status: 400, code: "MissingProductKey",
		build: func(g *gateway) *v1 { return registerCall(g).without("ProductKey") }},
	{name: "a required parameter sent empty is Missing{Param}", status: 400, code: "MissingProductKey",
		build: func(g *gateway) *v1 { return registerCall(g).set("ProductKey", "") }},
	// Business rules: signed, admitted, refused by the action.
	{name: "a DeviceName with a slash is InvalidFormattedDeviceName", status: 200, code: "iot.device.InvalidFormattedDeviceName",
		build: func(g *gateway) *v1 { return registerCall(g).set("DeviceName", "a/b/c") }},
	{name: "a DeviceName of two characters is InvalidFormattedDeviceName", status: 200, code: "iot.device.InvalidFormattedDeviceName",
		build: func(g *gateway) *v1 { return registerCall(g).set("DeviceName", "ab") }},
	{name: "a DeviceName of 33 characters is InvalidFormattedDeviceName", status: 200, code: "iot.device.InvalidFormattedDeviceName",
		build: func(g *gateway) *v1 { return registerCall(g).set("DeviceName", strings.Repeat("a", 33)) }},
	{name: "a DeviceName with SQL in it is InvalidFormattedDeviceName", status: 200, code: "iot.device.InvalidFormattedDeviceName",
		build: func(g *gateway) *v1 { return registerCall(g).set("DeviceName", "x'; DROP TABLE devices;--") }},
	{name: "a DeviceName with a NUL byte is InvalidFormattedDeviceName", status: 200, code: "iot.device.InvalidFormattedDeviceName",
		build: func(g *gateway) *v1 { return registerCall(g).set("DeviceName", "abc\x00def") }},
	{name: "a DeviceName of invalid UTF-8 is InvalidFormattedDeviceName", status: 200, code: "iot.device.InvalidFormattedDeviceName",
		build: func(g *gateway) *v1 { return registerCall(g).set("DeviceName", "abc\xff\xfe") }},
	{name: "a Nickname of 100 characters is refused", status: 200, code: "",
		build: func(g *gateway) *v1 { return registerCall(g, "Nickname", strings.Repeat("n", 100)) }},
	{name: "a Nickname with markup is refused", status: 200, code: "",
		build: func(g *gateway) *v1 { return registerCall(g, "Nickname", "<script>alert(1)</script>") }},
	{name: "a ProductKey no one has is NotExistedProduct", status: 200, code: "iot.prod.NotExistedProduct",
		build: func(g *gateway) *v1 { return registerCall(g).set("ProductKey", "a1NoSuchProd") }},
	{name: "another account's ProductKey is refused", status: 200, code: "",
		build: func(g *gateway) *v1 { return registerCall(g).set("ProductKey", stsPK) }},
	{name: "a batch check of an empty name list is NoneDeviceNameElement", status: 200, code: "iot.device.NoneDeviceNameElement",
		build: func(g *gateway) *v1 { return g.newV1(testAK, "BatchCheckDeviceNames", "ProductKey", testPK) }},
	{name: "a batch check with a bad name in the list is InvalidFormattedDeviceNameInNameArray", status: 200, code: "iot.device.InvalidFormattedDeviceNameInNameArray",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "BatchCheckDeviceNames", "ProductKey", testPK, "DeviceName.1", "good01", "DeviceName.2", "b@d")
		}},
	{name: "a random batch of 0 devices is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "BatchRegisterDevice", "ProductKey", testPK, "Count", "0")
		}},
	{name: "a random batch of a negative count is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "BatchRegisterDevice", "ProductKey", testPK, "Count", "-5")
		}},
	{name: "a random batch of a count in words is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "BatchRegisterDevice", "ProductKey", testPK, "Count", "many")
		}},
	{name: "a random batch of 10,001 devices is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "BatchRegisterDevice", "ProductKey", testPK, "Count", "10001")
		}},
	{name: "a count that overflows int64 is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "BatchRegisterDevice", "ProductKey", testPK, "Count", "99999999999999999999999")
		}},
	{name: "an ApplyId in words is refused", status: 200, code: "",
		build: func(g *gateway) *v1 { return queryStatus(g).set("ApplyId", "abc") }},
	{name: "a delete of a device no one has is NotExistedDevice", status: 200, code: "iot.device.NotExistedDevice",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "DeleteDevice", "ProductKey", testPK, "DeviceName", "nobody01")
		}},
	{name: "a delete by a malformed IotId is refused", status: 200, code: "",
		build: func(g *gateway) *v1 { return g.newV1(testAK, "DeleteDevice", "IotId", "'; --") }},
	{name: "a product without a name is refused", status: 400, code: "MissingProductName",
		build: func(g *gateway) *v1 { return g.newV1(testAK, "CreateProduct", "NodeType", "0") }},
	{name: "a product of node type 7 is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "CreateProduct", "ProductName", "hostile", "NodeType", "7")
		}},
	{name: "a product name of 100 characters is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "CreateProduct", "ProductName", strings.Repeat("p", 100), "NodeType", "0")
		}},
	{name: "a page size of a million is refused", status: 200, code: "",
		build: func(g *gateway) *v1 {
			return g.newV1(testAK, "QueryDevice", "ProductKey", testPK, "PageSize", "1000000")
		}},
}

// answerCode reads Code out of a JSON or XML answer, whatever its root.
func answerCode(t *testing.T, format string, body []byte) string {
	t.Helper()
	var v struct {
		Code string `json:"Code" xml:"Code"`
	}
	if format == "XML" {
		require.NoError(t, xml.Unmarshal(body, &v), "body: %s", body)
	} else {
		require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	}
	return v.Code
}

// stateDigest is the whole state as the control plane shows it.
func stateDigest(t *testing.T, g *gateway) string {
	t.Helper()
	st, err := g.Emulator().State(context.Background(), emulator.StateQuery{DevicePageSize: 1000})
	require.NoError(t, err)
	b, err := json.Marshal(st)
	require.NoError(t, err)
	return string(b)
}

// stillAnswers checks that a normal signed call is answered as usual.
func stillAnswers(t *testing.T, g *gateway) {
	t.Helper()
	r := do(t, queryStatus(g).sign(testSecret).request(t, g))
	require.Equal(t, http.StatusOK, r.status, "a normal call after the bad one: %s", r.body)
}

func TestHostileRPC(t *testing.T) {
	g := newGateway(t)
	for _, tc := range hostileCases {
		for _, format := range []string{"JSON", "XML"} {
			t.Run(tc.name+", answered in "+format, func(t *testing.T) {
				before := stateDigest(t, g)
				r := tc.build(g)
				if _, ok := r.params["Format"]; ok {
					r.params["Format"] = format
				}
				if !tc.unsigned {
					if _, ok := r.params["Signature"]; !ok || r.params["Signature"] != "" {
						ak := r.params["AccessKeyId"]
						secret := map[string]string{stsAK: stsSecret, otherAK: otherSecret}[ak]
						if secret == "" {
							secret = testSecret
						}
						r.sign(secret)
					}
				}
				got := do(t, r.request(t, g))
				code := answerCode(t, format, got.body)
				assert.Equal(t, tc.status, got.status, "body: %s", got.body)
				if tc.code != "" {
					assert.Equal(t, tc.code, code, "body: %s", got.body)
				} else {
					assert.NotEmpty(t, code, "body: %s", got.body)
				}
				wantType := map[string]string{"JSON": "application/json;charset=utf-8", "XML": "text/xml;charset=utf-8"}[format]
				assert.Equal(t, wantType, got.header.Get("Content-Type"))
				assert.True(t, before == stateDigest(t, g), "the bad call changed the state")
				stillAnswers(t, g)
			})
		}
	}
}

// TestTransportLimits covers what the HTTP server answers before the
// gateway sees a request, and slow clients.
func TestTransportLimits(t *testing.T) {
	g := newGateway(t)
	t.Run("headers over the bound are refused by the transport and the API still answers", func(t *testing.T) {
		req := queryStatus(g).sign(testSecret).request(t, g)
		req.Header.Set("X-Padding", strings.Repeat("p", emulator.MaxHeaderBytes+64<<10))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
		}
		stillAnswers(t, g)
	})
	t.Run("a body over the bound is InvalidParameter.TooLarge in the requested format", func(t *testing.T) {
		for _, format := range []string{"JSON", "XML"} {
			req, err := http.NewRequest(http.MethodPost, g.URL()+"/?Format="+format, strings.NewReader("A="+strings.Repeat("a", emulator.MaxBodyBytes+1)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r := do(t, req)
			assert.Equal(t, "InvalidParameter.TooLarge", answerCode(t, format, r.body), "body: %.200s", r.body)
		}
		stillAnswers(t, g)
	})
	t.Run("clients trickling headers and bodies do not starve normal calls", func(t *testing.T) {
		var conns []net.Conn
		for i := 0; i < 50; i++ {
			c, err := net.Dial("tcp", g.host)
			require.NoError(t, err)
			conns = append(conns, c)
			if i%2 == 0 {
				_, _ = c.Write([]byte("GET /?Action=Query HTTP/1.1\r\nHost: x\r\nX-Slow: "))
			} else {
				_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nA="))
			}
		}
		for i := 0; i < 20; i++ {
			stillAnswers(t, g)
		}
		for _, c := range conns {
			c.Close()
		}
	})
	t.Run("the listener timeouts are set", func(t *testing.T) {
		assert.Positive(t, emulator.ReadHeaderTimeout)
		assert.Positive(t, emulator.ReadTimeout)
		assert.Positive(t, emulator.IdleTimeout)
	})
}
