package pop

import (
	"math"
	"strconv"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/buckets"
)

// throttle is why a call was refused, for the x-ratelimit-user-api header.
type throttle struct {
	limit float64
	// wait is how long until the bucket holds a token again; full is how
	// long until it is full.
	wait, full time.Duration
}

// limiter holds one token bucket per (account, action): burst N, refilled
// at N per second. N+k calls in the same instant therefore see k refusals,
// and a client that paces itself at N per second is never refused.
type limiter struct {
	on     bool
	limits map[string]float64
	// deep holds the deep-page limits, for the actions that have one.
	deep map[string]float64
	// buckets is capped: a loose-mode client inventing AccessKeyIds makes
	// idle (full) buckets, which are dropped first (package buckets).
	buckets buckets.Set
}

func newLimiter(on bool, limits []Limit) *limiter {
	l := &limiter{on: on, limits: map[string]float64{}, deep: map[string]float64{}}
	for _, lim := range limits {
		l.limits[lim.Action] = lim.QPS
		l.deep[lim.Action] = lim.DeepQPS
	}
	return l
}

// limitFor is the action's limit in force (0: unlimited).
func (l *limiter) limitFor(action string) float64 { return l.limits[action] }

// take spends one token of the call's bucket at now, or returns why not.
func (l *limiter) take(c *Call, now time.Time) *throttle {
	if !l.on {
		return nil
	}
	key := c.Action
	q := l.limits[c.Action]
	if l.deep[c.Action] > 0 && deepPage(c) {
		key += "#deep"
		if d := l.deep[c.Action]; q <= 0 || d < q {
			q = d
		}
	}
	if q <= 0 {
		return nil
	}
	burst := max(1, int(q))
	key = c.AccessKeyID + "\x00" + key
	ok, tokens := l.buckets.Take(key, q, burst, now)
	if ok {
		return nil
	}
	return &throttle{
		limit: q,
		wait:  secondsToDuration((1 - tokens) / q),
		full:  secondsToDuration((float64(burst) - tokens) / q),
	}
}

func secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Ceil(s * float64(time.Second)))
}

// header renders the x-ratelimit-user-api value the Tea SDKs read
// (darabonba GetThrottlingTimeLeft splits on ',' then ':' without trimming
// and parses TimeLeft as an integer number of milliseconds).
func (t *throttle) header() string {
	ms := func(d time.Duration) string {
		return strconv.FormatInt(max(1, (d+time.Millisecond-1).Milliseconds()), 10)
	}
	return "Limit:" + strconv.FormatFloat(t.limit, 'f', -1, 64) + ",Remain:0,TimeLeft:" + ms(t.wait) + ",Reset:" + ms(t.full)
}

// reset refills every bucket.
func (l *limiter) reset() {
	l.buckets.Reset()
}

func deepPage(c *Call) bool {
	page, err1 := ParseInt(c.Params["CurrentPage"])
	size, err2 := ParseInt(c.Params["PageSize"])
	// Compared by division: page × size may not fit an int64.
	return err1 == nil && err2 == nil && size > 0 && page >= (100_000+size-1)/size
}
