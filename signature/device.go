package signature

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
)

// The sign methods of a device's MQTT password (docs/fidelity.md,
// devices §3.1); hmacmd5 is the default when a device names none.
const (
	HmacMD5    = "hmacmd5"
	HmacSHA1   = "hmacsha1"
	HmacSHA256 = "hmacsha256"
)

// Errors of ParseDeviceLogin, for the broker to pick its CONNACK code.
var (
	// ErrDeviceClientID: the client identifier has no |…| part, or its
	// sign method is not one of the three.
	ErrDeviceClientID = errors.New("malformed client identifier")
	// ErrDeviceUsername: the username is not DeviceName&ProductKey.
	ErrDeviceUsername = errors.New("malformed username")
)

// DeviceLogin is what a device's MQTT CONNECT says of it.
type DeviceLogin struct {
	// ClientID is the bare client id, the text before the first '|'; it is
	// hashed into the password and otherwise free.
	ClientID string
	// Params are the k=v pairs between the first and the last '|', keys
	// lower-cased; the last of a repeated key wins.
	Params map[string]string
	// ProductKey and DeviceName come from the username.
	ProductKey, DeviceName string
	// SignMethod is the lower-cased signmethod, hmacmd5 when absent.
	SignMethod string
}

// Timestamp returns the timestamp parameter and whether it was sent; it is
// hashed into the password only when sent.
func (l DeviceLogin) Timestamp() (string, bool) {
	ts, ok := l.Params["timestamp"]
	return ts, ok
}

// ParseDeviceLogin reads a CONNECT's client identifier ("id|k=v,…|") and
// username ("DeviceName&ProductKey") by the rules real SDKs need: the
// parameters lie between the first and the last '|' (a browser SDK puts
// one inside a value), whitespace around pairs is trimmed, empty items are
// skipped, keys match case-insensitively and unknown ones are kept but
// ignored.
func ParseDeviceLogin(clientIdentifier, username string) (DeviceLogin, error) {
	var l DeviceLogin
	first := strings.IndexByte(clientIdentifier, '|')
	last := strings.LastIndexByte(clientIdentifier, '|')
	if first < 0 || last == first {
		return l, ErrDeviceClientID
	}
	// An old Node SDK puts a newline and spaces before the id and hashes it
	// without them.
	l.ClientID = strings.TrimSpace(clientIdentifier[:first])
	l.Params = map[string]string{}
	for _, item := range strings.Split(clientIdentifier[first+1:last], ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		l.Params[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	l.SignMethod = strings.ToLower(l.Params["signmethod"])
	if l.SignMethod == "" {
		l.SignMethod = HmacMD5
	}
	if newHash(l.SignMethod) == nil {
		return l, ErrDeviceClientID
	}
	amp := strings.LastIndexByte(username, '&')
	if amp <= 0 || amp == len(username)-1 {
		return l, ErrDeviceUsername
	}
	l.DeviceName, l.ProductKey = username[:amp], username[amp+1:]
	return l, nil
}

func newHash(method string) func() hash.Hash {
	switch method {
	case HmacMD5:
		return md5.New
	case HmacSHA1:
		return sha1.New
	case HmacSHA256:
		return sha256.New
	}
	return nil
}

// DevicePassword is the device-secret password: the lower-case hex HMAC,
// keyed by the DeviceSecret, of "clientId…deviceName…productKey…" and,
// when the device sends one, "timestamp…". An unknown method gives "".
func DevicePassword(method, deviceSecret, clientID, deviceName, productKey, timestamp string, withTimestamp bool) string {
	content := "clientId" + clientID + "deviceName" + deviceName + "productKey" + productKey
	if withTimestamp {
		content += "timestamp" + timestamp
	}
	return hexHMAC(method, deviceSecret, content)
}

// RegisterPassword is the dynamic-registration password: the hex HMAC,
// keyed by the ProductSecret, of "deviceName…productKey…random…".
func RegisterPassword(method, productSecret, deviceName, productKey, random string) string {
	return hexHMAC(method, productSecret, "deviceName"+deviceName+"productKey"+productKey+"random"+random)
}

func hexHMAC(method, key, content string) string {
	h := newHash(method)
	if h == nil {
		return ""
	}
	m := hmac.New(h, []byte(key))
	m.Write([]byte(content))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyDevicePassword reports whether got, hex in either case, is want.
func VerifyDevicePassword(want, got string) bool {
	return want != "" && hmac.Equal([]byte(want), []byte(strings.ToLower(got)))
}

// DeviceCredentials returns the client identifier, username and password
// a device sends to log in with its DeviceSecret (securemode=3, no
// timestamp), for users' own device code and tests. An empty clientID is
// "ProductKey&DeviceName", as the Node SDK sends; an empty method is
// hmacsha256.
func DeviceCredentials(productKey, deviceName, deviceSecret, clientID, method string) (identifier, username, password string) {
	if clientID == "" {
		clientID = productKey + "&" + deviceName
	}
	if method == "" {
		method = HmacSHA256
	}
	identifier = clientID + "|securemode=3,signmethod=" + method + "|"
	return identifier, deviceName + "&" + productKey, DevicePassword(method, deviceSecret, clientID, deviceName, productKey, "", false)
}
