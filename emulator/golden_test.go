package emulator_test

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenSecrets are the AccessKey secrets signedGet signs with, by
// AccessKeyId: the default fixture's and the two-account fixture's.
var goldenSecrets = map[string]string{
	"testAccessKeyId": "testAccessKeySecret",
	akA:               secretA,
	akB:               secretB,
}

var (
	uuidRE = regexp.MustCompile(`[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`)
	// Fields whose values are generated per run (secrets, keys, ids) or
	// are credentials; they are replaced by {FieldName} in both formats.
	volatileFields = []string{"ProductKey", "ProductSecret", "DeviceSecret", "IotId", "DeviceId"}
	volatileJSON   = map[string]*regexp.Regexp{}
	volatileXML    = map[string]*regexp.Regexp{}
)

func init() {
	for _, f := range volatileFields {
		volatileJSON[f] = regexp.MustCompile(`"` + f + `":"[^"]*"`)
		volatileXML[f] = regexp.MustCompile(`<` + f + `>[^<]*</` + f + `>`)
	}
}

// normaliseGolden replaces what differs between runs with placeholders.
// Timestamps are not touched: golden tests run the emulator on a fixed
// clock, so they are pinned exactly.
func normaliseGolden(body []byte) []byte {
	out := uuidRE.ReplaceAll(body, []byte("{RequestId}"))
	for _, f := range volatileFields {
		out = volatileJSON[f].ReplaceAll(out, []byte(`"`+f+`":"{`+f+`}"`))
		out = volatileXML[f].ReplaceAll(out, []byte(`<`+f+`>{`+f+`}</`+f+`>`))
	}
	return out
}

// checkGolden compares a normalised response body with
// testdata/golden/<name>, or rewrites the file under -update.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	got := normaliseGolden(body)
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; rerun with -update")
	assert.Equal(t, string(want), string(got), "response differs from %s (rerun with -update if the change is intended)", path)
}

// signedGet sends a V1-signed GET with params on top of the common
// parameters (AccessKeyId testAccessKeyId unless given, Format JSON,
// Timestamp now unless given, a fresh nonce), as pop-core does, and
// returns the response with its body.
func signedGet(t *testing.T, baseURL string, params map[string]string) (*http.Response, []byte) {
	t.Helper()
	nonce := make([]byte, 16)
	rand.Read(nonce)
	all := map[string][]string{
		"AccessKeyId":      {"testAccessKeyId"},
		"Format":           {"JSON"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {hex.EncodeToString(nonce)},
		"SignatureVersion": {"1.0"},
		"Timestamp":        {time.Now().UTC().Format("2006-01-02T15:04:05Z")},
		"Version":          {"2018-01-20"},
	}
	for k, v := range params {
		all[k] = []string{v}
	}
	secret, ok := goldenSecrets[all["AccessKeyId"][0]]
	require.True(t, ok, "no secret known for %s", all["AccessKeyId"][0])
	all["Signature"] = []string{signature.V1Sign(secret, signature.V1StringToSign(http.MethodGet, all))}
	resp, err := http.Get(baseURL + "/?" + url.Values(all).Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}
