package buckets

import (
	"strconv"
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("a bucket refuses past its burst and refills at its rate", func(t *testing.T) {
		var s Set
		for i := 0; i < 3; i++ {
			if ok, _ := s.Take("k", 1, 3, now); !ok {
				t.Fatalf("take %d refused", i)
			}
		}
		if ok, _ := s.Take("k", 1, 3, now); ok {
			t.Fatal("take past the burst allowed")
		}
		if ok, _ := s.Take("k", 1, 3, now.Add(time.Second)); !ok {
			t.Fatal("no token a second later")
		}
	})
	t.Run("a million distinct keys keep at most Max buckets", func(t *testing.T) {
		s := Set{Max: 1000}
		for i := 0; i < 1_000_000; i++ {
			s.Take(strconv.Itoa(i), 10, 10, now)
			if s.Len() > 1000 {
				t.Fatalf("%d buckets after %d keys", s.Len(), i)
			}
		}
	})
	t.Run("idle buckets go first, so a busy key keeps its empty bucket", func(t *testing.T) {
		s := Set{Max: 10}
		s.Take("busy", 1, 1, now)
		later := now.Add(time.Hour)
		s.Take("busy", 1, 1, later) // empty again at later
		for i := 0; i < 9; i++ {
			s.Take(strconv.Itoa(i), 1, 1, now)
		}
		s.Take("new", 1, 1, later) // at the cap: the nine full ones are evicted
		if tokens, ok := s.Peek("busy", later); !ok || tokens >= 1 {
			t.Fatalf("busy bucket %v %v, want kept and empty", tokens, ok)
		}
	})
}
