package pop

import (
	"fmt"
	"testing"
	"time"
)

func TestNonceCacheMemory(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	t.Run("nonces older than twice the window are dropped as new ones arrive", func(t *testing.T) {
		n := newNonceCache(15 * time.Minute)
		for i := 0; i < 1000; i++ {
			if !n.add("ak", fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second)) {
				t.Fatalf("nonce %d refused", i)
			}
		}
		if got := n.len(); got != 1000 {
			t.Fatalf("remembered %d, want 1000", got)
		}
		n.add("ak", "late", t0.Add(30*time.Minute+500*time.Second))
		if got := n.len(); got != 500 {
			t.Fatalf("after 30m+500s remembered %d, want the 499 younger ones plus the new one", got)
		}
		if len(n.queue)-n.head != n.len() {
			t.Fatalf("queue holds %d entries for %d nonces", len(n.queue)-n.head, n.len())
		}
	})
	t.Run("the hard cap drops the oldest nonces first", func(t *testing.T) {
		n := newNonceCache(15 * time.Minute)
		n.max = 100
		for i := 0; i < 250; i++ {
			n.add("ak", fmt.Sprint(i), t0)
		}
		if got := n.len(); got != 100 {
			t.Fatalf("remembered %d, want the cap of 100", got)
		}
		if !n.add("ak", "0", t0) {
			t.Fatal("the oldest nonce should have been dropped")
		}
		if n.add("ak", "249", t0) {
			t.Fatal("the newest nonce should still be remembered")
		}
	})
	t.Run("a clock stepping back neither forgets nor corrupts the order", func(t *testing.T) {
		n := newNonceCache(time.Minute)
		n.add("ak", "a", t0)
		n.add("ak", "b", t0.Add(-time.Hour))
		if n.add("ak", "a", t0.Add(time.Minute)) || n.add("ak", "b", t0.Add(time.Minute)) {
			t.Fatal("both nonces must still be remembered")
		}
		if !n.add("ak", "b", t0.Add(2*time.Minute+time.Second)) {
			t.Fatal("b must expire with a")
		}
	})
	t.Run("reset forgets everything", func(t *testing.T) {
		n := newNonceCache(time.Minute)
		n.add("ak", "a", t0)
		n.reset()
		if !n.add("ak", "a", t0) {
			t.Fatal("a nonce survived reset")
		}
	})
}

func TestDeepPageLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := &limiter{on: true, limits: map[string]float64{"QueryDevice": 50}, deep: map[string]float64{"QueryDevice": 2}}
	call := func(page, size string) *Call {
		return &Call{Action: "QueryDevice", AccessKeyID: "ak", Params: map[string]string{"CurrentPage": page, "PageSize": size}}
	}
	for i := 0; i < 2; i++ {
		if l.take(call("2000", "50"), now) != nil {
			t.Fatalf("deep call %d refused", i)
		}
	}
	th := l.take(call("2000", "50"), now)
	if th == nil || th.limit != 2 {
		t.Fatalf("the third deep call in an instant must be refused at 2 QPS, got %+v", th)
	}
	for i := 0; i < 50; i++ {
		if l.take(call("1", "50"), now) != nil {
			t.Fatalf("shallow call %d refused: deep pages have a bucket of their own", i)
		}
	}
}
