package signature_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/iot-emulator/iot-emulator/signature"
)

// sdkQueries are the raw query strings of the captured SDK requests, the
// seeds of the canonicalisation targets.
func sdkQueries(f *testing.F) []string {
	file, err := os.Open("../../shared/testdata/sdk-requests.jsonl")
	if err != nil {
		return []string{"Action=QueryProduct&ProductKey=a1TestProd1"}
	}
	defer file.Close()
	var out []string
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var rec struct {
			RawQuery string `json:"raw_query"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && len(rec.RawQuery) < 4096 {
			out = append(out, rec.RawQuery)
		}
	}
	return out
}

// splitPairs turns a&b=c into parameters without URL decoding, so any
// byte reaches the canonicaliser.
func splitPairs(q string) map[string][]string {
	m := map[string][]string{}
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = append(m[k], v)
	}
	return m
}

// FuzzV1SignVerify: for any parameters, method and secret, V1Verify
// accepts V1Sign's signature of the string to sign (verify∘sign holds),
// and refuses it for a string to sign of other parameters.
func FuzzV1SignVerify(f *testing.F) {
	for _, q := range sdkQueries(f) {
		f.Add("GET", "testAccessKeySecret", q)
	}
	f.Add("POST", "", "a=\xff&b=%zz&=&&")
	f.Fuzz(func(t *testing.T, method, secret, query string) {
		params := splitPairs(query)
		sts := signature.V1StringToSign(method, params)
		sig := signature.V1Sign(secret, sts)
		if !signature.V1Verify(secret, sts, sig) {
			t.Fatalf("verify(sign(x)) failed for %q", sts)
		}
		params["zzExtra"] = []string{"1"}
		if other := signature.V1StringToSign(method, params); other != sts && signature.V1Verify(secret, other, sig) {
			t.Fatalf("a signature verified for other parameters")
		}
	})
}

// FuzzV3SignVerify: for any request, V3Verify accepts V3Sign's signature
// of its canonical request, in either hex case.
func FuzzV3SignVerify(f *testing.F) {
	for _, q := range sdkQueries(f) {
		f.Add("POST", "/", q, "x-acs-action", "QueryProduct", "secret")
	}
	f.Fuzz(func(t *testing.T, method, path, query, header, value, secret string) {
		r := signature.Request{Method: method, Path: path, Query: splitPairs(query),
			Headers: map[string][]string{"host": {"h"}, strings.ToLower(header): {value}}, PayloadHash: signature.PayloadHash([]byte(query))}
		cr := signature.V3CanonicalRequest(r, []string{"host", strings.ToLower(header)})
		sts := signature.V3StringToSign(cr)
		sig := signature.V3Sign(secret, sts)
		if !signature.V3Verify(secret, sts, sig) || !signature.V3Verify(secret, sts, strings.ToUpper(sig)) {
			t.Fatalf("verify(sign(x)) failed for %q", cr)
		}
	})
}

// FuzzParseAuthorization: no header panics the parser.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;x-acs-date,Signature=abc")
	f.Add("ACS3-HMAC-SHA256 ,,,=;;")
	f.Fuzz(func(t *testing.T, h string) { _, _ = signature.ParseAuthorization(h) })
}

// FuzzParseDeviceLogin: no client id or username panics the parser, and
// the credentials DeviceCredentials makes for a parsed device parse back
// to the same ProductKey and DeviceName.
func FuzzParseDeviceLogin(f *testing.F) {
	f.Add("pk.dn|timestamp=2524608000000,_v=sdk-c-3.0.1,securemode=3,signmethod=hmacsha256,lan=C,gw=0,ext=0|", "dn&pk")
	f.Add("pk&dn|securemode=3,signmethod=hmacsha1,timestamp=1700000000000,lan=NodeJS,_v=1.2.8|", "dn&pk")
	f.Add("|||", "&")
	f.Fuzz(func(t *testing.T, id, user string) {
		login, err := signature.ParseDeviceLogin(id, user)
		if err != nil || strings.ContainsAny(login.ProductKey+login.DeviceName, "&|") {
			return
		}
		id2, user2, _ := signature.DeviceCredentials(login.ProductKey, login.DeviceName, "s", "", "")
		again, err := signature.ParseDeviceLogin(id2, user2)
		if err != nil {
			return // a name the real rules refuse (empty, say) need not round-trip
		}
		if again.ProductKey != login.ProductKey || again.DeviceName != login.DeviceName {
			t.Fatalf("%q/%q parsed as %s/%s, its credentials as %s/%s", id, user, login.ProductKey, login.DeviceName, again.ProductKey, again.DeviceName)
		}
	})
}
