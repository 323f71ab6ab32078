package emulator_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
)

// connect5 logs in with MQTT 5 and returns the CONNACK's reason code.
func connect5(t *testing.T, addr, id, user, pass string, keepalive uint16) (byte, *paho5.Client) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	c := paho5.NewClient(paho5.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho5.Connect{ClientID: id, Username: user, UsernameFlag: true, Password: []byte(pass), PasswordFlag: true,
		KeepAlive: keepalive, CleanStart: true})
	if ack == nil {
		require.NoError(t, err)
	}
	if ack.ReasonCode == 0 {
		t.Cleanup(func() { c.Disconnect(&paho5.Disconnect{}) })
	}
	return ack.ReasonCode, c
}

func TestDevicesMQTT5(t *testing.T) {
	srv := emutest.New(t)
	pk := srv.ProductKey()
	names, secrets := newDevices(t, srv, 3)
	t.Run("an MQTT 5 device logs in and is ONLINE", func(t *testing.T) {
		id, user, pass := signature.DeviceCredentials(pk, names[0], secrets[0], "", signature.HmacSHA1)
		code, c := connect5(t, srv.MQTTAddr(), id, user, pass, 60)
		require.Equal(t, byte(0), code)
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, pk, names[0]))
		c.Disconnect(&paho5.Disconnect{})
		eventually(t, "the device to go offline", func() bool { return deviceStatus(t, srv, pk, names[0]) == "OFFLINE" })
	})
	for _, tc := range []struct {
		name     string
		id, user string
		pass     string
		keep     uint16
		want     byte
	}{
		{"a wrong secret is 0x87 not authorized", "c|securemode=3|", names[1] + "&" + pk, "00", 60, 0x87},
		{"a malformed client identifier is 0x85", "plain", names[1] + "&" + pk, "00", 60, 0x85},
		{"a malformed username is 0x86", "c|securemode=3|", "nousername", "00", 60, 0x86},
		{"a keepalive under 30 s is 0x88 server unavailable", "c|securemode=3|", names[1] + "&" + pk, "00", 10, 0x88},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := connect5(t, srv.MQTTAddr(), tc.id, tc.user, tc.pass, tc.keep)
			assert.Equal(t, tc.want, code)
		})
	}
	t.Run("a disabled device is 0x8A banned", func(t *testing.T) {
		_, err := srv.Emulator().State(context.Background(), emulator.StateQuery{})
		require.NoError(t, err)
		disable(t, srv, pk, names[2])
		id, user, pass := signature.DeviceCredentials(pk, names[2], secrets[2], "", "")
		code, _ := connect5(t, srv.MQTTAddr(), id, user, pass, 60)
		assert.Equal(t, byte(0x8A), code)
	})
}

func disable(t *testing.T, srv *emutest.Server, pk, dn string) {
	t.Helper()
	_, body := signedGet(t, srv.URL(), map[string]string{"Action": "DisableThing", "ProductKey": pk, "DeviceName": dn})
	require.Contains(t, string(body), `"Success":true`)
}

func TestDeviceTransports(t *testing.T) {
	t.Run("a device logs in over WebSocket at /mqtt", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.MQTTWSAddr = "127.0.0.1:0" }))
		names, secrets := newDevices(t, srv, 1)
		id, user, pass := signature.DeviceCredentials(srv.ProductKey(), names[0], secrets[0], "", "")
		opts := paho.NewClientOptions().AddBroker("ws://" + srv.Emulator().MQTTWSAddr() + "/mqtt").SetClientID(id).SetUsername(user).SetPassword(pass).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		c := paho.NewClient(opts)
		tok := c.Connect()
		require.True(t, tok.WaitTimeout(10*time.Second))
		require.NoError(t, tok.Error())
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, srv.ProductKey(), names[0]))
		c.Disconnect(0)
	})
	t.Run("with the keepalive check off a short keepalive logs in", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.MQTTKeepaliveCheck = false }))
		names, secrets := newDevices(t, srv, 1)
		id, user, pass := signature.DeviceCredentials(srv.ProductKey(), names[0], secrets[0], "", "")
		code, _ := connect5(t, srv.MQTTAddr(), id, user, pass, 5)
		assert.Equal(t, byte(0), code)
	})
	t.Run("a reset disconnects every device", func(t *testing.T) {
		srv := emutest.New(t)
		names, secrets := newDevices(t, srv, 1)
		dev := srv.ConnectDevice(srv.ProductKey(), names[0], secrets[0])
		srv.Reset()
		eventually(t, "the device to be disconnected", func() bool { return !dev.Connected() })
	})
	t.Run("with the broker off there is no MQTT endpoint", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.MQTTAddr = "off" }))
		assert.Empty(t, srv.MQTTAddr())
		_, err := srv.DialDevice(srv.ProductKey(), "light01", "x")
		assert.True(t, err != nil && strings.Contains(err.Error(), "off"))
	})
}

