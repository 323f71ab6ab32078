package emulator

import (
	"time"

	"github.com/iot-emulator/iot-emulator/internal/broker"
	"github.com/iot-emulator/iot-emulator/internal/control"
)

// Listener timeouts of the RPC and admin ports. A client that trickles
// its headers (slow-loris) is cut after ReadHeaderTimeout, one that
// trickles its body after ReadTimeout; neither holds more than its own
// connection's goroutine meanwhile, so normal requests are not starved.
// ReadTimeout leaves a 4 MB body room on a slow link; WriteTimeout is not
// set, since a fault rule's latency may legitimately hold an answer.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	IdleTimeout       = 120 * time.Second
)

// MQTTLimits bound what one MQTT client can make the broker do: the
// largest packet, CONNECTs and refused logins per IP, subscriptions per
// client, PUBLISHes per device. A zero field is its default; Off switches
// all but the packet size off (load tests).
type MQTTLimits = broker.Limits

// Defaults of MQTTLimits and of the loose-mode account cap.
const (
	DefaultMQTTMaxPacket    = broker.DefaultMaxPacket
	DefaultMaxLooseAccounts = control.DefaultMaxLooseAccounts
)

// MQTTSizes reports what the broker keeps per client input: its login,
// refused-login and uplink buckets and its session entries (0s with the
// broker off). The tests of bounded memory read it.
func (s *Server) MQTTSizes() (logins, refused, uplink, sessions int) {
	if s.broker == nil {
		return 0, 0, 0, 0
	}
	return s.broker.Sizes()
}
