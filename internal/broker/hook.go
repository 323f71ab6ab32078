package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/signature"
)

// refusal is why a login is refused, with the CONNACK code each protocol
// version gets (docs/fidelity.md, devices §5): this table is the one
// place that decides them.
type refusal struct {
	reason string
	v3     byte
	v5     packets.Code
}

var (
	refuseSecret      = refusal{"wrong password", 5, packets.ErrNotAuthorized}
	refuseUnknown     = refusal{"unknown device", 5, packets.ErrNotAuthorized}
	refuseDisabled    = refusal{"device disabled", 5, packets.ErrBanned}
	refuseUsername    = refusal{"malformed username or empty password", 4, packets.ErrBadUsernameOrPassword}
	refuseClientID    = refusal{"malformed client identifier", 2, packets.ErrClientIdentifierNotValid}
	refuseKeepalive   = refusal{"keepalive outside 30-1200 s", 3, packets.ErrServerUnavailable}
	refuseStore       = refusal{"store unavailable", 3, packets.ErrServerUnavailable}
	refuseSecureMode8 = refusal{"securemode=8 needs ID2, which the emulator does not serve", 5, packets.ErrNotAuthorized}
	refuseInstance    = refusal{"device of another instance than the client id's instanceId", 5, packets.ErrNotAuthorized}
	refuseNoDynamic   = refusal{"dynamic registration is not enabled for the product", 5, packets.ErrNotAuthorized}
	refuseActivated   = refusal{"device already activated: dynamic registration needs a device that never logged in", 5, packets.ErrNotAuthorized}
)

// hook is the broker's mochi hook.
type hook struct {
	mqtt.HookBase
	b *Broker
}

func (h *hook) ID() string { return "iot-emulator" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnSessionEstablish, mqtt.OnDisconnect,
		mqtt.OnSessionEstablished, mqtt.OnACLCheck, mqtt.OnSubscribed, mqtt.OnPublish, mqtt.OnPublished, mqtt.OnPacketRead,
	}, []byte{b})
}

// OnConnect authenticates the device. A refusal is answered here with
// its own CONNACK code (mochi's would always be "bad username or
// password"), and the error ends the connection.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	b := h.b
	sess := &session{clientID: pk.Connect.ClientIdentifier, ip: remoteIP(cl.Net.Remote)}
	why := b.limits.admitLogin(sess.ip)
	var dev iot.Device
	if why == nil {
		b.store.run(func() { dev, why = b.authenticate(pk, sess) })
		if why != nil {
			b.limits.refusedLogin(sess.ip)
		}
	}
	if why != nil {
		b.journal(sess, "login refused", int(why.v3), why.reason, nil)
		code := packets.Code{Code: why.v3, Reason: why.reason}
		if cl.Properties.ProtocolVersion == 5 {
			code = why.v5
		}
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: code.Code,
			Properties: packets.Properties{ReasonString: why.reason}})
		return errLoginRefused
	}
	sess.dev = dev
	// Will messages and retained publishes are not part of the platform
	// (docs/fidelity.md, devices §2); a Will would also skip the topic ACL.
	cl.Properties.Will = mqtt.Will{}
	// mochi keys sessions by client id; devices are keyed by identity, so
	// two devices sharing a client id never take over each other.
	cl.ID = "device:" + dev.AccessKeyID + ":" + dev.IotID
	if sess.register {
		cl.ID = "register:" + cl.ID
	}
	b.mu.Lock()
	b.sessions[cl] = sess
	if !sess.register {
		b.identities[cl.ID] = dev
	}
	if cl.Net.Conn != nil {
		b.byConn[cl.Net.Conn] = cl
	}
	b.mu.Unlock()
	return nil
}

var errLoginRefused = errors.New("login refused")

