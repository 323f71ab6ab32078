package pop

import (
	"sync"
	"time"
)

// nonceCache remembers nonces per AccessKeyId. A request is fresh while its
// timestamp is within ±window of now, so a nonce can come back at most 2 ×
// window after it was first seen; it is kept that long and no longer. The
// expiry queue is in arrival order, so sweeping is amortised O(1), and a
// hard cap bounds memory under floods (the oldest nonces go first).
type nonceCache struct {
	mu     sync.Mutex
	keep   time.Duration
	max    int
	seen   map[string]time.Time
	queue  []nonceEntry
	head   int
	latest time.Time
}

type nonceEntry struct {
	key     string
	expires time.Time
}

// maxNonces bounds the cache: at ~150 bytes a nonce, about 150 MB.
const maxNonces = 1_000_000

func newNonceCache(window time.Duration) *nonceCache {
	return &nonceCache{keep: 2 * window, max: maxNonces, seen: map[string]time.Time{}}
}

// add records a nonce and reports false if it is still remembered.
func (n *nonceCache) add(ak, nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	// Expiries are queued in the order they were set; a clock that steps
	// back must not put an earlier expiry behind a later one.
	if now.Before(n.latest) {
		now = n.latest
	}
	n.latest = now
	for n.head < len(n.queue) && (!now.Before(n.queue[n.head].expires) || len(n.seen) >= n.max) {
		e := n.queue[n.head]
		if exp, ok := n.seen[e.key]; ok && exp.Equal(e.expires) {
			delete(n.seen, e.key)
		}
		n.queue[n.head] = nonceEntry{}
		n.head++
	}
	if n.head > len(n.queue)/2 {
		n.queue = append(n.queue[:0], n.queue[n.head:]...)
		n.head = 0
	}
	key := ak + "\x00" + nonce
	if _, ok := n.seen[key]; ok {
		return false
	}
	exp := now.Add(n.keep)
	n.seen[key] = exp
	n.queue = append(n.queue, nonceEntry{key, exp})
	return true
}

// len reports how many nonces are remembered.
func (n *nonceCache) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}

// reset forgets every nonce.
func (n *nonceCache) reset() {
	n.mu.Lock()
	n.seen = map[string]time.Time{}
	n.queue, n.head = nil, 0
	n.mu.Unlock()
}
