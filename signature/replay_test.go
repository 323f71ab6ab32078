package signature

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
)

// capturedRequestsPaths are where the requests recorded from the official
// SDKs (shared/testdata/README.md) may be found: the copy kept in the
// module, which the emulator's own replay test shares, then the original
// next to the checkout.
var capturedRequestsPaths = []string{
	"../emulator/testdata/sdk-requests.jsonl",
	"../../shared/testdata/sdk-requests.jsonl",
}

// capturedRequest holds the fields of one sdk-requests.jsonl line that
// signature checking needs.
type capturedRequest struct {
	Seq         int                 `json:"seq"`
	Client      string              `json:"client"`
	Case        string              `json:"case"`
	Signature   string              `json:"signature"`
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	RawQuery    string              `json:"raw_query"`
	Query       map[string][]string `json:"query"`
	Headers     map[string][]string `json:"headers"`
	Body        string              `json:"body"`
	BodyParams  map[string][]string `json:"body_params"`
	Credentials struct {
		AccessKeyID     string `json:"AccessKeyId"`
		AccessKeySecret string `json:"AccessKeySecret"`
	} `json:"credentials"`
}

func loadCapturedRequests(t *testing.T) []capturedRequest {
	t.Helper()
	var f *os.File
	err := os.ErrNotExist
	for _, p := range capturedRequestsPaths {
		if f, err = os.Open(p); !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("none of %v present", capturedRequestsPaths)
	}
	mustNoError(t, err)
	defer f.Close()

	// A Decoder rather than a line scanner, because a line with a
	// 10,000-name batch would overflow bufio.Scanner's default buffer.
	var reqs []capturedRequest
	dec := json.NewDecoder(f)
	for {
		var r capturedRequest
		err := dec.Decode(&r)
		if err == io.EOF {
			break
		}
		mustNoError(t, err)
		reqs = append(reqs, r)
	}
	return reqs
}

// decodeLikeServer parses form-encoded text the way the emulator's Go
// server will (url.ParseQuery: '+' is a space) and checks that the capture's
// own decoding agrees, so the replay exercises what production code sees.
func decodeLikeServer(t *testing.T, raw string, recorded map[string][]string) map[string][]string {
	t.Helper()
	values, err := url.ParseQuery(raw)
	mustNoError(t, err)
	got := map[string][]string(values)
	if len(got) == 0 && len(recorded) == 0 {
		return got
	}
	mustEqual(t, recorded, got, "url.ParseQuery disagrees with the recorded decoding of %q", raw)
	return got
}

func flipFirstByte(s string) string {
	if s == "" {
		return "x"
	}
	b := []byte(s)
	b[0] ^= 1
	return string(b)
}

func TestReplayCapturedSDKRequests(t *testing.T) {
	reqs := loadCapturedRequests(t)
	verified := map[string]int{}

	for _, c := range reqs {
		name := fmt.Sprintf("request %d from %s (%s) verifies under %s", c.Seq, c.Client, c.Case, c.Signature)
		t.Run(name, func(t *testing.T) {
			secret := c.Credentials.AccessKeySecret
			mustTrue(t, secret != "", "credentials carry a secret")
			query := decodeLikeServer(t, c.RawQuery, c.Query)

			switch {
			case strings.HasPrefix(c.Signature, "RPC-V1"):
				params := map[string][]string{}
				for k, v := range query {
					params[k] = v
				}
				// Body wins on conflict, as the emulator merges them.
				for k, v := range decodeLikeServer(t, c.Body, c.BodyParams) {
					params[k] = v
				}
				mustEqual(t, 1, len(params["Signature"]), "exactly one Signature parameter")
				mustEqual(t, c.Credentials.AccessKeyID, params["AccessKeyId"][0])

				sts := V1StringToSign(c.Method, params)
				mustTrue(t, V1Verify(secret, sts, params["Signature"][0]),
					"string to sign %q gives %s, client sent %s", sts, V1Sign(secret, sts), params["Signature"][0])
				mustTrue(t, !V1Verify(flipFirstByte(secret), sts, params["Signature"][0]),
					"a wrong secret must not verify")

			case c.Signature == AlgorithmACS3:
				headers := make(map[string][]string, len(c.Headers))
				for k, v := range c.Headers {
					headers[strings.ToLower(k)] = v
				}
				auth, err := ParseAuthorization(http.Header(c.Headers).Get("Authorization"))
				mustNoError(t, err)
				mustEqual(t, c.Credentials.AccessKeyID, auth.AccessKeyID)
				mustTrue(t, slices.Contains(auth.SignedHeaders, "host"), "host is signed")

				req := Request{
					Method:      c.Method,
					Path:        c.Path,
					Query:       query,
					Headers:     headers,
					PayloadHash: PayloadHash([]byte(c.Body)),
				}
				mustEqual(t, req.PayloadHash, http.Header(c.Headers).Get("X-Acs-Content-Sha256"),
					"x-acs-content-sha256 must match the body")

				canonical := V3CanonicalRequest(req, auth.SignedHeaders)
				sts := V3StringToSign(canonical)
				mustTrue(t, V3Verify(secret, sts, auth.Signature),
					"canonical request %q gives %s, client sent %s", canonical, V3Sign(secret, sts), auth.Signature)
				mustTrue(t, !V3Verify(flipFirstByte(secret), sts, auth.Signature),
					"a wrong secret must not verify")

			default:
				t.Fatalf("unknown signature scheme %q", c.Signature)
			}
			verified[c.Signature]++
		})
	}

	total := 0
	for scheme, n := range verified {
		t.Logf("verified %d %s requests", n, scheme)
		total += n
	}
	mustTrue(t, total > 0, "no captured request was checked")
	mustEqual(t, len(reqs), total, "every captured request must verify")
}
