package iot

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"sync"
)

// seeded, when set, draws identifiers and secrets from a seeded sequence
// instead of crypto/rand, so that a suite gets the same ones in every run.
var seeded struct {
	sync.Mutex
	r *mrand.ChaCha8
}

// SeedRandom makes every later identifier and secret of the process come from a
// sequence fixed by n (0 returns to crypto/rand). It is for tests that
// want the same generated values in every run; seeded secrets are
// predictable by design.
func SeedRandom(n uint64) {
	seeded.Lock()
	defer seeded.Unlock()
	if n == 0 {
		seeded.r = nil
		return
	}
	var key [32]byte
	for i := range 8 {
		key[i] = byte(n >> (8 * i))
	}
	seeded.r = mrand.NewChaCha8(key)
}

func fill(buf []byte) {
	seeded.Lock()
	defer seeded.Unlock()
	if seeded.r != nil {
		seeded.r.Read(buf)
		return
	}
	rand.Read(buf) // never fails on supported platforms
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomString returns n characters drawn uniformly from [A-Za-z0-9], the
// alphabet of every generated identifier and secret of the real service.
func RandomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+4)
	for len(out) < n {
		fill(buf)
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
