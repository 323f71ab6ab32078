package emulator_test

import (
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// goldenSecrets are the AccessKey secrets the signing helpers sign with, by
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
	// Platform-generated device names (BatchRegisterDevice) and the test
	// server's port also differ between runs.
	randomNameRE = regexp.MustCompile(`("DeviceName":"|<DeviceName>)[A-Za-z0-9]{20}("|</DeviceName>)`)
	hostRE       = regexp.MustCompile(`(HostId":"|<HostId>)127\.0\.0\.1:\d+`)
)

func init() {
	for _, f := range volatileFields {
		volatileJSON[f] = regexp.MustCompile(`"` + f + `":"[^"]*"`)
		volatileXML[f] = regexp.MustCompile(`<` + f + `>[^<]*</` + f + `>`)
	}
}

// normaliseGolden replaces what differs between runs with placeholders.
// Timestamps are not touched: golden tests that show them run the emulator
// on a fixed clock, so they are pinned exactly.
func normaliseGolden(body []byte) []byte {
	out := uuidRE.ReplaceAll(body, []byte("{RequestId}"))
	for _, f := range volatileFields {
		out = volatileJSON[f].ReplaceAll(out, []byte(`"`+f+`":"{`+f+`}"`))
		out = volatileXML[f].ReplaceAll(out, []byte(`<`+f+`>{`+f+`}</`+f+`>`))
	}
	out = randomNameRE.ReplaceAll(out, []byte("${1}{RandomDeviceName}${2}"))
	return hostRE.ReplaceAll(out, []byte("${1}{Host}"))
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

// goldenName makes a file name from an action, a case name and a format.
func goldenName(action, caseName, format string) string {
	return action + "." + strings.ReplaceAll(caseName, " ", "_") + "." + strings.ToLower(format)
}

// signV1 adds the common parameters (AccessKeyId testAccessKeyId unless
// given, Format JSON, Timestamp now unless given, a fresh nonce) and the V1
// signature for method, returning the encoded parameters.
func signV1(t testing.TB, method string, params map[string]string) string {
	t.Helper()
	all := map[string]string{"AccessKeyId": "testAccessKeyId", "Format": "JSON", "Version": "2018-01-20"}
	for k, v := range params {
		all[k] = v
	}
	secret, ok := goldenSecrets[all["AccessKeyId"]]
	require.True(t, ok, "no secret known for %s", all["AccessKeyId"])
	return signature.SignV1(method, all["AccessKeyId"], secret, all).Encode()
}

func readAll(t testing.TB, resp *http.Response, err error) (*http.Response, []byte) {
	t.Helper()
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// signedGet sends a V1-signed GET, everything in the query, as pop-core does.
func signedGet(t testing.TB, baseURL string, params map[string]string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(baseURL + "/?" + signV1(t, http.MethodGet, params))
	return readAll(t, resp, err)
}

// signedPost sends a V1-signed POST with everything in the form body, as
// pop-core does with {method: 'POST'}.
func signedPost(t testing.TB, baseURL string, params map[string]string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(baseURL+"/", "application/x-www-form-urlencoded", strings.NewReader(signV1(t, http.MethodPost, params)))
	return readAll(t, resp, err)
}
