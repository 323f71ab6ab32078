package main

import (
	"crypto/tls"
	"crypto/x509"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bannerLine returns the start-up line with the prefix, without it.
func bannerLine(t *testing.T, in *instance, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(in.stdout.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %q line in %q", prefix, in.stdout.String())
	return ""
}

func TestBanner(t *testing.T) {
	t.Run("a wildcard bind prints a usable URL, the admin base URL and the modes, and a JSON record", func(t *testing.T) {
		in := start(t, []string{"--addr", "0.0.0.0:0", "--log-format", "json"}, nil)
		assert.True(t, strings.HasPrefix(in.addr, "127.0.0.1:"), in.addr)
		assert.Regexp(t, `^(0\.0\.0\.0|\[::\]):\d+ \(every interface\)$`, bannerLine(t, in, "bound to "))
		assert.Equal(t, "http://"+in.addr+"/_emulator/ (a page for browsers; JSON routes under it)", bannerLine(t, in, "admin: "))
		assert.Equal(t, "http://"+in.addr+"/_emulator/ui (live devices, batches, requests)", bannerLine(t, in, "dashboard: "))
		assert.Equal(t, "auth=strict throttle=on batch-progression=delay tls=off", bannerLine(t, in, "modes: "))
		require.NoError(t, in.stop(t))
		assert.Contains(t, in.stderr.String(), `"msg":"started"`)
		assert.Contains(t, in.stderr.String(), `"rpc":"http://127.0.0.1:`)
	})
}

func TestTLSFlags(t *testing.T) {
	t.Run("--tls on serves HTTPS on --tls-addr with a CA kept in --tls-dir, and says how to trust it", func(t *testing.T) {
		dir := t.TempDir()
		in := start(t, []string{"--addr", "127.0.0.1:0", "--tls", "on", "--tls-dir", dir, "--tls-addr", "127.0.0.1:0", "--mqtt-tls-addr", "127.0.0.1:0"}, nil)
		https := bannerLine(t, in, "https: ")
		url, _, _ := strings.Cut(https, " ")
		assert.True(t, strings.HasPrefix(url, "https://127.0.0.1:"), https)
		assert.True(t, strings.HasPrefix(bannerLine(t, in, "mqtt: ssl://"), "127.0.0.1:"))
		trust := bannerLine(t, in, "tls: CA ")
		caPath := filepath.Join(dir, "ca.pem")
		for _, want := range []string{caPath, "SSL_CERT_FILE=" + caPath, "NODE_EXTRA_CA_CERTS=" + caPath, "keytool", "trustStore"} {
			assert.Contains(t, trust, want)
		}
		caPEM, err := os.ReadFile(caPath)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(caPEM))
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		for _, base := range []string{url, "https://" + in.addr} {
			resp, err := client.Get(base + "/_emulator/health")
			require.NoError(t, err, base)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, base)
		}
		require.NoError(t, in.stop(t))
	})
	t.Run("--tls-cert without --tls-key is refused", func(t *testing.T) {
		_, _, err := runOnce(t, []string{"--addr", "127.0.0.1:0", "--tls", "on", "--tls-addr", "127.0.0.1:0", "--tls-cert", "x.pem"}, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--tls-key")
	})
}

func TestSeed(t *testing.T) {
	t.Run("--seed makes generated secrets the same in every run", func(t *testing.T) {
		secret := func() string {
			in := start(t, []string{"--addr", "127.0.0.1:0", "--seed", "42"}, nil)
			defer in.stop(t)
			c := sdkClient(t, in.addr)
			req := iot.CreateRegisterDeviceRequest()
			req.ProductKey = "a1TestProd1"
			resp, err := c.RegisterDevice(req)
			require.NoError(t, err)
			require.True(t, resp.Success, resp.Code)
			return resp.Data.DeviceName + "/" + resp.Data.DeviceSecret
		}
		assert.Equal(t, secret(), secret())
	})
}
