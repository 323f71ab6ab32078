package iot

import "crypto/rand"

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomString returns n characters drawn uniformly from [A-Za-z0-9], the
// alphabet of every generated identifier and secret of the real service.
func RandomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+4)
	for len(out) < n {
		rand.Read(buf) // never fails on supported platforms
		for _, c := range buf {
			// 248 = 4*62: rejecting above it keeps the draw uniform.
			if c < 248 && len(out) < n {
				out = append(out, alnum[c%62])
			}
		}
	}
	return string(out)
}

// NewProductKey returns an 11-character key shaped like real ones ("a1" + 9).
func NewProductKey() string { return "a1" + RandomString(9) }

// NewProductSecret returns a 16-character product secret.
func NewProductSecret() string { return RandomString(16) }

// NewDeviceSecret returns a 32-character device secret.
func NewDeviceSecret() string { return RandomString(32) }

// NewDeviceName returns a 20-character platform-generated device name.
func NewDeviceName() string { return RandomString(20) }

// NewDeviceIDs returns the legacy 20-character DeviceId and the IotId built
// from it with the 6-digit suffix seen in the documentation's examples.
func NewDeviceIDs() (deviceID, iotID string) {
	id := RandomString(20)
	return id, id + "000100"
}
