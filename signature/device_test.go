package signature_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

// The password vectors of docs/fidelity.md, devices §3.4.
func TestDevicePasswordVectors(t *testing.T) {
	for _, tc := range []struct {
		name, method, secret, cid, dn, pk, ts string
		withTS                                bool
		want                                  string
	}{
		{"the documentation's example (V1)", "hmacsha1", "secret", "12345", "device", "pk", "789", true, "fafd82a3d602b37fb0fa8b7892f24a477f851a14"},
		{"a published device (V2)", "hmacsha1", "oLyaKqVxtRvjH284LdhqVgVUx1UPy6zq", "SN1928339", "light1983432", "a14Xib5kdYd", "1539421321846", true, "b2488041f64f425016b467ee1c94959ebd592ad1"},
		{"the Go device SDK's test (V3)", "hmacsha256", "testSecret", "testProduct.testDevice", "testDevice", "testProduct", "1700000000000", true, "cf010f6c3258ec9917e7cee0dad88c964d0fd125343140b6a78e715e87da3040"},
		{"an ESP8266 firmware test (V4)", "hmacmd5", "secret", "12345", "device", "pk", "789", true, "14b198324fe55e1d3c88f2e705e201ee"},
		{"the C SDK's fixed timestamp (V5)", "hmacsha256", "secret", "pk.device", "device", "pk", "2524608000000", true, "2eab47d05ec94fab1a34e7e9f54aebd34a1e15770f932e05300193007e0091e9"},
		{"no timestamp at all (V6)", "hmacsha1", "secret", "12345", "device", "pk", "", false, "3504e4df7ce4766d30f796ee973c9ce7fc5425cb"},
		{"Python's timestamp in seconds (V7)", "hmacsha1", "secret", "pk&device", "device", "pk", "1700000000", true, "d724b02afe3c2feb34006bf42504d521ca66909a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := signature.DevicePassword(tc.method, tc.secret, tc.cid, tc.dn, tc.pk, tc.ts, tc.withTS)
			assert.Equal(t, tc.want, got)
			assert.True(t, signature.VerifyDevicePassword(got, strings.ToUpper(tc.want)), "upper-case hex is accepted")
		})
	}
	t.Run("the dynamic registration vector", func(t *testing.T) {
		assert.Equal(t, "e45e5a61c5fa21ea74358d453bf4230c328affe0cb892df591364eca5e65e3ec",
			signature.RegisterPassword("hmacsha256", "psecret", "device", "pk", "8Ygb7ULYh53B6OA"))
	})
}

func TestParseDeviceLogin(t *testing.T) {
	for _, tc := range []struct {
		name, id, user string
		cid, method    string
		ts             string
		hasTS          bool
	}{
		{"the C SDK's identifier", "pk.dn|timestamp=2524608000000,_v=sdk-c-3.0.1,securemode=3,signmethod=hmacsha256,lan=C,gw=0,ext=0|", "dn&pk", "pk.dn", "hmacsha256", "2524608000000", true},
		{"the Link SDK's trailing comma", "pk.dn|timestamp=2524608000000,_ss=1,securemode=2,signmethod=hmacsha256,ext=3,|", "dn&pk", "pk.dn", "hmacsha256", "2524608000000", true},
		{"the old Node SDK's newlines and spaces", "\n        pk&dn|securemode=3,\n        signmethod=hmacsha1,\n        timestamp=1556|\n      ", "dn&pk", "pk&dn", "hmacsha1", "1556", true},
		{"a browser's '|' inside a value", "pk&dn|securemode=3,signmethod=hmacsha1,lan=JS|Broswer ,_v=1.2.8|", "dn&pk", "pk&dn", "hmacsha1", "", false},
		{"a firmware identifier without timestamp", "abc|securemode=3,signmethod=hmacsha1|", "dn&pk", "abc", "hmacsha1", "", false},
		{"no sign method is hmacmd5, and keys match in any case", "abc|securemode=3,SignMethod=HmacMD5|", "dn&pk", "abc", "hmacmd5", "", false},
		{"no sign method at all", "abc|securemode=3|", "dn&pk", "abc", "hmacmd5", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := signature.ParseDeviceLogin(tc.id, tc.user)
			require.NoError(t, err)
			assert.Equal(t, tc.cid, l.ClientID)
			assert.Equal(t, tc.method, l.SignMethod)
			assert.Equal(t, "pk", l.ProductKey)
			assert.Equal(t, "dn", l.DeviceName)
			ts, ok := l.Timestamp()
			assert.Equal(t, tc.hasTS, ok)
			assert.Equal(t, tc.ts, ts)
		})
	}
	for _, tc := range []struct {
		name, id, user string
		want           error
	}{
		{"an identifier without |…| is refused", "plainclient", "dn&pk", signature.ErrDeviceClientID},
		{"a single '|' is refused", "abc|securemode=3", "dn&pk", signature.ErrDeviceClientID},
		{"an unknown sign method is refused", "abc|signmethod=hmacsha512|", "dn&pk", signature.ErrDeviceClientID},
		{"a username without '&' is refused", "abc|securemode=3|", "dnpk", signature.ErrDeviceUsername},
		{"a username with an empty product key is refused", "abc|securemode=3|", "dn&", signature.ErrDeviceUsername},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signature.ParseDeviceLogin(tc.id, tc.user)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestDeviceCredentials(t *testing.T) {
	t.Run("what DeviceCredentials makes logs in", func(t *testing.T) {
		for _, m := range []string{signature.HmacMD5, signature.HmacSHA1, signature.HmacSHA256} {
			id, user, pass := signature.DeviceCredentials("a1TestProd1", "light01", "s3cret", "", m)
			l, err := signature.ParseDeviceLogin(id, user)
			require.NoError(t, err)
			assert.Equal(t, "a1TestProd1&light01", l.ClientID)
			ts, ok := l.Timestamp()
			want := signature.DevicePassword(l.SignMethod, "s3cret", l.ClientID, l.DeviceName, l.ProductKey, ts, ok)
			assert.True(t, signature.VerifyDevicePassword(want, pass), m)
		}
	})
}
