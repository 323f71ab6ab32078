package emulator_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/signature"
)

// hostileLimits are small limits, so a case reaches them in a few packets.
var hostileLimits = emulator.MQTTLimits{MaxPacket: 4096, LoginRate: 1, LoginBurst: 40, RefusedRate: 1, RefusedBurst: 8,
	MaxFilters: 5, UplinkRate: 1, UplinkBurst: 5, ConnectTimeout: time.Second}

// mqttEnv is one emulator with two devices, for one hostile case.
type mqttEnv struct {
	srv     *emutest.Server
	names   []string
	secrets []string
}

// mqttPacket frames a packet: first byte, remaining length, body.
func mqttPacket(first byte, body []byte) []byte {
	pkt := []byte{first}
	for n := len(body); ; {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		pkt = append(pkt, d)
		if n == 0 {
			break
		}
	}
	return append(pkt, body...)
}

func publishPacket(topic string, payload []byte) []byte {
	return mqttPacket(0x30, append(mqttString(topic), payload...))
}

func subscribePacket(id uint16, filters ...string) []byte {
	body := binary.BigEndian.AppendUint16(nil, id)
	for _, f := range filters {
		body = append(append(body, mqttString(f)...), 0)
	}
	return mqttPacket(0x82, body)
}

// readPacket reads one packet's first byte and body.
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mult
		mult *= 128
		if b&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	_, err = io.ReadFull(r, body)
	return first, body, err
}

// device logs device i in over raw MQTT 3.1.1 and returns its connection.
func (e *mqttEnv) device(t *testing.T, i int) (net.Conn, *bufio.Reader) {
	t.Helper()
	id, user, pass := signature.DeviceCredentials(e.srv.ProductKey(), e.names[i], e.secrets[i], "", signature.HmacSHA256)
	conn, code, err := rawConnect(e.srv.MQTTAddr(), id, user, pass, 60)
	require.NoError(t, err)
	require.Equal(t, byte(0), code, "device %d logs in", i)
	t.Cleanup(func() { conn.Close() })
	return conn, bufio.NewReader(conn)
}

func (e *mqttEnv) topic(i int) string {
	return "/sys/" + e.srv.ProductKey() + "/" + e.names[i] + "/thing/event/property/post"
}

