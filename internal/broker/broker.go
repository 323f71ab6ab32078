// Package broker is the device endpoint: an embedded MQTT broker
// (mochi-mqtt) whose hooks log devices in with Alibaba's device-secret
// authentication, keep their status in the store through the domain's
// status machine, confine each device to its own topics, and journal
// what devices do. Cloud-to-device messages go out through its inline
// client.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/journal"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// Keep Alive bounds the real broker enforces (docs/fidelity.md, devices §2).
const (
	MinKeepalive = 30
	MaxKeepalive = 1200
)

// Config is how the broker listens and how strict it is.
type Config struct {
	// TCPAddr is the MQTT-over-TCP address ("127.0.0.1:0" picks a port).
	TCPAddr string
	// WSAddr, when set, serves MQTT over WebSocket at /mqtt.
	WSAddr string
	// TLSAddr, when set, serves MQTT over TLS with TLSConfig.
	TLSAddr   string
	TLSConfig *tls.Config
	// KeepaliveCheck refuses a Keep Alive outside 30–1200 s, as the real
	// broker does.
	KeepaliveCheck bool
	// Journal receives every device event.
	Journal func(journal.Entry)
	// Uplink receives what devices publish, after the topic check.
	Uplink func(dev iot.Device, topic string, payload []byte, qos byte)
	// Limits bound logins, subscriptions, uplink and packet size.
	Limits Limits
	Logger *slog.Logger
	Now    func() time.Time
}

// Broker is the running MQTT endpoint.
type Broker struct {
	cfg Config
	st  *store.Store
	srv *mqtt.Server
	log *slog.Logger
	// limits are the per-IP and per-device buckets (limits.go).
	limits *limiter
	tcp    *tcpListener
	tls    *tcpListener
	ws     *wsListener
	// store runs the hooks' store calls on a few workers (offload.go).
	store *offloader

	// closing is set once Close begins: disconnects after it change no
	// status (the store closes next; the next start puts every device
	// offline).
	closing atomic.Bool

	mu sync.Mutex
	// sessions holds the device behind each logged-in client, from its
	// CONNECT until its disconnect.
	sessions map[*mqtt.Client]*session
	// byConn finds a session's client by its connection, for ended.
	byConn map[net.Conn]*mqtt.Client
	// current is the one live client of each device (account + IotId): a
	// second login takes over the first.
	current map[string]*mqtt.Client
	// identities names the device behind each mochi client id, also
	// while a persistent session waits offline for its device.
	identities map[string]iot.Device
}

// session is one device's login.
type session struct {
	dev      iot.Device
	clientID string
	ip       string
	// replaced is set when a newer login of the same device, a kick or a
	// disable ended this one; its disconnect then changes no status.
	replaced bool
	cause    string
	// register marks a dynamic-registration session: it fetches the
	// DeviceSecret and changes no status.
	register bool
	// extRRPC is the client id's ext bit 0: sync services come over the
	// /ext/rrpc/ topics.
	extRRPC bool
	// granted counts the subscriptions this login was granted (limits.go).
	granted int
}

func deviceKey(accessKeyID, iotID string) string { return accessKeyID + "\x00" + iotID }

