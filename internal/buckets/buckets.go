// Package buckets provides token buckets keyed by client input (an
// AccessKeyId, an IP, a device), with a cap on how many are kept, so a
// client that invents keys cannot grow memory without bound.
package buckets

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Set is a capped map of token buckets. A bucket that has refilled to its
// burst is indistinguishable from a new one, so dropping it changes no
// answer: that is the eviction Set prefers. Only when more than Max keys
// are active at once does it drop busy buckets too (those keys then get a
// fresh, full bucket: the limit loosens, memory does not grow).
type Set struct {
	// Max is how many buckets are kept; 0 is DefaultMax.
	Max int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// DefaultMax is the cap of a Set whose Max is 0.
const DefaultMax = 100_000

// Take spends one token of key's bucket (limit per second, burst) at now.
// It reports whether the token was there, and the tokens left.
func (s *Set) Take(key string, limit float64, burst int, now time.Time) (bool, float64) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*rate.Limiter{}
	}
	b, ok := s.m[key]
	if !ok {
		s.evict(now)
		b = rate.NewLimiter(rate.Limit(limit), burst)
		s.m[key] = b
	}
	s.mu.Unlock()
	allowed := b.AllowN(now, 1)
	return allowed, b.TokensAt(now)
}

// evict makes room for one more bucket; s.mu is held.
func (s *Set) evict(now time.Time) {
	max := s.Max
	if max <= 0 {
		max = DefaultMax
	}
	if len(s.m) < max {
		return
	}
	for k, b := range s.m {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(s.m, k)
		}
	}
	// If that freed little, busy buckets go too, down to half the cap, so
	// the next full scan is at least max/4 insertions away (amortised O(1)
	// per new key).
	if len(s.m) <= max*3/4 {
		return
	}
	for k := range s.m {
		if len(s.m) <= max/2 {
			break
		}
		delete(s.m, k)
	}
}

// Peek reports the tokens in key's bucket at now without spending one,
// and whether the bucket exists.
func (s *Set) Peek(key string, now time.Time) (float64, bool) {
	s.mu.Lock()
	b, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return 0, false
	}
	return b.TokensAt(now), true
}

// Len is how many buckets are kept.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Reset drops every bucket.
func (s *Set) Reset() {
	s.mu.Lock()
	s.m = nil
	s.mu.Unlock()
}