// OnPacketRead answers a CONNECT of a protocol level other than 3, 4 or 5
// with return code 1 (0x84 for a v5 name), as devices.md §5 says; mochi
// would send a v5 code 0x82 that a 3.x client cannot read.
func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type != packets.Connect {
		return pk, nil
	}
	switch {
	case string(pk.Connect.ProtocolName) == "MQIsdp" && pk.ProtocolVersion == 3:
	case string(pk.Connect.ProtocolName) == "MQTT" && (pk.ProtocolVersion == 4 || pk.ProtocolVersion == 5):
	case string(pk.Connect.ProtocolName) != "MQIsdp" && string(pk.Connect.ProtocolName) != "MQTT":
		// Not MQTT at all: mochi's own refusal stands.
	default:
		sess := &session{clientID: pk.Connect.ClientIdentifier, ip: remoteIP(cl.Net.Remote)}
		h.b.journal(sess, "login refused", 1, "unsupported protocol level "+itoa(int(pk.ProtocolVersion)), nil)
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: 1})
		return pk, errLoginRefused
	}
	return pk, nil
}

func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	_, ok := h.b.sessions[cl]
	return ok
}

// OnSessionEstablish runs before the CONNACK goes out, so a client that
// queries the RPC API right after its connect returns sees itself ONLINE.
// A newer login of the same device takes over the older one.
func (h *hook) OnSessionEstablish(cl *mqtt.Client, pk packets.Packet) {
	b := h.b
	b.mu.Lock()
	sess := b.sessions[cl]
	if sess == nil {
		b.mu.Unlock()
		return
	}
	if sess.register {
		b.mu.Unlock()
		return
	}
	key := deviceKey(sess.dev.AccessKeyID, sess.dev.IotID)
	old := b.current[key]
	var oldSess *session
	if old != nil && old != cl {
		oldSess = b.sessions[old]
		if oldSess != nil {
			oldSess.replaced, oldSess.cause = true, "taken over by a new login"
		}
	}
	b.current[key] = cl
	b.mu.Unlock()
	if old != nil && old != cl {
		if oldSess != nil {
			b.journal(oldSess, "disconnect", 0, "taken over by a new login", nil)
		}
		b.disconnect(old, packets.ErrSessionTakenOver)
	}
	if !b.setStatus(sess.dev, iot.Connect, sess.ip) {
		// Disabled, deleted or reset between the password check and now.
		sess.replaced, sess.cause = true, "device disabled or deleted during login"
		b.journal(sess, "login refused", 5, sess.cause, nil)
		cl.Stop(errLoginRefused)
		return
	}
	b.journal(sess, "login", 0, "", map[string]string{"protocolVersion": itoa(int(cl.Properties.ProtocolVersion))})
}

// OnSessionEstablished answers a dynamic registration, after its CONNACK:
// the device gets a new DeviceSecret on /ext/register without having to
// subscribe (docs/fidelity.md, devices §4.1).
func (h *hook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	b := h.b
	sess := b.session(cl)
	if sess == nil || !sess.register {
		return
	}
	var d iot.Device
	var err error
	b.store.run(func() { d, err = b.st.RenewDeviceSecret(context.Background(), sess.dev.AccessKeyID, sess.dev.IotID) })
	if err != nil {
		b.log.Error("dynamic registration", "productKey", sess.dev.ProductKey, "deviceName", sess.dev.DeviceName, "err", err)
		cl.Stop(err)
		return
	}
	payload, _ := json.Marshal(map[string]string{"productKey": d.ProductKey, "deviceName": d.DeviceName, "deviceSecret": d.DeviceSecret})
	_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "/ext/register", Payload: payload})
	b.journal(sess, "register", 0, "", map[string]string{"topic": "/ext/register"})
}

// OnDisconnect puts the device offline, unless a newer login, a kick or a
// disable already decided its status.
func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	b := h.b
	b.mu.Lock()
	sess := b.sessions[cl]
	delete(b.sessions, cl)
	if cl.Net.Conn != nil && b.byConn[cl.Net.Conn] == cl {
		delete(b.byConn, cl.Net.Conn)
	}
	if sess != nil && !sess.replaced {
		key := deviceKey(sess.dev.AccessKeyID, sess.dev.IotID)
		if b.current[key] == cl {
			delete(b.current, key)
		}
	}
	b.mu.Unlock()
	if sess == nil || sess.replaced {
		return
	}
	if sess.register {
		b.journal(sess, "disconnect", 0, "dynamic registration done", nil)
		return
	}
	cause := "disconnect"
	if err != nil && !errors.Is(err, packets.CodeDisconnect) {
		cause = err.Error()
	}
	b.setStatus(sess.dev, iot.Disconnect, "")
	b.journal(sess, "disconnect", 0, cause, nil)
}