// closed reports whether the broker ends the connection (reads EOF or a
// reset) rather than leaving it open until our own deadline.
func closed(conn net.Conn) bool {
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// journalHas reports whether an MQTT journal entry has the action and code.
func (e *mqttEnv) journalHas(action, code string) bool {
	for _, r := range e.srv.Requests() {
		if r.Protocol == "mqtt" && r.Action == action && strings.Contains(r.Code, code) {
			return true
		}
	}
	return false
}

// stillServing checks that the RPC API answers and a device logs in.
func (e *mqttEnv) stillServing(t *testing.T) {
	t.Helper()
	_, body := signedGet(t, e.srv.URL(), map[string]string{"Action": "QueryProduct", "ProductKey": e.srv.ProductKey()})
	require.Contains(t, string(body), `"Success":true`, "the RPC API still answers")
	id, user, pass := signature.DeviceCredentials(e.srv.ProductKey(), e.names[1], e.secrets[1], "", signature.HmacSHA256)
	eventually(t, "a device to log in again", func() bool {
		conn, code, err := rawConnect(e.srv.MQTTAddr(), id, user, pass, 60)
		if err != nil {
			return false
		}
		conn.Close()
		return code == 0
	})
}

func dial(t *testing.T, e *mqttEnv) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", e.srv.MQTTAddr())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// connectCode sends a raw CONNECT and returns the CONNACK return code.
func connectCode(t *testing.T, e *mqttEnv, id, user, pass string) byte {
	t.Helper()
	conn, code, err := rawConnect(e.srv.MQTTAddr(), id, user, pass, 60)
	require.NoError(t, err)
	conn.Close()
	return code
}

var hostileMQTTCases = []struct {
	name string
	// off runs the case with --mqtt-limits off.
	off bool
	run func(t *testing.T, e *mqttEnv)
}{
	{name: "an HTTP request on the MQTT port is dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		assert.True(t, closed(c))
	}},
	{name: "four kilobytes of 0xff are dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		c.Write(bytes.Repeat([]byte{0xff}, 4096))
		assert.True(t, closed(c))
	}},
	{name: "a PUBLISH before CONNECT is dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		c.Write(publishPacket(e.topic(0), []byte("{}")))
		assert.True(t, closed(c))
	}},
	{name: "a SUBSCRIBE before CONNECT is dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		c.Write(subscribePacket(1, e.topic(0)))
		assert.True(t, closed(c))
	}},
	{name: "a PINGREQ before CONNECT is dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		c.Write([]byte{0xc0, 0})
		assert.True(t, closed(c))
	}},
	{name: "a remaining length of five bytes is dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		c.Write([]byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x7f})
		assert.True(t, closed(c))
	}},
	{name: "a CONNECT cut short is dropped at the CONNECT deadline", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		c.Write([]byte{0x10, 100, 0, 4, 'M', 'Q'})
		assert.True(t, closed(c))
	}},
	{name: "a client that never sends CONNECT is dropped at the CONNECT deadline", run: func(t *testing.T, e *mqttEnv) {
		assert.True(t, closed(dial(t, e)))
	}},
	{name: "a second CONNECT on a logged-in connection ends it", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		id, user, pass := signature.DeviceCredentials(e.srv.ProductKey(), e.names[0], e.secrets[0], "", signature.HmacSHA256)
		vh := append(mqttString("MQTT"), 4, 0xC2, 0, 60)
		vh = append(append(append(vh, mqttString(id)...), mqttString(user)...), mqttString(pass)...)
		c.Write(mqttPacket(0x10, vh))
		assert.True(t, closed(c))
	}},
	{name: "a CONNECT with the reserved flag set is dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		vh := append(mqttString("MQTT"), 4, 0x03, 0, 60)
		c.Write(mqttPacket(0x10, append(vh, mqttString("c|securemode=3|")...)))
		assert.True(t, closed(c))
	}},
	{name: "an empty client id is refused with 2", run: func(t *testing.T, e *mqttEnv) {
		assert.Equal(t, byte(2), connectCode(t, e, "", e.names[0]+"&"+e.srv.ProductKey(), "00"))
	}},
	{name: "an empty password is refused", run: func(t *testing.T, e *mqttEnv) {
		assert.NotEqual(t, byte(0), connectCode(t, e, "c|securemode=3|", e.names[0]+"&"+e.srv.ProductKey(), ""))
	}},
	{name: "a username without & is refused with 4", run: func(t *testing.T, e *mqttEnv) {
		assert.Equal(t, byte(4), connectCode(t, e, "c|securemode=3|", "nousername", "00"))
	}},
	{name: "a wrong password is refused with 5 and journalled", run: func(t *testing.T, e *mqttEnv) {
		assert.Equal(t, byte(5), connectCode(t, e, "c|securemode=3|", e.names[0]+"&"+e.srv.ProductKey(), "00"))
		assert.True(t, e.journalHas("login refused", "wrong password"))
	}},
	{name: "a CONNECT larger than --mqtt-max-packet is dropped", run: func(t *testing.T, e *mqttEnv) {
		c := dial(t, e)
		vh := append(mqttString("MQTT"), 4, 0x02, 0, 60)
		c.Write(mqttPacket(0x10, append(vh, mqttString(strings.Repeat("x", 8000))...)))
		assert.True(t, closed(c))
	}},
	{name: "a PUBLISH larger than --mqtt-max-packet ends the device's connection and leaves it OFFLINE", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		c.Write(publishPacket(e.topic(0), bytes.Repeat([]byte("x"), 5000)))
		assert.True(t, closed(c))
		eventually(t, "the device to be OFFLINE", func() bool { return deviceStatus(t, e.srv, e.srv.ProductKey(), e.names[0]) == "OFFLINE" })
	}},
	{name: "a PUBLISH just under --mqtt-max-packet is taken", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		c.Write(publishPacket(e.topic(0), bytes.Repeat([]byte("x"), 4000)))
		eventually(t, "the publish in the journal", func() bool { return e.journalHas("publish", "") })
		assert.False(t, closed(c))
	}},
	{name: "a CONNECT flood from one address is answered 3 (server busy) past its burst", run: func(t *testing.T, e *mqttEnv) {
		var codes []byte
		for i := 0; i < 60; i++ {
			codes = append(codes, connectCode(t, e, "c|securemode=3|", "a&b", "00"))
		}
		assert.Contains(t, codes, byte(3))
		assert.True(t, e.journalHas("login refused", "too many connects"))
	}},
	{name: "a refused-login storm makes even a right password wait, with a reason in the journal", run: func(t *testing.T, e *mqttEnv) {
		for i := 0; i < 10; i++ {
			connectCode(t, e, "c|securemode=3|", e.names[0]+"&"+e.srv.ProductKey(), "00")
		}
		id, user, pass := signature.DeviceCredentials(e.srv.ProductKey(), e.names[0], e.secrets[0], "", signature.HmacSHA256)
		assert.Equal(t, byte(3), connectCode(t, e, id, user, pass))
		assert.True(t, e.journalHas("login refused", "too many refused logins"))
	}},
	{name: "with --mqtt-limits off a refused-login storm is refused with 5 throughout", off: true, run: func(t *testing.T, e *mqttEnv) {
		for i := 0; i < 60; i++ {
			require.Equal(t, byte(5), connectCode(t, e, "c|securemode=3|", e.names[0]+"&"+e.srv.ProductKey(), "00"))
		}
	}},
	{name: "a SUBSCRIBE of more filters than the limit gets 0x80 for those past it", run: func(t *testing.T, e *mqttEnv) {
		c, r := e.device(t, 0)
		var filters []string
		for i := 0; i < 8; i++ {
			filters = append(filters, "/"+e.srv.ProductKey()+"/"+e.names[0]+"/user/f"+string(rune('a'+i)))
		}
		c.Write(subscribePacket(7, filters...))
		first, body, err := readPacket(r)
		require.NoError(t, err)
		require.Equal(t, byte(0x90), first)
		assert.Equal(t, []byte{0, 0, 0, 0, 0, 0x80, 0x80, 0x80}, body[2:])
		assert.True(t, e.journalHas("denied", "subscription limit"))
	}},
	{name: "SUBSCRIBEs one filter at a time are refused past the limit", run: func(t *testing.T, e *mqttEnv) {
		c, r := e.device(t, 0)
		var codes []byte
		for i := 0; i < 7; i++ {
			c.Write(subscribePacket(uint16(i+1), "/"+e.srv.ProductKey()+"/"+e.names[0]+"/user/g"+string(rune('a'+i))))
			_, body, err := readPacket(r)
			require.NoError(t, err)
			codes = append(codes, body[2])
		}
		assert.Equal(t, []byte{0, 0, 0, 0, 0, 0x80, 0x80}, codes)
	}},
	{name: "with --mqtt-limits off a client may subscribe past the limit", off: true, run: func(t *testing.T, e *mqttEnv) {
		c, r := e.device(t, 0)
		var filters []string
		for i := 0; i < 8; i++ {
			filters = append(filters, "/"+e.srv.ProductKey()+"/"+e.names[0]+"/user/h"+string(rune('a'+i)))
		}
		c.Write(subscribePacket(9, filters...))
		_, body, err := readPacket(r)
		require.NoError(t, err)
		assert.Equal(t, make([]byte, 8), body[2:])
	}},
	{name: "a subscription to another device's topic gets 0x80", run: func(t *testing.T, e *mqttEnv) {
		c, r := e.device(t, 0)
		c.Write(subscribePacket(3, e.topic(1)))
		_, body, err := readPacket(r)
		require.NoError(t, err)
		assert.Equal(t, []byte{0x80}, body[2:])
	}},
	{name: "a subscription to another product's wildcard gets 0x80", run: func(t *testing.T, e *mqttEnv) {
		c, r := e.device(t, 0)
		c.Write(subscribePacket(4, "/sys/a1Other00000/+/#"))
		_, body, err := readPacket(r)
		require.NoError(t, err)
		assert.Equal(t, []byte{0x80}, body[2:])
	}},
	{name: "a publish flood from one device is dropped past its uplink limit with a reason in the journal", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		for i := 0; i < 20; i++ {
			c.Write(publishPacket(e.topic(0), []byte(`{"id":"1","params":{}}`)))
		}
		eventually(t, "a dropped publish in the journal", func() bool { return e.journalHas("publish dropped", "uplink rate limit") })
	}},
	{name: "with --mqtt-limits off a publish flood is taken whole", off: true, run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		for i := 0; i < 20; i++ {
			c.Write(publishPacket(e.topic(0), []byte(`{}`)))
		}
		c.Write([]byte{0xc0, 0}) // a PINGREQ after the flood: its PINGRESP means the flood was read
		r := bufio.NewReader(c)
		for {
			first, _, err := readPacket(r)
			require.NoError(t, err)
			if first == 0xd0 {
				break
			}
		}
		assert.False(t, e.journalHas("publish dropped", ""))
	}},
	{name: "a publish to another device's topic is dropped and journalled", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		c.Write(publishPacket(e.topic(1), []byte(`{}`)))
		eventually(t, "the denial in the journal", func() bool { return e.journalHas("denied", "topic of another device") })
	}},
	{name: "a publish to a wildcard topic ends the connection", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		c.Write(publishPacket("/sys/+/#", []byte(`{}`)))
		assert.True(t, closed(c))
	}},
	{name: "a publish to an empty topic ends the connection", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		c.Write(publishPacket("", []byte(`{}`)))
		assert.True(t, closed(c))
	}},
	{name: "a QoS 2 publish is not taken", run: func(t *testing.T, e *mqttEnv) {
		c, _ := e.device(t, 0)
		body := append(mqttString(e.topic(0)), 0, 1, '{', '}')
		c.Write(mqttPacket(0x34, body))
		assert.False(t, e.journalHas("publish", ""))
	}},
	{name: "a hundred client ids logging in and out leave no session behind", run: func(t *testing.T, e *mqttEnv) {
		for i := 0; i < 100; i++ {
			id, user, pass := signature.DeviceCredentials(e.srv.ProductKey(), e.names[0], e.secrets[0], "client"+string(rune('A'+i%26))+strings.Repeat("x", i), signature.HmacSHA256)
			conn, code, err := rawConnect(e.srv.MQTTAddr(), id, user, pass, 60)
			if err == nil {
				conn.Close()
			}
			if code == 3 {
				break // the login burst is spent: bounded, as it should be
			}
		}
		eventually(t, "every session to end", func() bool {
			_, _, _, sessions := e.srv.Emulator().MQTTSizes()
			return sessions == 0
		})
	}},
}

func TestHostileMQTT(t *testing.T) {
	for _, tc := range hostileMQTTCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) {
				c.MQTTAddr = "127.0.0.1:0"
				c.MQTTLimits = hostileLimits
				c.MQTTLimits.Off = tc.off
			}))
			e := &mqttEnv{srv: srv}
			e.names, e.secrets = newDevices(t, srv, 2)
			tc.run(t, e)
			e.stillServing(t)
		})
	}
}
