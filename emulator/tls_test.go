package emulator_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/internal/tlsca"
	"github.com/iot-emulator/iot-emulator/signature"
)

// tlsServer starts an emulator with TLS on and its CA in a fresh directory.
func tlsServer(t *testing.T) (*emutest.Server, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) {
		c.TLS, c.TLSDir, c.MQTTTLSAddr = true, dir, "127.0.0.1:0"
	}))
	caPEM, path := srv.Emulator().CACert()
	require.NotEmpty(t, caPEM)
	assert.True(t, strings.HasPrefix(path, dir))
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	return srv, pool
}

// otherCA is a CA that signed nothing the emulator serves.
func otherCA(t *testing.T) *x509.CertPool {
	t.Helper()
	m, err := tlsca.Generate(t.TempDir(), nil, time.Now())
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(m.CAPEM))
	return pool
}

// httpsSDK is the official Go SDK speaking HTTPS with verification on.
func httpsSDK(t *testing.T, srv *emutest.Server, roots *x509.CertPool) *iot.Client {
	t.Helper()
	c := srv.NewIotClient()
	c.SetHTTPSInsecure(false)
	c.SetTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}})
	return c
}

func queryProductHTTPS(c *iot.Client, domain string) (*iot.QueryProductResponse, error) {
	req := iot.CreateQueryProductRequest()
	req.Scheme = "https"
	req.Domain = domain
	req.ProductKey = "a1TestProd1"
	return c.QueryProduct(req)
}

func TestTLS(t *testing.T) {
	srv, roots := tlsServer(t)
	t.Run("the Go SDK speaks HTTPS to the plain port and verifies the chain against the emulator's CA", func(t *testing.T) {
		resp, err := queryProductHTTPS(httpsSDK(t, srv, roots), srv.Domain())
		require.NoError(t, err)
		assert.True(t, resp.Success)
	})
	t.Run("the chain verifies for localhost and the real endpoint name too", func(t *testing.T) {
		for _, name := range []string{"localhost", "iot.cn-shanghai.aliyuncs.com", "a1TestProd1.iot-as-mqtt.cn-shanghai.aliyuncs.com"} {
			conn, err := tls.Dial("tcp", srv.Domain(), &tls.Config{RootCAs: roots, ServerName: name})
			require.NoError(t, err, name)
			conn.Close()
		}
	})
	t.Run("a client trusting another CA is refused", func(t *testing.T) {
		_, err := queryProductHTTPS(httpsSDK(t, srv, otherCA(t)), srv.Domain())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "certificate")
	})
	t.Run("plain HTTP still works on the same port", func(t *testing.T) {
		resp, err := srv.NewIotClient().QueryProduct(func() *iot.QueryProductRequest {
			r := iot.CreateQueryProductRequest()
			r.ProductKey = "a1TestProd1"
			return r
		}())
		require.NoError(t, err)
		assert.True(t, resp.Success)
	})
	t.Run("GET /_emulator/ca.pem serves the CA", func(t *testing.T) {
		resp, err := http.Get(srv.URL() + "/_emulator/ca.pem")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		want, _ := srv.Emulator().CACert()
		assert.Equal(t, want, body)
	})
	t.Run("Paho logs a device in over TLS (securemode=2) verifying the chain, and another CA is refused", func(t *testing.T) {
		names, secrets := newDevices(t, srv, 1)
		id, user, pass := signature.DeviceCredentials(srv.ProductKey(), names[0], secrets[0], "", "")
		id = strings.Replace(id, "securemode=3", "securemode=2", 1)
		for _, tc := range []struct {
			roots *x509.CertPool
			ok    bool
		}{{roots, true}, {otherCA(t), false}} {
			opts := paho.NewClientOptions().AddBroker("ssl://" + srv.Emulator().MQTTTLSAddr()).SetClientID(id).SetUsername(user).SetPassword(pass).
				SetTLSConfig(&tls.Config{RootCAs: tc.roots}).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
			c := paho.NewClient(opts)
			tok := c.Connect()
			require.True(t, tok.WaitTimeout(10*time.Second))
			if !tc.ok {
				assert.Error(t, tok.Error())
				continue
			}
			require.NoError(t, tok.Error())
			assert.Equal(t, "ONLINE", deviceStatus(t, srv, srv.ProductKey(), names[0]))
			c.Disconnect(0)
		}
	})
	t.Run("the CA is made once: a second emulator on the same directory serves a chain to the same CA", func(t *testing.T) {
		pemA, path := srv.Emulator().CACert()
		dir := path[:strings.LastIndex(path, "/")]
		again := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.TLS, c.TLSDir, c.MQTTTLSAddr = true, dir, "off" }))
		pemB, _ := again.Emulator().CACert()
		assert.Equal(t, pemA, pemB)
		resp, err := queryProductHTTPS(httpsSDK(t, again, roots), again.Domain())
		require.NoError(t, err)
		assert.True(t, resp.Success)
	})
}

// syncWriter is a log sink safe for concurrent writes.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestTLSOff(t *testing.T) {
	t.Run("a TLS client on the plain port is logged once with the fix", func(t *testing.T) {
		logs := &syncWriter{}
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) }))
		for range 2 {
			conn, err := net.Dial("tcp", srv.Domain())
			require.NoError(t, err)
			tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			assert.Error(t, tc.HandshakeContext(ctx))
			cancel()
			conn.Close()
		}
		eventually(t, "the warning", func() bool { return strings.Contains(logs.String(), "spoke TLS to the plain HTTP port") })
		assert.Equal(t, 1, strings.Count(logs.String(), "spoke TLS to the plain HTTP port"))
		assert.Contains(t, logs.String(), "--tls on")
	})
	t.Run("without TLS there is no CA to fetch", func(t *testing.T) {
		srv := emutest.New(t)
		resp, err := http.Get(srv.URL() + "/_emulator/ca.pem")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}
