package signature_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

func TestSignV1(t *testing.T) {
	params := map[string]string{"Action": "QueryProduct", "Version": "2018-01-20", "ProductKey": "a1TestProd1"}
	t.Run("a signed call verifies with the same secret and not with another", func(t *testing.T) {
		q := signature.SignV1("GET", "ak", "secret", params)
		sig := q.Get("Signature")
		sts := signature.V1StringToSign("GET", q)
		assert.True(t, signature.V1Verify("secret", sts, sig))
		assert.False(t, signature.V1Verify("other", sts, sig))
		assert.False(t, signature.V1Verify("secret", signature.V1StringToSign("POST", q), sig), "the method is signed")
	})
	t.Run("the common parameters are filled in and the caller's own are kept", func(t *testing.T) {
		q := signature.SignV1("POST", "ak", "secret", map[string]string{"Action": "X", "Timestamp": "2026-01-01T00:00:00Z"})
		assert.Equal(t, "ak", q.Get("AccessKeyId"))
		assert.Equal(t, "HMAC-SHA1", q.Get("SignatureMethod"))
		assert.Equal(t, "1.0", q.Get("SignatureVersion"))
		assert.Len(t, q.Get("SignatureNonce"), 32)
		assert.Equal(t, "2026-01-01T00:00:00Z", q.Get("Timestamp"))
	})
	t.Run("two calls get different nonces", func(t *testing.T) {
		assert.NotEqual(t, signature.SignV1("GET", "ak", "s", params).Get("SignatureNonce"), signature.SignV1("GET", "ak", "s", params).Get("SignatureNonce"))
	})
	t.Run("the encoded form decodes back to the signed set", func(t *testing.T) {
		q := signature.SignV1("GET", "ak", "s", map[string]string{"Action": "X", "DeviceName.1": "a b&c"})
		back, err := url.ParseQuery(q.Encode())
		require.NoError(t, err)
		assert.Equal(t, q, back)
	})
}
