package emulator_test

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

var nonceSeq atomic.Int64

// signedCall sends a V1-signed POST of params (common parameters added)
// the way the Go SDK does: everything in the query string.
func signedCall(t testing.TB, baseURL, ak, secret string, params map[string]string) (*http.Response, []byte) {
	t.Helper()
	all := map[string][]string{
		"AccessKeyId":      {ak},
		"Format":           {"JSON"},
		"Version":          {"2018-01-20"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureVersion": {"1.0"},
		"SignatureNonce":   {"golden-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(nonceSeq.Add(1), 10)},
		"Timestamp":        {time.Now().UTC().Format("2006-01-02T15:04:05Z")},
	}
	for k, v := range params {
		all[k] = []string{v}
	}
	all["Signature"] = []string{signature.V1Sign(secret, signature.V1StringToSign("POST", all))}
	q := url.Values(all).Encode()
	resp, err := http.Post(baseURL+"/?"+q, "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

var normalisers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}`), "<REQUEST-ID>"},
	{regexp.MustCompile(`("(?:DeviceSecret|ProductSecret|DeviceId|IotId)":")[^"]*"`), `${1}<GENERATED>"`},
	{regexp.MustCompile(`(<(DeviceSecret|ProductSecret|DeviceId|IotId)>)[^<]*(</)`), `${1}<GENERATED>${3}`},
	{regexp.MustCompile(`("DeviceName":")[A-Za-z0-9]{20}"`), `${1}<RANDOM-NAME>"`},
	{regexp.MustCompile(`(<DeviceName>)[A-Za-z0-9]{20}(</)`), `${1}<RANDOM-NAME>${2}`},
	{regexp.MustCompile(`(HostId":"|<HostId>)127\.0\.0\.1:\d+`), `${1}<HOST>`},
}

// normalise replaces what differs between runs (request ids, generated
// secrets and ids, the test server's port) with placeholders.
func normalise(b []byte) []byte {
	for _, n := range normalisers {
		b = n.re.ReplaceAll(b, []byte(n.repl))
	}
	return b
}

// checkGolden compares a wire body with testdata/golden/<name>, or
// rewrites it under -update.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	got := normalise(body)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./emulator/ -run Golden -update")
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (rerun with -update if intended)\nwant:\n%s\ngot:\n%s", path, want, got)
	}
}

// goldenName makes a file name from a case name and format.
func goldenName(action, caseName, format string) string {
	return action + "." + strings.ReplaceAll(caseName, " ", "_") + "." + strings.ToLower(format)
}
