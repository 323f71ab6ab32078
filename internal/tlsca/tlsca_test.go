package tlsca_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/tlsca"
)

func TestGenerate(t *testing.T) {
	t.Run("the server certificate names the loopback, the real endpoints and the extra hosts, and chains to the CA", func(t *testing.T) {
		m, err := tlsca.Generate(t.TempDir(), []string{"emulator", "10.1.2.3"}, time.Now())
		require.NoError(t, err)
		leaf, err := x509.ParseCertificate(m.Config.Certificates[0].Certificate[0])
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(m.CAPEM))
		for _, name := range []string{"localhost", "127.0.0.1", "::1", "iot.cn-shanghai.aliyuncs.com", "a1X.iot-as-mqtt.cn-shanghai.aliyuncs.com", "emulator", "10.1.2.3"} {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name})
			assert.NoError(t, err, name)
		}
		_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"})
		assert.Error(t, err)
	})
	t.Run("the CA is made once and its key is private", func(t *testing.T) {
		dir := t.TempDir()
		a, err := tlsca.Generate(dir, nil, time.Now())
		require.NoError(t, err)
		b, err := tlsca.Generate(dir, nil, time.Now())
		require.NoError(t, err)
		assert.Equal(t, a.CAPEM, b.CAPEM)
		st, err := os.Stat(filepath.Join(dir, tlsca.CAKeyFile))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	})
	t.Run("a CA whose key went missing is not replaced", func(t *testing.T) {
		dir := t.TempDir()
		_, err := tlsca.Generate(dir, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, os.Remove(filepath.Join(dir, tlsca.CAKeyFile)))
		_, err = tlsca.Generate(dir, nil, time.Now())
		assert.ErrorContains(t, err, "needs both")
	})
	t.Run("a corrupt ca.pem is an error naming the way out", func(t *testing.T) {
		dir := t.TempDir()
		_, err := tlsca.Generate(dir, nil, time.Now())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, tlsca.CAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), 0o644))
		_, err = tlsca.Generate(dir, nil, time.Now())
		assert.ErrorContains(t, err, "delete both files")
	})
}