// New builds the broker over the store and starts its listeners.
func New(cfg Config, st *store.Store) (*Broker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Journal == nil {
		cfg.Journal = func(journal.Entry) {}
	}
	if cfg.Uplink == nil {
		cfg.Uplink = func(iot.Device, string, []byte, byte) {}
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumQos = 1 // QoS 2 is not supported by the platform
	// A v3 SUBACK may only say 0x80 for a refused filter.
	caps.Compatibilities.ObscureNotAuthorized = true
	// Each client's write queue is allocated whole at login: mochi's 8,192
	// slots are 64 KB a device. The queue only fills when the socket's own
	// buffer (hundreds of kilobytes) is full too, so 128 pending writes
	// (1 KB a device; 512 were half of the broker's heap at 10,000 devices
	// online) drop nothing a device that reads would have received.
	caps.MaximumClientWritesPending = 128
	b := &Broker{cfg: cfg, st: st, log: cfg.Logger, sessions: map[*mqtt.Client]*session{}, current: map[string]*mqtt.Client{},
		byConn: map[net.Conn]*mqtt.Client{}, identities: map[string]iot.Device{}}
	// The wall clock, not cfg.Now: a test's frozen clock must not starve
	// the buckets.
	b.limits = newLimiter(cfg.Limits, time.Now)
	caps.MaximumPacketSize = uint32(b.limits.cfg.MaxPacket)
	// mochi logs every refused or dropped client at warn; the journal says
	// why instead, so only its errors reach the emulator's log.
	quiet := slog.New(&levelFilter{h: cfg.Logger.Handler(), min: slog.LevelError})
	b.srv = mqtt.New(&mqtt.Options{InlineClient: true, Capabilities: caps, Logger: quiet})
	if err := b.srv.AddHook(&hook{b: b}, nil); err != nil {
		return nil, err
	}
	if cfg.TCPAddr != "" {
		tcp, err := newTCPListener(cfg.TCPAddr)
		if err == nil {
			tcp.ended, tcp.connect = b.ended, cfg.Limits.ConnectTimeout
			err = b.srv.AddListener(tcp)
		}
		if err != nil {
			return nil, listenErr("--mqtt-addr", cfg.TCPAddr, err)
		}
		b.tcp = tcp
	}
	if cfg.TLSAddr != "" {
		l, err := newTCPListener(cfg.TLSAddr)
		if err == nil {
			l.id, l.ln, l.ended, l.connect = "tls", tls.NewListener(l.ln, cfg.TLSConfig), b.ended, cfg.Limits.ConnectTimeout
			err = b.srv.AddListener(l)
		}
		if err != nil {
			b.srv.Close()
			return nil, listenErr("--mqtt-tls-addr", cfg.TLSAddr, err)
		}
		b.tls = l
	}
	if cfg.WSAddr != "" {
		ws, err := newWSListener(cfg.WSAddr)
		if err == nil {
			ws.ended, ws.connect = b.ended, cfg.Limits.ConnectTimeout
			err = b.srv.AddListener(ws)
		}
		if err != nil {
			b.srv.Close()
			return nil, listenErr("--mqtt-ws-addr", cfg.WSAddr, err)
		}
		b.ws = ws
	}
	b.store = newOffloader()
	if err := b.srv.Serve(); err != nil {
		b.srv.Close()
		b.store.stop()
		return nil, err
	}
	return b, nil
}

func listenErr(flag, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s %s: the port is already in use (another MQTT broker or iot-emulator?); choose another with %s, or off", flag, addr, flag)
	}
	return fmt.Errorf("%s %s: %w", flag, addr, err)
}

// TCPAddr is where MQTT over TCP listens ("" when off).
func (b *Broker) TCPAddr() string {
	if b.tcp == nil {
		return ""
	}
	return b.tcp.Address()
}

// TLSAddr is where MQTT over TLS listens ("" when off).
func (b *Broker) TLSAddr() string {
	if b.tls == nil {
		return ""
	}
	return b.tls.Address()
}

// WSAddr is where MQTT over WebSocket listens ("" when off).
func (b *Broker) WSAddr() string {
	if b.ws == nil {
		return ""
	}
	return b.ws.Address()
}

// KickAccount disconnects every device of an account, or of all accounts
// for "" (a reset wiped or reloaded them); their sessions end without a
// status change, since their rows are gone or fresh.
func (b *Broker) KickAccount(accessKeyID, cause string) int {
	b.mu.Lock()
	var clients []*mqtt.Client
	for key, cl := range b.current {
		if accessKeyID != "" && !strings.HasPrefix(key, accessKeyID+"\x00") {
			continue
		}
		if s := b.sessions[cl]; s != nil {
			s.replaced, s.cause = true, cause
		}
		clients = append(clients, cl)
		delete(b.current, key)
	}
	b.mu.Unlock()
	for _, cl := range clients {
		b.disconnect(cl, packets.ErrAdministrativeAction)
	}
	b.forget(accessKeyID)
	return len(clients)
}