// OnACLCheck confines a device to its own topics; a refusal is journalled.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	b := h.b
	sess := b.session(cl)
	if sess == nil {
		// A persistent session whose device is offline keeps receiving
		// its own QoS 1 messages, delivered when it comes back.
		b.mu.Lock()
		dev, ok := b.identities[cl.ID]
		b.mu.Unlock()
		return ok && !write && Allowed(dev.ProductKey, dev.DeviceName, topic, false)
	}
	if sess.register {
		// A registration session only fetches its secret.
		if topic == "/ext/register" {
			return true
		}
	} else if !write && sess.granted >= b.limits.maxFilters() {
		b.journal(sess, "denied", 0, "subscription limit", map[string]string{"topic": topic, "operation": "subscribe"})
		return false
	} else if Allowed(sess.dev.ProductKey, sess.dev.DeviceName, topic, write) {
		if !write {
			sess.granted++
		}
		return true
	}
	op := "subscribe"
	if write {
		op = "publish"
	}
	b.journal(sess, "denied", 0, "topic of another device", map[string]string{"topic": topic, "operation": op})
	return false
}

func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	b := h.b
	sess := b.session(cl)
	if sess == nil {
		return
	}
	for i, f := range pk.Filters {
		if i < len(reasonCodes) && reasonCodes[i] < 0x80 {
			b.journal(sess, "subscribe", 0, "", map[string]string{"topic": f.Filter})
		}
	}
}

// OnPublish drops a publish over the device's uplink limit, and the
// retain flag: the platform keeps no retained messages.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if err := h.b.admitPublish(cl, pk); err != nil {
		return pk, err
	}
	pk.FixedHeader.Retain = false
	return pk, nil
}

func (h *hook) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline {
		return
	}
	b := h.b
	sess := b.session(cl)
	if sess == nil {
		return
	}
	b.journal(sess, "publish", 0, "", map[string]string{"topic": pk.TopicName, "size": itoa(len(pk.Payload)), "qos": itoa(int(pk.FixedHeader.Qos))})
	if !sess.register {
		b.cfg.Uplink(sess.dev, pk.TopicName, pk.Payload, pk.FixedHeader.Qos)
	}
}

