package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/signature"
)

// newDevices registers n devices through BatchRegisterDevice and returns
// their names and secrets as QueryPageByApplyId lists them.
func newDevices(t *testing.T, srv *emutest.Server, n int) (names, secrets []string) {
	t.Helper()
	client := srv.NewIotClient()
	resp, err := registerRandom(t, client, srv.ProductKey(), int64(n))
	require.NoError(t, err)
	require.True(t, resp.Success, resp.Code)
	id := resp.Data.ApplyId
	eventually(t, "the batch to be created", func() bool {
		return statusOf(t, client, "JSON", srv.ProductKey(), id).Data.Status == "CREATE_SUCCESS"
	})
	req := iot.CreateQueryPageByApplyIdRequest()
	req.ApplyId = requestsInteger(id)
	req.PageSize = requestsInteger(50)
	page, err := client.QueryPageByApplyId(req)
	require.NoError(t, err)
	for _, d := range page.ApplyDeviceList.ApplyDeviceInfo {
		names = append(names, d.DeviceName)
		secrets = append(secrets, d.DeviceSecret)
	}
	require.Len(t, names, n)
	return names, secrets
}

func deviceStatus(t *testing.T, srv *emutest.Server, pk, dn string) string {
	t.Helper()
	req := iot.CreateGetDeviceStatusRequest()
	req.ProductKey, req.DeviceName = pk, dn
	resp, err := srv.NewIotClient().GetDeviceStatus(req)
	require.NoError(t, err)
	require.True(t, resp.Success, resp.Code)
	return resp.Data.Status
}

func detail(t *testing.T, srv *emutest.Server, pk, dn string) iot.DataInQueryDeviceDetail {
	t.Helper()
	req := iot.CreateQueryDeviceDetailRequest()
	req.ProductKey, req.DeviceName = pk, dn
	resp, err := srv.NewIotClient().QueryDeviceDetail(req)
	require.NoError(t, err)
	require.True(t, resp.Success, resp.Code)
	return resp.Data
}

// pahoLogin connects with a client identifier and password built by hand.
func pahoLogin(t *testing.T, srv *emutest.Server, id, user, pass string, version uint) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + srv.MQTTAddr()).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetProtocolVersion(version).SetKeepAlive(60 * time.Second).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second), "no CONNACK")
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(0) })
	}
	return c, tok.Error()
}