func TestDynamicRegistration(t *testing.T) {
	f := fixtures.Default()
	f.Accounts[0].Products = append(f.Accounts[0].Products,
		fixtures.Product{ProductKey: "a1DynReg0001", ProductName: "dynamic_product", ProductSecret: "dynProductSecret1", DynamicRegistration: true,
			Devices: []fixtures.Device{{DeviceName: "dyn-device-1"}, {DeviceName: "dyn-device-2"}}},
		fixtures.Product{ProductKey: "a1NoDynReg01", ProductName: "static_product", ProductSecret: "staticSecret0001",
			Devices: []fixtures.Device{{DeviceName: "static-dev-1"}}})
	srv := emutest.New(t, emutest.WithFixture(f))
	registerLogin := func(pk, dn, productSecret string) (paho.Client, <-chan paho.Message, error) {
		random := "8Ygb7ULYh53B6OA"
		id := dn + "." + pk + "|securemode=2,authType=register,random=" + random + ",signmethod=hmacsha256|"
		pass := signature.RegisterPassword("hmacsha256", productSecret, dn, pk, random)
		got := make(chan paho.Message, 1)
		opts := paho.NewClientOptions().AddBroker("tcp://" + srv.MQTTAddr()).SetClientID(id).SetUsername(dn + "&" + pk).SetPassword(pass).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
		c := paho.NewClient(opts)
		tok := c.Connect()
		require.True(t, tok.WaitTimeout(10*time.Second))
		return c, got, tok.Error()
	}
	t.Run("a pre-registered device gets its DeviceSecret on /ext/register without subscribing, and logs in with it", func(t *testing.T) {
		c, got, err := registerLogin("a1DynReg0001", "dyn-device-1", "dynProductSecret1")
		require.NoError(t, err)
		var m paho.Message
		select {
		case m = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no /ext/register message")
		}
		c.Disconnect(0)
		assert.Equal(t, "/ext/register", m.Topic())
		var reg struct{ ProductKey, DeviceName, DeviceSecret string }
		require.NoError(t, json.Unmarshal(m.Payload(), &reg))
		assert.Equal(t, "dyn-device-1", reg.DeviceName)
		assert.Len(t, reg.DeviceSecret, 32)
		assert.Equal(t, "UNACTIVE", deviceStatus(t, srv, "a1DynReg0001", "dyn-device-1"), "registering is not a login")
		dev := srv.ConnectDevice("a1DynReg0001", "dyn-device-1", reg.DeviceSecret)
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, "a1DynReg0001", "dyn-device-1"))
		dev.Close()
	})
	t.Run("an activated device cannot register again", func(t *testing.T) {
		_, _, err := registerLogin("a1DynReg0001", "dyn-device-1", "dynProductSecret1")
		require.Error(t, err)
	})
	t.Run("a wrong ProductSecret is refused", func(t *testing.T) {
		_, _, err := registerLogin("a1DynReg0001", "dyn-device-2", "wrongSecret")
		require.Error(t, err)
		assert.Contains(t, strings.ToLower(err.Error()), "not authorized")
	})
	t.Run("a product without dynamic registration refuses it", func(t *testing.T) {
		_, _, err := registerLogin("a1NoDynReg01", "static-dev-1", "staticSecret0001")
		require.Error(t, err)
	})
}