// Close stops the listeners and disconnects every client.
func (b *Broker) Close() error {
	b.closing.Store(true)
	err := b.srv.Close()
	b.store.stop()
	return err
}

// Kick disconnects the device's live connection, if it has one, and
// reports whether it had. Its status becomes OFFLINE, unless the caller
// is about to set another (disable, delete).
func (b *Broker) Kick(accessKeyID, iotID, cause string) bool {
	b.mu.Lock()
	cl, ok := b.current[deviceKey(accessKeyID, iotID)]
	var sess *session
	if ok {
		sess = b.sessions[cl]
		delete(b.current, deviceKey(accessKeyID, iotID))
		if sess != nil {
			sess.replaced, sess.cause = true, cause
		}
	}
	b.mu.Unlock()
	if !ok {
		return false
	}
	if sess != nil {
		b.setStatus(sess.dev, iot.Disconnect, "")
		b.journal(sess, "kick", 0, cause, nil)
	}
	b.disconnect(cl, packets.ErrAdministrativeAction)
	return true
}

// disconnect ends a client's connection: v5 clients are told why, v3 has
// no server DISCONNECT, so the socket just closes.
func (b *Broker) disconnect(cl *mqtt.Client, code packets.Code) {
	// A client that does not read must not hold up the kick, the RPC call
	// behind it or a shutdown.
	if cl.Net.Conn != nil {
		_ = cl.Net.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	}
	if cl.Properties.ProtocolVersion == 5 {
		_ = b.srv.DisconnectClient(cl, code)
		return
	}
	cl.Stop(code)
}

// setStatus applies a status event to a device in the store and reports
// whether it applied; the store failing is logged, since the MQTT side has
// no one to answer. A disabled or deleted device refuses Connect.
func (b *Broker) setStatus(d iot.Device, ev iot.DeviceEvent, ip string) bool {
	if b.closing.Load() {
		return false
	}
	var err error
	b.store.run(func() { _, err = b.st.ApplyDeviceEvent(context.Background(), d.AccessKeyID, d.IotID, ev, ip) })
	if err != nil && !errors.Is(err, iot.ErrNotFound) && !errors.Is(err, iot.ErrState) {
		b.log.Error("device status", "productKey", d.ProductKey, "deviceName", d.DeviceName, "event", ev.String(), "err", err)
	}
	return err == nil
}

// ended cleans up after a connection whose client never reached
// OnDisconnect (mochi skips it when the CONNACK cannot be sent).
func (b *Broker) ended(conn net.Conn) {
	b.mu.Lock()
	found := b.byConn[conn]
	b.mu.Unlock()
	if found != nil {
		(&hook{b: b}).OnDisconnect(found, errors.New("connection ended before the session started"), true)
	}
}

// journal records a device event.
func (b *Broker) journal(s *session, action string, status int, code string, extra map[string]string) {
	params := map[string]string{"clientId": s.clientID, "productKey": s.dev.ProductKey, "deviceName": s.dev.DeviceName}
	if s.ip != "" {
		params["ip"] = s.ip
	}
	for k, v := range extra {
		params[k] = v
	}
	b.cfg.Journal(journal.Entry{Time: b.cfg.Now().UTC(), Protocol: journal.MQTT, Action: action, AccessKeyID: s.dev.AccessKeyID,
		Params: params, Status: status, Code: code})
}

// levelFilter passes records at or above min to h.
type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f *levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f *levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f *levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return &levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f *levelFilter) WithGroup(n string) slog.Handler {
	return &levelFilter{h: f.h.WithGroup(n), min: f.min}
}

func itoa(n int) string { return strconv.Itoa(n) }