func TestDevicesLogIn(t *testing.T) {
	srv := emutest.New(t)
	pk := srv.ProductKey()
	names, secrets := newDevices(t, srv, 8)
	t.Run("a device with a secret from BatchRegisterDevice logs in and is ONLINE, then OFFLINE after it disconnects", func(t *testing.T) {
		assert.Equal(t, "UNACTIVE", deviceStatus(t, srv, pk, names[0]))
		dev := srv.ConnectDevice(pk, names[0], secrets[0])
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, pk, names[0]))
		d := detail(t, srv, pk, names[0])
		assert.Equal(t, "ONLINE", d.Status)
		assert.Equal(t, "127.0.0.1", d.IpAddress)
		assert.NotEmpty(t, d.GmtActive)
		assert.NotEmpty(t, d.UtcOnline)
		dev.Close()
		eventually(t, "the device to go offline", func() bool { return deviceStatus(t, srv, pk, names[0]) == "OFFLINE" })
		assert.Equal(t, d.GmtActive, detail(t, srv, pk, names[0]).GmtActive, "the activation time is set once")
	})
	t.Run("every sign method and both hex cases log in, with and without a timestamp", func(t *testing.T) {
		i := 1
		for _, m := range []string{signature.HmacMD5, signature.HmacSHA1, signature.HmacSHA256} {
			for _, upper := range []bool{false, true} {
				dn, secret := names[i%len(names)], secrets[i%len(names)]
				i++
				cid := pk + "." + dn
				ts := "2524608000000"
				id := fmt.Sprintf("%s| timestamp=%s, _v=sdk-c-3.0.1 ,securemode=3,signmethod=%s,lan=C,ext=0,|", cid, ts, m)
				pass := signature.DevicePassword(m, secret, cid, dn, pk, ts, true)
				if upper {
					pass = strings.ToUpper(pass)
				}
				c, err := pahoLogin(t, srv, id, dn+"&"+pk, pass, 4)
				require.NoError(t, err, "%s upper=%v", m, upper)
				c.Disconnect(0)
			}
		}
	})
	t.Run("MQTT 3.1 logs in too", func(t *testing.T) {
		id, user, pass := signature.DeviceCredentials(pk, names[2], secrets[2], "", signature.HmacSHA1)
		_, err := pahoLogin(t, srv, id, user, pass, 3)
		require.NoError(t, err)
	})
	for _, tc := range []struct {
		name, id, user, pass string
		code                 string
	}{
		{"a wrong secret is refused as not authorized", "c|securemode=3,signmethod=hmacsha1|", names[3] + "&" + pk, "00", "not Authorized"},
		{"an unknown device is refused as not authorized", "c|securemode=3,signmethod=hmacsha1|", "nobody00&" + pk, "00", "not Authorized"},
		{"a client identifier without |…| is refused as identifier rejected", "plain", names[3] + "&" + pk, "00", "identifier rejected"},
		{"a username that is not DeviceName&ProductKey is refused as bad user name or password", "c|securemode=3|", names[3], "00", "bad user name or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pahoLogin(t, srv, tc.id, tc.user, tc.pass, 4)
			require.Error(t, err)
			assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(tc.code))
		})
	}
	t.Run("a refused login is in the journal with its reason", func(t *testing.T) {
		entries := srv.Emulator().Requests(emulator.JournalFilter{Protocol: "mqtt", Action: "login refused"})
		require.NotEmpty(t, entries)
		assert.Equal(t, "mqtt", entries[0].Protocol)
		assert.NotEmpty(t, entries[0].Code)
	})
	t.Run("a second login of the same device takes over the first", func(t *testing.T) {
		first := srv.ConnectDevice(pk, names[4], secrets[4])
		second := srv.ConnectDevice(pk, names[4], secrets[4])
		eventually(t, "the first connection to close", func() bool { return !first.Connected() })
		assert.True(t, second.Connected())
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, pk, names[4]), "the takeover leaves the device online")
		second.Close()
		eventually(t, "the device to go offline", func() bool { return deviceStatus(t, srv, pk, names[4]) == "OFFLINE" })
	})
	t.Run("a disabled device is kicked and refused until it is enabled", func(t *testing.T) {
		dev := srv.ConnectDevice(pk, names[5], secrets[5])
		client := srv.NewIotClient()
		dis := iot.CreateDisableThingRequest()
		dis.ProductKey, dis.DeviceName = pk, names[5]
		resp, err := client.DisableThing(dis)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		eventually(t, "the device to be kicked", func() bool { return !dev.Connected() })
		assert.Equal(t, "DISABLE", deviceStatus(t, srv, pk, names[5]))
		_, err = srv.DialDevice(pk, names[5], secrets[5])
		require.Error(t, err)
		assert.Contains(t, strings.ToLower(err.Error()), "not authorized")
		en := iot.CreateEnableThingRequest()
		en.ProductKey, en.DeviceName = pk, names[5]
		eresp, err := client.EnableThing(en)
		require.NoError(t, err)
		require.True(t, eresp.Success, eresp.Code)
		assert.Equal(t, "OFFLINE", deviceStatus(t, srv, pk, names[5]), "it had logged in before")
		srv.ConnectDevice(pk, names[5], secrets[5]).Close()
	})
	t.Run("a device may not subscribe to another device's topics, nor publish there", func(t *testing.T) {
		dev := srv.ConnectDevice(pk, names[6], secrets[6])
		defer dev.Close()
		own := dev.Subscribe("/sys/" + pk + "/" + names[6] + "/thing/service/property/set")
		_ = own
		id, user, pass := signature.DeviceCredentials(pk, names[6], secrets[6], "acl-probe", signature.HmacSHA256)
		c, err := pahoLogin(t, srv, id, user, pass, 4)
		require.NoError(t, err)
		tok := c.Subscribe("/sys/"+pk+"/"+names[7]+"/thing/service/property/set", 1, nil)
		require.True(t, tok.WaitTimeout(5*time.Second))
		assert.Equal(t, byte(0x80), tok.(*paho.SubscribeToken).Result()["/sys/"+pk+"/"+names[7]+"/thing/service/property/set"])
		entries := srv.Emulator().Requests(emulator.JournalFilter{Protocol: "mqtt", Action: "denied"})
		assert.NotEmpty(t, entries)
	})
	t.Run("two devices with the same MQTT client id do not take over each other", func(t *testing.T) {
		idA, userA, passA := signature.DeviceCredentials(pk, names[2], secrets[2], "shared-id", signature.HmacSHA1)
		idB, userB, passB := signature.DeviceCredentials(pk, names[3], secrets[3], "shared-id", signature.HmacSHA1)
		a, err := pahoLogin(t, srv, idA, userA, passA, 4)
		require.NoError(t, err)
		_, err = pahoLogin(t, srv, idB, userB, passB, 4)
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		assert.True(t, a.IsConnectionOpen(), "the first device stays connected")
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, pk, names[2]))
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, pk, names[3]))
		a.Disconnect(0)
	})
	t.Run("a Will aimed at another device's topic is never delivered", func(t *testing.T) {
		victim := srv.ConnectDevice(pk, names[1], secrets[1])
		defer victim.Close()
		got := victim.Subscribe("/sys/" + pk + "/" + names[1] + "/thing/service/property/set")
		id, user, pass := signature.DeviceCredentials(pk, names[0], secrets[0], "will-sender", "")
		opts := paho.NewClientOptions().AddBroker("tcp://"+srv.MQTTAddr()).SetClientID(id).SetUsername(user).SetPassword(pass).
			SetWill("/sys/"+pk+"/"+names[1]+"/thing/service/property/set", `{"params":{"evil":1}}`, 0, false).SetAutoReconnect(false)
		c := paho.NewClient(opts)
		tok := c.Connect()
		require.True(t, tok.WaitTimeout(10*time.Second))
		require.NoError(t, tok.Error())
		// Drop the socket without DISCONNECT, which would publish the Will.
		srv.Emulator().Kick(context.Background(), "", pk, names[0])
		select {
		case m := <-got:
			t.Fatalf("the Will was delivered: %s", m.Payload)
		case <-time.After(300 * time.Millisecond):
		}
	})
	t.Run("the control plane kicks a device", func(t *testing.T) {
		dev := srv.ConnectDevice(pk, names[7], secrets[7])
		n, err := srv.Emulator().Kick(context.Background(), "", pk, names[7])
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		eventually(t, "the device to be kicked", func() bool { return !dev.Connected() })
		assert.Equal(t, "OFFLINE", deviceStatus(t, srv, pk, names[7]))
	})
	t.Run("QueryDeviceStatistics counts devices, activated and online ones", func(t *testing.T) {
		dev := srv.ConnectDevice(pk, names[0], secrets[0])
		defer dev.Close()
		req := iot.CreateQueryDeviceStatisticsRequest()
		req.ProductKey = pk
		resp, err := srv.NewIotClient().QueryDeviceStatistics(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		assert.Equal(t, int64(8), resp.Data.DeviceCount)
		assert.GreaterOrEqual(t, resp.Data.ActiveCount, int64(7))
		assert.Equal(t, int64(1), resp.Data.OnlineCount)
	})
	t.Run("BatchGetDeviceState reports status and address by name", func(t *testing.T) {
		dev := srv.ConnectDevice(pk, names[1], secrets[1])
		defer dev.Close()
		req := iot.CreateBatchGetDeviceStateRequest()
		req.ProductKey = pk
		req.DeviceName = &[]string{names[1], "nobody00"}
		resp, err := srv.NewIotClient().BatchGetDeviceState(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		require.Len(t, resp.DeviceStatusList.DeviceStatus, 1, "an unknown name is left out")
		s := resp.DeviceStatusList.DeviceStatus[0]
		assert.Equal(t, "ONLINE", s.Status)
		assert.Equal(t, "127.0.0.1", s.AsAddress)
		assert.NotEmpty(t, s.LastOnlineTime)
	})
}

func TestBrokerSurvivesGarbage(t *testing.T) {
	srv := emutest.New(t)
	t.Run("garbage bytes, a silent client and a huge client id leave the broker and the RPC API answering", func(t *testing.T) {
		garbage, err := net.Dial("tcp", srv.MQTTAddr())
		require.NoError(t, err)
		garbage.Write([]byte("GET / HTTP/1.1\r\n\r\n\x00\xff\xff\xff\xff"))
		garbage.Close()
		silent, err := net.Dial("tcp", srv.MQTTAddr())
		require.NoError(t, err)
		defer silent.Close()
		_, err = pahoLogin(t, srv, strings.Repeat("x", 64<<10)+"|securemode=3|", "a&b", "00", 4)
		require.Error(t, err)
		for i := 0; i < 1000; i++ {
			conn, code, err := rawConnect(srv.MQTTAddr(), "c|securemode=3|", "nobody00&"+srv.ProductKey(), "00", 60)
			require.NoError(t, err, "refused login %d", i)
			require.Equal(t, byte(5), code, "refused login %d", i)
			conn.Close()
		}
		_, body := signedGet(t, srv.URL(), map[string]string{"Action": "QueryProduct", "ProductKey": srv.ProductKey()})
		assert.Contains(t, string(body), `"Success":true`, "the RPC API still answers")
		names, secrets := newDevices(t, srv, 1)
		srv.ConnectDevice(srv.ProductKey(), names[0], secrets[0]).Close()
	})
	t.Run("a client that never sends CONNECT is dropped", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits for the 10 s CONNECT deadline")
		}
		conn, err := net.Dial("tcp", srv.MQTTAddr())
		require.NoError(t, err)
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "timeout", "the broker closed it, not our own deadline")
	})
	t.Run("a CONNECT of an unsupported protocol level gets return code 1", func(t *testing.T) {
		for _, level := range []byte{2, 6, 255} {
			conn, err := net.Dial("tcp", srv.MQTTAddr())
			require.NoError(t, err)
			vh := append(mqttString("MQTT"), level, 0x02, 0, 60)
			vh = append(vh, mqttString("c|securemode=3|")...)
			conn.Write(append([]byte{0x10, byte(len(vh))}, vh...))
			ack := make([]byte, 4)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadFull(conn, ack)
			conn.Close()
			require.NoError(t, err, "level %d", level)
			assert.Equal(t, []byte{0x20, 0x02, 0x00, 0x01}, ack, "level %d", level)
		}
	})
	t.Run("a device silent for 1.5 times its Keep Alive is dropped and goes OFFLINE", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.MQTTKeepaliveCheck = false }))
		names, secrets := newDevices(t, srv, 1)
		id, user, pass := signature.DeviceCredentials(srv.ProductKey(), names[0], secrets[0], "", "")
		conn, code, err := rawConnect(srv.MQTTAddr(), id, user, pass, 1)
		require.NoError(t, err)
		defer conn.Close()
		require.Equal(t, byte(0), code)
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, srv.ProductKey(), names[0]))
		eventually(t, "the silent device to go offline", func() bool { return deviceStatus(t, srv, srv.ProductKey(), names[0]) == "OFFLINE" })
	})
	t.Run("the health check names the broker", func(t *testing.T) {
		resp, err := srv.HTTPClient().Get(srv.URL() + "/_emulator/health")
		require.NoError(t, err)
		defer resp.Body.Close()
		var v map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		assert.Equal(t, "tcp://"+srv.MQTTAddr(), v["mqtt"])
	})
}
