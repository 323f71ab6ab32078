package events_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/events"
)

func TestBus(t *testing.T) {
	t.Run("every subscriber gets every event in order", func(t *testing.T) {
		var b events.Bus
		s1, s2 := b.Subscribe(4), b.Subscribe(4)
		defer s1.Close()
		defer s2.Close()
		b.Publish(events.Event{Kind: "a"})
		b.Publish(events.Event{Kind: "b"})
		for _, s := range []*events.Subscription{s1, s2} {
			assert.Equal(t, "a", (<-s.C).Kind)
			assert.Equal(t, "b", (<-s.C).Kind)
		}
	})
	t.Run("a full subscriber loses events without blocking the publisher", func(t *testing.T) {
		var b events.Bus
		s := b.Subscribe(1)
		defer s.Close()
		for range 3 {
			b.Publish(events.Event{Kind: "x"})
		}
		assert.Equal(t, 2, s.Dropped())
		assert.Len(t, s.C, 1)
	})
	t.Run("a closed subscription's channel is closed and gets nothing more", func(t *testing.T) {
		var b events.Bus
		s := b.Subscribe(1)
		s.Close()
		s.Close() // twice is harmless
		b.Publish(events.Event{Kind: "x"})
		_, open := <-s.C
		require.False(t, open)
	})
}
