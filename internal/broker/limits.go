package broker

import (
	"strconv"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iot-emulator/iot-emulator/internal/buckets"
)

// Limits bound what one client can make the broker do. The platform
// documents a 256 KB message and per-device throttling without rates;
// the rates here are the emulator's (docs/fidelity.md, README
// "Reliability"). A zero field is its default.
type Limits struct {
	// Off switches every limit but MaxPacket off (load tests).
	Off bool
	// MaxPacket is the largest MQTT packet read, in bytes (256 KB of
	// payload plus room for the topic and properties).
	MaxPacket int
	// LoginRate and LoginBurst bound CONNECTs per remote IP.
	LoginRate  float64
	LoginBurst int
	// RefusedRate and RefusedBurst bound refused logins per remote IP;
	// past them every CONNECT from that IP is answered "server busy"
	// until the bucket refills.
	RefusedRate  float64
	RefusedBurst int
	// MaxFilters bounds the subscriptions one client is granted, over all
	// its SUBSCRIBE packets; filters past it are refused (SUBACK 0x80).
	MaxFilters int
	// UplinkRate and UplinkBurst bound one device's PUBLISHes; one past
	// them is dropped and journalled.
	UplinkRate  float64
	UplinkBurst int
	// ConnectTimeout is how long a new connection may take to send its
	// CONNECT (10 s).
	ConnectTimeout time.Duration
	// MaxKeys caps the buckets kept per kind (IPs, devices).
	MaxKeys int
}

// Defaults of Limits.
const (
	DefaultMaxPacket    = 266_240
	DefaultLoginRate    = 500
	DefaultLoginBurst   = 1000
	DefaultRefusedRate  = 100
	DefaultRefusedBurst = 1000
	DefaultMaxFilters   = 100
	DefaultUplinkRate   = 30
	DefaultUplinkBurst  = 30
	DefaultMaxKeys      = 100_000
)

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxPacket, DefaultMaxPacket)
	deff(&l.LoginRate, DefaultLoginRate)
	def(&l.LoginBurst, DefaultLoginBurst)
	deff(&l.RefusedRate, DefaultRefusedRate)
	def(&l.RefusedBurst, DefaultRefusedBurst)
	def(&l.MaxFilters, DefaultMaxFilters)
	deff(&l.UplinkRate, DefaultUplinkRate)
	def(&l.UplinkBurst, DefaultUplinkBurst)
	def(&l.MaxKeys, DefaultMaxKeys)
	return l
}

// Refusals and drops of the limits (devices §5: a throttled CONNECT is
// return code 3, v5 0x89 "server busy").
var (
	refuseLoginRate = refusal{"too many connects from this address", 3, packets.ErrServerBusy}
	refuseStorm     = refusal{"too many refused logins from this address", 3, packets.ErrServerBusy}
)

// limiter holds the broker's buckets.
type limiter struct {
	cfg     Limits
	now     func() time.Time
	logins  buckets.Set
	refused buckets.Set
	uplink  buckets.Set
}

func newLimiter(cfg Limits, now func() time.Time) *limiter {
	cfg = cfg.withDefaults()
	l := &limiter{cfg: cfg, now: now}
	l.logins.Max, l.refused.Max, l.uplink.Max = cfg.MaxKeys, cfg.MaxKeys, cfg.MaxKeys
	return l
}

// admitLogin spends a CONNECT token of the IP, or says why not. An IP
// that has used up its refused logins is refused before its credentials
// are looked at, so a password-guessing storm costs no store reads.
func (l *limiter) admitLogin(ip string) *refusal {
	if l.cfg.Off {
		return nil
	}
	now := l.now()
	if ok, _ := l.logins.Take(ip, l.cfg.LoginRate, l.cfg.LoginBurst, now); !ok {
		return &refuseLoginRate
	}
	if tokens, ok := l.refused.Peek(ip, now); ok && tokens < 1 {
		return &refuseStorm
	}
	return nil
}

// refusedLogin counts a refused login of the IP.
func (l *limiter) refusedLogin(ip string) {
	if !l.cfg.Off {
		l.refused.Take(ip, l.cfg.RefusedRate, l.cfg.RefusedBurst, l.now())
	}
}

// admitUplink spends a PUBLISH token of the device.
func (l *limiter) admitUplink(device string) bool {
	if l.cfg.Off {
		return true
	}
	ok, _ := l.uplink.Take(device, l.cfg.UplinkRate, l.cfg.UplinkBurst, l.now())
	return ok
}

// uplinkDropped is what OnPublish answers for a publish over the limit:
// a v5 QoS 1 publish gets PUBACK 0x97 "quota exceeded"; otherwise the
// publish is dropped without an acknowledgement (a v3 PUBACK has no code).
func uplinkDropped(cl *mqtt.Client, pk packets.Packet) error {
	if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos > 0 {
		return packets.ErrQuotaExceeded
	}
	return packets.ErrRejectPacket
}

// Sizes reports how many buckets the limiter keeps (logins, refused,
// uplink) and the live-connection entries, for the tests that show memory
// settling. identities is left out: it is keyed by device, not by
// client id, so the store's devices bound it.
func (b *Broker) Sizes() (logins, refused, uplink, sessions int) {
	b.mu.Lock()
	sessions = len(b.sessions) + len(b.current) + len(b.byConn)
	b.mu.Unlock()
	return b.limits.logins.Len(), b.limits.refused.Len(), b.limits.uplink.Len(), sessions
}

// maxFilters is the subscription cap in force.
func (l *limiter) maxFilters() int {
	if l.cfg.Off {
		return int(^uint(0) >> 1)
	}
	return l.cfg.MaxFilters
}

// admitPublish checks a device's PUBLISH against its uplink limit; a
// drop is journalled with its reason.
func (b *Broker) admitPublish(cl *mqtt.Client, pk packets.Packet) error {
	if cl.Net.Inline {
		return nil
	}
	sess := b.session(cl)
	if sess == nil || sess.register || b.limits.admitUplink(deviceKey(sess.dev.AccessKeyID, sess.dev.IotID)) {
		return nil
	}
	b.journal(sess, "publish dropped", 0, "uplink rate limit", map[string]string{"topic": pk.TopicName,
		"limit": strconv.FormatFloat(b.limits.cfg.UplinkRate, 'f', -1, 64) + "/s"})
	return uplinkDropped(cl, pk)
}
