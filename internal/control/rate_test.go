package control

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRateMeter(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name  string
		calls []time.Duration // after t0
		at    time.Duration
		want  float64
	}{
		{"no calls is no rate", nil, 0, 0},
		{"calls within the window are averaged over it", []time.Duration{0, 0, 0, time.Second, time.Second}, time.Second, 0.5},
		{"calls older than the window do not count", []time.Duration{0, 0, 12 * time.Second}, 12 * time.Second, 0.1},
		{"a slot reused a minute later forgets its old count", []time.Duration{0, 0, 0, 60 * time.Second}, 60 * time.Second, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m rateMeter
			for _, c := range tc.calls {
				m.add(t0.Add(c))
			}
			assert.InDelta(t, tc.want, m.perSecond(t0.Add(tc.at), rateWindow), 1e-9)
		})
	}
}