// authenticate checks a CONNECT's credentials and returns the device, or
// why not. The session's fields are filled as far as they are known, for
// the journal.
func (b *Broker) authenticate(pk packets.Packet, sess *session) (iot.Device, *refusal) {
	login, err := signature.ParseDeviceLogin(pk.Connect.ClientIdentifier, string(pk.Connect.Username))
	switch {
	case errors.Is(err, signature.ErrDeviceUsername) || (err == nil && len(pk.Connect.Password) == 0):
		return iot.Device{}, &refuseUsername
	case err != nil:
		return iot.Device{}, &refuseClientID
	}
	switch login.Params["securemode"] {
	case "", "2", "3", "-2":
	case "8":
		// iTLS/ID² without ID²: refused as the live service does (devices §3.1).
		return iot.Device{}, &refuseSecureMode8
	default:
		return iot.Device{}, &refuseClientID
	}
	if strings.EqualFold(login.Params["authtype"], "register") {
		// Keep Alive is not checked during dynamic registration.
		return b.register(login, string(pk.Connect.Password), sess)
	}
	if b.cfg.KeepaliveCheck && (pk.Connect.Keepalive < MinKeepalive || pk.Connect.Keepalive > MaxKeepalive) {
		return iot.Device{}, &refuseKeepalive
	}
	sess.clientID = login.ClientID
	sess.dev.ProductKey, sess.dev.DeviceName = login.ProductKey, login.DeviceName
	if ext, err := strconv.Atoi(login.Params["ext"]); err == nil {
		sess.extRRPC = ext&1 == 1
	}
	candidates, err := b.st.DevicesByLogin(context.Background(), login.ProductKey, login.DeviceName)
	if err != nil {
		b.log.Error("device login", "productKey", login.ProductKey, "deviceName", login.DeviceName, "err", err)
		return iot.Device{}, &refuseStore
	}
	if len(candidates) == 0 {
		return iot.Device{}, &refuseUnknown
	}
	ts, withTS := login.Timestamp()
	got := string(pk.Connect.Password)
	for _, d := range candidates {
		want := signature.DevicePassword(login.SignMethod, d.DeviceSecret, login.ClientID, login.DeviceName, login.ProductKey, ts, withTS)
		if !signature.VerifyDevicePassword(want, got) {
			continue
		}
		sess.dev = d
		if d.Status == iot.DeviceDisabled {
			return d, &refuseDisabled
		}
		// The host names the instance at the real service; here only the
		// client id can, when the device sends instanceId.
		if inst, ok := login.Params["instanceid"]; ok {
			p, err := b.st.Product(context.Background(), d.AccessKeyID, d.ProductKey)
			if err != nil || p.InstanceID != inst {
				return d, &refuseInstance
			}
		}
		return d, nil
	}
	sess.dev.AccessKeyID = candidates[0].AccessKeyID
	content := "clientId" + login.ClientID + "deviceName" + login.DeviceName + "productKey" + login.ProductKey
	if withTS {
		content += "timestamp" + ts
	}
	// At debug, what the password should be the HMAC of, to fix a device's
	// signing from here.
	b.log.Debug("mqtt login refused: wrong password", "productKey", login.ProductKey, "deviceName", login.DeviceName,
		"signMethod", login.SignMethod, "signedContent", content, "password", got)
	return iot.Device{}, &refuseSecret
}

// register authenticates a dynamic registration (authType=register): the
// password is keyed by the ProductSecret, the product must allow it, and
// the device must exist and never have logged in.
func (b *Broker) register(login signature.DeviceLogin, password string, sess *session) (iot.Device, *refusal) {
	sess.clientID, sess.register = login.ClientID, true
	sess.dev.ProductKey, sess.dev.DeviceName = login.ProductKey, login.DeviceName
	ctx := context.Background()
	candidates, err := b.st.DevicesByLogin(ctx, login.ProductKey, login.DeviceName)
	if err != nil {
		b.log.Error("dynamic registration", "productKey", login.ProductKey, "deviceName", login.DeviceName, "err", err)
		return iot.Device{}, &refuseStore
	}
	if len(candidates) == 0 {
		return iot.Device{}, &refuseUnknown
	}
	why := &refuseSecret
	for _, d := range candidates {
		p, err := b.st.Product(ctx, d.AccessKeyID, d.ProductKey)
		if err != nil {
			continue
		}
		want := signature.RegisterPassword(login.SignMethod, p.ProductSecret, login.DeviceName, login.ProductKey, login.Params["random"])
		if !signature.VerifyDevicePassword(want, password) {
			continue
		}
		sess.dev = d
		switch {
		case !p.DynamicRegister:
			return d, &refuseNoDynamic
		case !d.Activated.IsZero():
			return d, &refuseActivated
		case d.Status == iot.DeviceDisabled:
			return d, &refuseDisabled
		}
		return d, nil
	}
	return iot.Device{}, why
}

// Allowed reports whether a device may publish (write) to a topic, or
// subscribe to a filter: the domain's topic permissions (iot.TopicAllowed).
func Allowed(productKey, deviceName, topic string, write bool) bool {
	return iot.TopicAllowed(productKey, deviceName, topic, write)
}

// remoteIP is the host part of a remote address.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// session is the device behind a client, nil before its login.
func (b *Broker) session(cl *mqtt.Client) *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions[cl]
}
