package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/signature"
)

// thing is a Paho device that records every message it receives, whether
// through a subscription or written to it directly (RRPC, broadcasts).
type thing struct {
	t        testing.TB
	client   paho.Client
	pk, dn   string
	mu       sync.Mutex
	received []paho.Message
	notify   chan struct{}
}

// connectThing logs a device in with its secret; clean false keeps its
// session (and QoS 1 messages) across a disconnect.
func connectThing(t testing.TB, srv *emutest.Server, pk, dn, secret string, clean bool) *thing {
	t.Helper()
	d := &thing{t: t, pk: pk, dn: dn, notify: make(chan struct{}, 1)}
	id, user, pass := signature.DeviceCredentials(pk, dn, secret, "", signature.HmacSHA256)
	opts := paho.NewClientOptions().AddBroker("tcp://" + srv.MQTTAddr()).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetProtocolVersion(4).SetCleanSession(clean).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetKeepAlive(60 * time.Second).SetOrderMatters(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			d.mu.Lock()
			d.received = append(d.received, m)
			d.mu.Unlock()
			select {
			case d.notify <- struct{}{}:
			default:
			}
		})
	d.client = paho.NewClient(opts)
	tok := d.client.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second), "no CONNACK")
	require.NoError(t, tok.Error())
	t.Cleanup(func() { d.client.Disconnect(0) })
	return d
}

// subscribe subscribes to filters under the device's own topics.
func (d *thing) subscribe(filters ...string) {
	d.t.Helper()
	for _, f := range filters {
		tok := d.client.Subscribe(f, 1, nil)
		require.True(d.t, tok.WaitTimeout(10*time.Second))
		require.NoError(d.t, tok.Error())
	}
}

// publish sends a message at QoS 1 and waits for the PUBACK.
func (d *thing) publish(topic, payload string) {
	d.t.Helper()
	tok := d.client.Publish(topic, 1, false, payload)
	require.True(d.t, tok.WaitTimeout(10*time.Second))
	require.NoError(d.t, tok.Error())
}

// next waits for the first unread message whose topic has the prefix and
// takes it.
func (d *thing) next(prefix string) paho.Message {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		d.mu.Lock()
		for i, m := range d.received {
			if strings.HasPrefix(m.Topic(), prefix) {
				d.received = append(d.received[:i:i], d.received[i+1:]...)
				d.mu.Unlock()
				return m
			}
		}
		d.mu.Unlock()
		select {
		case <-d.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			d.t.Fatalf("%s/%s received nothing on %s", d.pk, d.dn, prefix)
		}
	}
}

// none asserts that nothing arrived on a topic prefix within a short wait.
func (d *thing) none(prefix string) {
	d.t.Helper()
	time.Sleep(150 * time.Millisecond)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.received {
		assert.False(d.t, strings.HasPrefix(m.Topic(), prefix), "unexpected %s %s", m.Topic(), m.Payload())
	}
}

// sys is the device's /sys topic prefix.
func (d *thing) sys() string { return "/sys/" + d.pk + "/" + d.dn + "/" }

// alink decodes an Alink message.
func alink(t *testing.T, m paho.Message) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(m.Payload(), &v), "%s", m.Payload())
	return v
}

func propertyStatus(t testing.TB, c *iot.Client, pk, dn string) map[string]iot.PropertyStatusInfo {
	t.Helper()
	req := iot.CreateQueryDevicePropertyStatusRequest()
	req.ProductKey, req.DeviceName = pk, dn
	resp, err := c.QueryDevicePropertyStatus(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	out := map[string]iot.PropertyStatusInfo{}
	for _, p := range resp.Data.List.PropertyStatusInfo {
		out[p.Identifier] = p
	}
	return out
}

func TestThingsWithRealDevices(t *testing.T) {
	srv := emutest.New(t)
	c := srv.NewIotClient()
	pk := srv.ProductKey()
	names, secrets := newDevices(t, srv, 6)
	dev := connectThing(t, srv, pk, names[0], secrets[0], true)
	dev.subscribe(dev.sys()+"#", "/"+pk+"/"+names[0]+"/user/#", "/shadow/get/"+pk+"/"+names[0])
	start := time.Now().Add(-time.Hour)

	t.Run("a property post is answered on _reply with its id echoed and becomes the latest value and history", func(t *testing.T) {
		dev.publish(dev.sys()+"thing/event/property/post",
			`{"id":"0123","version":"1.0","params":{"temperature":23.5,"humidity":{"value":41,"time":1700000000000}},"method":"thing.event.property.post"}`)
		r := dev.next(dev.sys() + "thing/event/property/post_reply")
		assert.Contains(t, string(r.Payload()), `"id":"0123"`)
		v := alink(t, r)
		assert.EqualValues(t, 200, v["code"])
		assert.Equal(t, "thing.event.property.post", v["method"])

		props := propertyStatus(t, c, pk, names[0])
		require.Contains(t, props, "temperature")
		assert.Equal(t, "23.5", props["temperature"].Value)
		assert.Equal(t, "float", props["temperature"].DataType)
		assert.Equal(t, "°C", props["temperature"].Unit)
		assert.Equal(t, "41", props["humidity"].Value)
		assert.Equal(t, "1700000000000", props["humidity"].Time, "the {value,time} form keeps the device's time")
		assert.Contains(t, props, "LightSwitch", "declared properties without a value are listed too")
		assert.Empty(t, props["LightSwitch"].Value)

		req := iot.CreateQueryDevicePropertyDataRequest()
		req.ProductKey, req.DeviceName, req.Identifier = pk, names[0], "temperature"
		req.StartTime = requests.NewInteger64(start.UnixMilli())
		req.EndTime = requests.NewInteger64(time.Now().Add(time.Hour).UnixMilli())
		req.Asc, req.PageSize = requests.NewInteger(1), requests.NewInteger(10)
		resp, err := c.QueryDevicePropertyData(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		require.Len(t, resp.Data.List.PropertyInfo, 1)
		assert.Equal(t, "23.5", resp.Data.List.PropertyInfo[0].Value)
		assert.False(t, resp.Data.NextValid)
	})

	t.Run("history pages through its time window with NextTime and NextValid", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			dev.publish(dev.sys()+"thing/event/property/post",
				fmt.Sprintf(`{"id":"h%d","params":{"temperature":{"value":%d.5,"time":%d}}}`, i, 10+i, 1750000000000+int64(i)*1000))
			dev.next(dev.sys() + "thing/event/property/post_reply")
		}
		var got []string
		from := int64(1750000000000)
		for page := 0; page < 5; page++ {
			req := iot.CreateQueryDevicePropertyDataRequest()
			req.ProductKey, req.DeviceName, req.Identifier = pk, names[0], "temperature"
			req.StartTime, req.EndTime = requests.NewInteger64(from), requests.NewInteger64(1750000010000)
			req.Asc, req.PageSize = requests.NewInteger(1), requests.NewInteger(2)
			resp, err := c.QueryDevicePropertyData(req)
			require.NoError(t, err)
			require.True(t, resp.Success, resp.Code)
			for _, p := range resp.Data.List.PropertyInfo {
				got = append(got, p.Value)
			}
			if !resp.Data.NextValid {
				break
			}
			from = resp.Data.NextTime
		}
		assert.Equal(t, []string{"10.5", "11.5", "12.5", "13.5", "14.5"}, got)
	})

	t.Run("a value that breaks the model gets an Alink error code and changes nothing", func(t *testing.T) {
		dev.publish(dev.sys()+"thing/event/property/post", `{"id":"7","params":{"humidity":"wet"}}`)
		v := alink(t, dev.next(dev.sys()+"thing/event/property/post_reply"))
		assert.NotEqualValues(t, 200, v["code"])
		assert.Equal(t, "7", v["id"])
		assert.Equal(t, "41", propertyStatus(t, c, pk, names[0])["humidity"].Value)
	})

	t.Run("sys.ack 0 gets no reply but is stored", func(t *testing.T) {
		dev.publish(dev.sys()+"thing/event/property/post", `{"id":"8","sys":{"ack":0},"params":{"humidity":42}}`)
		eventually(t, "the value to be stored", func() bool { return propertyStatus(t, c, pk, names[0])["humidity"].Value == "42" })
		dev.none(dev.sys() + "thing/event/property/post_reply")
	})

	t.Run("an event post is answered and read back with QueryDeviceEventData", func(t *testing.T) {
		evTime := time.Now().Add(-time.Minute).UnixMilli()
		dev.publish(dev.sys()+"thing/event/overheat/post", fmt.Sprintf(`{"id":"9","params":{"value":{"temperature":80.5},"time":%d}}`, evTime))
		assert.EqualValues(t, 200, alink(t, dev.next(dev.sys()+"thing/event/overheat/post_reply"))["code"])
		dev.publish(dev.sys()+"thing/event/overheat/post", `{"id":"9b","params":{"temperature":"hot"}}`)
		assert.NotEqualValues(t, 200, alink(t, dev.next(dev.sys()+"thing/event/overheat/post_reply"))["code"], "flat values are checked too")
		req := iot.CreateQueryDeviceEventDataRequest()
		req.ProductKey, req.DeviceName = pk, names[0]
		req.StartTime = requests.NewInteger64(start.UnixMilli())
		req.EndTime = requests.NewInteger64(time.Now().Add(time.Hour).UnixMilli())
		resp, err := c.QueryDeviceEventData(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		require.Len(t, resp.Data.List.EventInfo, 1)
		e := resp.Data.List.EventInfo[0]
		assert.Equal(t, "overheat", e.Identifier)
		assert.Equal(t, "alert", e.EventType)
		assert.JSONEq(t, `{"temperature":80.5}`, e.OutputData)
		assert.Equal(t, strconv.FormatInt(evTime, 10), e.Time)
	})

	t.Run("SetDeviceProperty reaches the device, and its 200 set_reply makes the value the reported one", func(t *testing.T) {
		req := iot.CreateSetDevicePropertyRequest()
		req.ProductKey, req.DeviceName, req.Items = pk, names[0], `{"LightSwitch":1}`
		resp, err := c.SetDeviceProperty(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		m := dev.next(dev.sys() + "thing/service/property/set")
		v := alink(t, m)
		assert.Equal(t, resp.Data.MessageId, v["id"])
		assert.Equal(t, "thing.service.property.set", v["method"])
		assert.Equal(t, map[string]any{"LightSwitch": float64(1)}, v["params"])
		dev.publish(dev.sys()+"thing/service/property/set_reply", fmt.Sprintf(`{"id":"%s","code":200,"data":{}}`, v["id"]))
		eventually(t, "the value to be reported", func() bool { return propertyStatus(t, c, pk, names[0])["LightSwitch"].Value == "1" })

		req.Items = `{"LightSwitch":0}`
		resp, err = c.SetDeviceProperty(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		v = alink(t, dev.next(dev.sys()+"thing/service/property/set"))
		dev.publish(dev.sys()+"thing/service/property/set_reply", fmt.Sprintf(`{"id":"%s","code":9201,"message":"busy"}`, v["id"]))
		dev.publish(dev.sys()+"thing/event/property/post", `{"id":"10","params":{"humidity":43}}`)
		dev.next(dev.sys() + "thing/event/property/post_reply")
		assert.Equal(t, "1", propertyStatus(t, c, pk, names[0])["LightSwitch"].Value, "a refused set changes nothing")
	})

	t.Run("SetDeviceProperty refuses read-only, undeclared and ill-typed properties", func(t *testing.T) {
		for _, tc := range []struct{ items, code string }{
			{`{"temperature":1}`, "iot.device.CanNotSetReadOnlyProperty"},
			{`{"LightSwitch":"on"}`, "iot.check.InvalidFormattedParameter"},
			{`{"colour":1}`, "iot.device.NoneDeviceProperties"},
			{`not json`, "iot.device.InvalidFormattedDevicePropertiesString"},
		} {
			req := iot.CreateSetDevicePropertyRequest()
			req.ProductKey, req.DeviceName, req.Items = pk, names[0], tc.items
			resp, err := c.SetDeviceProperty(req)
			require.NoError(t, err)
			assert.False(t, resp.Success, tc.items)
			assert.Equal(t, tc.code, resp.Code, tc.items)
		}
	})

	t.Run("an async InvokeThingService is published on the service topic and answers its MessageId", func(t *testing.T) {
		req := iot.CreateInvokeThingServiceRequest()
		req.ProductKey, req.DeviceName, req.Identifier, req.Args = pk, names[0], "setTimer", `{"seconds":30}`
		resp, err := c.InvokeThingService(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		v := alink(t, dev.next(dev.sys()+"thing/service/setTimer"))
		assert.Equal(t, resp.Data.MessageId, v["id"])
		assert.Equal(t, "thing.service.setTimer", v["method"])
		assert.Equal(t, map[string]any{"seconds": float64(30)}, v["params"])
	})

	t.Run("a sync InvokeThingService goes over RRPC and answers the device's data as Result", func(t *testing.T) {
		done := make(chan *iot.InvokeThingServiceResponse, 1)
		go func() {
			req := iot.CreateInvokeThingServiceRequest()
			req.ProductKey, req.DeviceName, req.Identifier, req.Args = pk, names[0], "reboot", `{"delay":5}`
			resp, err := c.InvokeThingService(req)
			if err != nil {
				t.Error(err)
			}
			done <- resp
		}()
		m := dev.next(dev.sys() + "rrpc/request/")
		v := alink(t, m)
		assert.Equal(t, "thing.service.reboot", v["method"])
		mid := strings.TrimPrefix(m.Topic(), dev.sys()+"rrpc/request/")
		dev.publish(dev.sys()+"rrpc/response/"+mid, fmt.Sprintf(`{"id":"%s","code":200,"data":{"ok":true}}`, v["id"]))
		resp := <-done
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		assert.JSONEq(t, `{"ok":true}`, resp.Data.Result)
		assert.Equal(t, mid, resp.Data.MessageId)
	})

	t.Run("InvokeThingService refuses an unknown service", func(t *testing.T) {
		req := iot.CreateInvokeThingServiceRequest()
		req.ProductKey, req.DeviceName, req.Identifier, req.Args = pk, names[0], "nope", `{}`
		resp, err := c.InvokeThingService(req)
		require.NoError(t, err)
		assert.False(t, resp.Success)
		assert.Equal(t, "iot.device.InvokeThingServiceFailed", resp.Code)
	})

	t.Run("Pub delivers the decoded bytes at QoS 0 and 1 exactly", func(t *testing.T) {
		payload := []byte{0x00, 0xff, 'h', 'i', 0x80, '\n'}
		for _, q := range []int{0, 1} {
			req := iot.CreatePubRequest()
			req.ProductKey, req.TopicFullName = pk, "/"+pk+"/"+names[0]+"/user/get"
			req.MessageContent = base64.StdEncoding.EncodeToString(payload)
			req.Qos = requests.NewInteger(q)
			resp, err := c.Pub(req)
			require.NoError(t, err)
			require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
			assert.NotEmpty(t, resp.MessageId)
			m := dev.next("/" + pk + "/" + names[0] + "/user/get")
			assert.Equal(t, payload, m.Payload())
			assert.EqualValues(t, q, m.Qos())
		}
	})

	t.Run("Pub refuses a topic the device may not receive and an oversize message", func(t *testing.T) {
		for _, tc := range []struct{ topic, content, code string }{
			{"/sys/" + pk + "/" + names[0] + "/thing/service/property/set", "aGk=", "iot.messagebroker.InvalidFormattedTopicName"},
			{"/otherpk/" + names[0] + "/user/get", "aGk=", "iot.messagebroker.InvalidFormattedTopicName"},
			{"/" + pk + "/" + names[0] + "/user/get", base64.StdEncoding.EncodeToString(make([]byte, 257<<10)), "iot.messagebroker.PublishMessageFailed"},
			{"/" + pk + "/" + names[0] + "/user/get", "not base64!", "iot.messagebroker.MessageContentIsNotBase64Encode"},
		} {
			req := iot.CreatePubRequest()
			req.ProductKey, req.TopicFullName, req.MessageContent = pk, tc.topic, tc.content
			req.Method = "POST"
			resp, err := c.Pub(req)
			require.NoError(t, err)
			assert.False(t, resp.Success, tc.topic)
			assert.Equal(t, tc.code, resp.Code, tc.topic)
		}
	})

	t.Run("a QoS 1 Pub to an offline device with a persistent session arrives when it comes back", func(t *testing.T) {
		p := connectThing(t, srv, pk, names[1], secrets[1], false)
		topic := "/" + pk + "/" + names[1] + "/user/get"
		p.subscribe(topic)
		p.client.Disconnect(100)
		eventually(t, "the device to go offline", func() bool { return deviceStatus(t, srv, pk, names[1]) == "OFFLINE" })
		req := iot.CreatePubRequest()
		req.ProductKey, req.TopicFullName, req.MessageContent = pk, topic, base64.StdEncoding.EncodeToString([]byte("while away"))
		req.Qos = requests.NewInteger(1)
		resp, err := c.Pub(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		back := connectThing(t, srv, pk, names[1], secrets[1], false)
		assert.Equal(t, "while away", string(back.next(topic).Payload()))
	})

	t.Run("PubBroadcast reaches every online device of the product", func(t *testing.T) {
		other := connectThing(t, srv, pk, names[2], secrets[2], true)
		req := iot.CreatePubBroadcastRequest()
		req.ProductKey, req.MessageContent = pk, base64.StdEncoding.EncodeToString([]byte("to all"))
		resp, err := c.PubBroadcast(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		mid := strconv.FormatInt(resp.MessageId, 10)
		for _, d := range []*thing{dev, other} {
			m := d.next(d.sys() + "broadcast/request/")
			assert.Equal(t, d.sys()+"broadcast/request/"+mid, m.Topic())
			assert.Equal(t, "to all", string(m.Payload()))
		}
		other.subscribe("/broadcast/" + pk + "/news")
		dev.subscribe("/broadcast/" + pk + "/news")
		req.TopicFullName = "/broadcast/" + pk + "/news"
		resp, err = c.PubBroadcast(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		for _, d := range []*thing{dev, other} {
			assert.Equal(t, "to all", string(d.next("/broadcast/"+pk+"/news").Payload()))
		}
	})

	rrpc := func(dn string, timeout int) *iot.RRpcResponse {
		req := iot.CreateRRpcRequest()
		req.ProductKey, req.DeviceName = pk, dn
		req.RequestBase64Byte = base64.StdEncoding.EncodeToString([]byte("ping"))
		req.Timeout = requests.NewInteger(timeout)
		resp, err := c.RRpc(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		return resp
	}
	t.Run("RRpc answers SUCCESS with the device's bytes", func(t *testing.T) {
		done := make(chan *iot.RRpcResponse, 1)
		go func() { done <- rrpc(names[0], 5000) }()
		m := dev.next(dev.sys() + "rrpc/request/")
		assert.Equal(t, "ping", string(m.Payload()))
		mid := strings.TrimPrefix(m.Topic(), dev.sys()+"rrpc/request/")
		dev.publish(dev.sys()+"rrpc/response/"+mid, "pong\x00")
		resp := <-done
		assert.Equal(t, "SUCCESS", resp.RrpcCode)
		assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("pong\x00")), resp.PayloadBase64Byte)
		assert.Equal(t, mid, strconv.FormatInt(resp.MessageId, 10))
	})
	t.Run("RRpc answers TIMEOUT when the device does not answer", func(t *testing.T) {
		assert.Equal(t, "TIMEOUT", rrpc(names[0], 1000).RrpcCode)
		dev.next(dev.sys() + "rrpc/request/")
	})
	t.Run("RRpc answers OFFLINE for a device that went away", func(t *testing.T) {
		p := connectThing(t, srv, pk, names[3], secrets[3], true)
		p.client.Disconnect(100)
		eventually(t, "the device to go offline", func() bool { return deviceStatus(t, srv, pk, names[3]) == "OFFLINE" })
		assert.Equal(t, "OFFLINE", rrpc(names[3], 1000).RrpcCode)
	})

	t.Run("UpdateDeviceShadow pushes desired state to the device, which reports back", func(t *testing.T) {
		req := iot.CreateUpdateDeviceShadowRequest()
		req.ProductKey, req.DeviceName = pk, names[0]
		req.ShadowMessage = `{"method":"update","state":{"desired":{"color":"green"}},"version":1}`
		resp, err := c.UpdateDeviceShadow(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		v := alink(t, dev.next("/shadow/get/"+pk+"/"+names[0]))
		assert.Equal(t, "control", v["method"])
		assert.Equal(t, map[string]any{"color": "green"}, v["payload"].(map[string]any)["state"].(map[string]any)["desired"])

		dev.publish("/shadow/update/"+pk+"/"+names[0], `{"method":"update","state":{"reported":{"color":"green"}},"version":2}`)
		r := alink(t, dev.next("/shadow/get/"+pk+"/"+names[0]))
		assert.Equal(t, "reply", r["method"])
		assert.Equal(t, "success", r["payload"].(map[string]any)["status"])

		g := iot.CreateGetDeviceShadowRequest()
		g.ProductKey, g.DeviceName = pk, names[0]
		got, err := c.GetDeviceShadow(g)
		require.NoError(t, err)
		require.True(t, got.Success, got.Code)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(got.ShadowMessage), &doc))
		assert.EqualValues(t, 2, doc["version"])
		assert.Equal(t, map[string]any{"color": "green"}, doc["state"].(map[string]any)["reported"])

		dev.publish("/shadow/update/"+pk+"/"+names[0], `{"method":"get"}`)
		r = alink(t, dev.next("/shadow/get/"+pk+"/"+names[0]))
		assert.Equal(t, "reply", r["method"])
		assert.EqualValues(t, 2, r["version"])
	})

	t.Run("a stale shadow version is refused on both sides", func(t *testing.T) {
		dev.publish("/shadow/update/"+pk+"/"+names[0], `{"method":"update","state":{"reported":{"color":"red"}},"version":1}`)
		r := alink(t, dev.next("/shadow/get/"+pk+"/"+names[0]))
		assert.Equal(t, "error", r["payload"].(map[string]any)["status"])
		req := iot.CreateUpdateDeviceShadowRequest()
		req.ProductKey, req.DeviceName = pk, names[0]
		req.ShadowMessage = `{"method":"update","state":{"desired":{"color":"blue"}},"version":1}`
		resp, err := c.UpdateDeviceShadow(req)
		require.NoError(t, err)
		assert.False(t, resp.Success)
		assert.NotEmpty(t, resp.Code)
	})

	t.Run("desired properties are versioned and the device can get them", func(t *testing.T) {
		req := iot.CreateSetDeviceDesiredPropertyRequest()
		req.ProductKey, req.DeviceName = pk, names[0]
		req.Items, req.Versions = `{"LightSwitch":0}`, `{"LightSwitch":0}`
		resp, err := c.SetDeviceDesiredProperty(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		q := iot.CreateQueryDeviceDesiredPropertyRequest()
		q.ProductKey, q.DeviceName = pk, names[0]
		got, err := c.QueryDeviceDesiredProperty(q)
		require.NoError(t, err)
		require.True(t, got.Success, got.Code)
		require.Len(t, got.Data.List.DesiredPropertyInfo, 1)
		assert.Equal(t, "0", got.Data.List.DesiredPropertyInfo[0].Value)
		assert.EqualValues(t, 1, got.Data.List.DesiredPropertyInfo[0].Version)

		resp, err = c.SetDeviceDesiredProperty(req)
		require.NoError(t, err)
		assert.False(t, resp.Success, "version 0 is stale once 1 exists")

		dev.publish(dev.sys()+"thing/property/desired/get", `{"id":"20","params":["LightSwitch"]}`)
		v := alink(t, dev.next(dev.sys()+"thing/property/desired/get_reply"))
		assert.EqualValues(t, 200, v["code"])
		assert.Contains(t, string(mustJSON(t, v["data"])), `"LightSwitch"`)
	})

	t.Run("the message log lists what went each way and which request caused it", func(t *testing.T) {
		var log struct {
			Messages []struct {
				Direction, Topic, Payload, ProductKey, DeviceName, RequestID, MessageID, Encoding string
				QoS                                                                               int
			}
		}
		require.Equal(t, 200, adminCall(t, srv, "GET", "/_emulator/messages?productKey="+pk+"&deviceName="+names[0]+"&direction=down&topic=/"+pk+"/"+names[0]+"/user/get", nil, &log))
		require.Len(t, log.Messages, 2)
		for _, m := range log.Messages {
			assert.Equal(t, "down", m.Direction)
			assert.NotEmpty(t, m.RequestID)
			assert.Equal(t, "base64", m.Encoding)
		}
		require.Equal(t, 200, adminCall(t, srv, "GET", "/_emulator/messages?deviceName="+names[0]+"&direction=up&topic="+dev.sys()+"thing/event/overheat/post", nil, &log))
		require.Len(t, log.Messages, 2)
		assert.True(t, strings.HasPrefix(log.Messages[0].Payload, `{"id":"9","params":{"value":{"temperature":80.5},"time":`), log.Messages[0].Payload)
		assert.Equal(t, "9", log.Messages[0].MessageID)
		require.Equal(t, 200, adminCall(t, srv, "DELETE", "/_emulator/messages", nil, nil))
		require.Equal(t, 200, adminCall(t, srv, "GET", "/_emulator/messages", nil, &log))
		assert.Empty(t, log.Messages)
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestThingsWithVirtualDevices(t *testing.T) {
	srv := emutest.New(t)
	c := srv.NewIotClient()
	pk := srv.ProductKey()
	names, _ := newDevices(t, srv, 3)
	dn := names[0]
	base := "/_emulator/devices/" + pk + "/" + dn

	t.Run("POST …/virtual puts a registered device ONLINE without a socket", func(t *testing.T) {
		var got map[string]any
		require.Equal(t, 200, adminCall(t, srv, "POST", base+"/virtual", map[string]any{
			"online": true, "autoReply": true,
			"serviceReplies": map[string]any{"reboot": map[string]any{"code": 200, "data": map[string]any{"ok": true}}},
			"rrpcReply":      base64.StdEncoding.EncodeToString([]byte("pong")),
		}, &got))
		assert.Equal(t, "ONLINE", deviceStatus(t, srv, pk, dn))
	})

	t.Run("a property set is acknowledged and the new value reported", func(t *testing.T) {
		req := iot.CreateSetDevicePropertyRequest()
		req.ProductKey, req.DeviceName, req.Items = pk, dn, `{"LightSwitch":1}`
		resp, err := c.SetDeviceProperty(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		assert.Equal(t, "1", propertyStatus(t, c, pk, dn)["LightSwitch"].Value)
		up := srv.Messages(emutest.MessageFilter{DeviceName: dn, Direction: "up", Topic: "/sys/" + pk + "/" + dn + "/thing/service/property/set_reply"})
		require.Len(t, up, 1)
		assert.Contains(t, up[0].Payload, `"id":"`+resp.Data.MessageId+`"`)
		assert.True(t, up[0].Virtual)
	})

	t.Run("a sync service answers the configured reply and an async one is acknowledged", func(t *testing.T) {
		req := iot.CreateInvokeThingServiceRequest()
		req.ProductKey, req.DeviceName, req.Identifier, req.Args = pk, dn, "reboot", `{"delay":1}`
		resp, err := c.InvokeThingService(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		assert.JSONEq(t, `{"ok":true}`, resp.Data.Result)

		req.Identifier, req.Args = "setTimer", `{"seconds":3}`
		resp, err = c.InvokeThingService(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		q := iot.CreateQueryDeviceServiceDataRequest()
		q.ProductKey, q.DeviceName, q.Identifier = pk, dn, "setTimer"
		q.StartTime = requests.NewInteger64(time.Now().Add(-time.Hour).UnixMilli())
		q.EndTime = requests.NewInteger64(time.Now().Add(time.Hour).UnixMilli())
		data, err := c.QueryDeviceServiceData(q)
		require.NoError(t, err)
		require.True(t, data.Success, data.Code)
		require.Len(t, data.Data.List.ServiceInfo, 1)
		assert.JSONEq(t, `{"seconds":3}`, data.Data.List.ServiceInfo[0].InputData)
	})

	t.Run("RRpc answers the configured bytes", func(t *testing.T) {
		req := iot.CreateRRpcRequest()
		req.ProductKey, req.DeviceName = pk, dn
		req.RequestBase64Byte, req.Timeout = base64.StdEncoding.EncodeToString([]byte("ping")), requests.NewInteger(1000)
		resp, err := c.RRpc(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		assert.Equal(t, "SUCCESS", resp.RrpcCode)
		assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("pong")), resp.PayloadBase64Byte)
	})

	t.Run("a Pub to the virtual device is in the message log with its request id", func(t *testing.T) {
		req := iot.CreatePubRequest()
		req.ProductKey, req.TopicFullName = pk, "/"+pk+"/"+dn+"/user/get"
		req.MessageContent = base64.StdEncoding.EncodeToString([]byte(`{"cmd":"blink"}`))
		resp, err := c.Pub(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		got := srv.Messages(emutest.MessageFilter{Topic: "/" + pk + "/" + dn + "/user/get"})
		require.Len(t, got, 1)
		assert.Equal(t, `{"cmd":"blink"}`, got[0].Payload)
		assert.Equal(t, resp.RequestId, got[0].RequestID)
		assert.Equal(t, resp.MessageId, got[0].MessageID)
	})

	t.Run("POST …/publish posts properties as the device", func(t *testing.T) {
		require.Equal(t, 200, adminCall(t, srv, "POST", base+"/publish", map[string]any{
			"topic":   "/sys/" + pk + "/" + dn + "/thing/event/property/post",
			"payload": `{"id":"55","params":{"temperature":19.5}}`,
		}, nil))
		assert.Equal(t, "19.5", propertyStatus(t, c, pk, dn)["temperature"].Value)
		replies := srv.Messages(emutest.MessageFilter{DeviceName: dn, Topic: "/sys/" + pk + "/" + dn + "/thing/event/property/post_reply"})
		require.NotEmpty(t, replies)
		assert.Contains(t, replies[len(replies)-1].Payload, `"id":"55"`)
	})

	t.Run("a publish to a topic the device does not own is refused", func(t *testing.T) {
		var e map[string]any
		assert.Equal(t, 400, adminCall(t, srv, "POST", base+"/publish", map[string]any{"topic": "/sys/" + pk + "/" + names[1] + "/thing/event/property/post", "payload": "{}"}, &e))
		assert.Contains(t, e["error"], "may not publish")
	})

	t.Run("the shadow works both ways through the virtual device", func(t *testing.T) {
		req := iot.CreateUpdateDeviceShadowRequest()
		req.ProductKey, req.DeviceName = pk, dn
		req.ShadowMessage = `{"method":"update","state":{"desired":{"mode":"eco"}},"version":1}`
		resp, err := c.UpdateDeviceShadow(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		push := srv.Messages(emutest.MessageFilter{DeviceName: dn, Topic: "/shadow/get/" + pk + "/" + dn})
		require.NotEmpty(t, push)
		assert.Contains(t, push[len(push)-1].Payload, `"method":"control"`)

		srv.PublishAs(pk, dn, "/shadow/update/"+pk+"/"+dn, []byte(`{"method":"update","state":{"reported":{"mode":"eco"}},"version":2}`))
		g := iot.CreateGetDeviceShadowRequest()
		g.ProductKey, g.DeviceName = pk, dn
		got, err := c.GetDeviceShadow(g)
		require.NoError(t, err)
		require.True(t, got.Success, got.Code)
		assert.Contains(t, got.ShadowMessage, `"reported":{"mode":"eco"}`)
	})

	t.Run("emutest makes another device virtual without replies, so sync calls time out", func(t *testing.T) {
		srv.Virtual(pk, names[1], emutest.VirtualDevice{Online: true})
		req := iot.CreateRRpcRequest()
		req.ProductKey, req.DeviceName = pk, names[1]
		req.RequestBase64Byte, req.Timeout = "aGk=", requests.NewInteger(1000)
		resp, err := c.RRpc(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		assert.Equal(t, "TIMEOUT", resp.RrpcCode)
		srv.RemoveVirtual(pk, names[1])
		assert.Equal(t, "OFFLINE", deviceStatus(t, srv, pk, names[1]))
	})

	t.Run("DELETE …/virtual takes it offline and downlinks answer the offline error", func(t *testing.T) {
		require.Equal(t, 200, adminCall(t, srv, "DELETE", base+"/virtual", nil, nil))
		assert.Equal(t, "OFFLINE", deviceStatus(t, srv, pk, dn))
		req := iot.CreateSetDevicePropertyRequest()
		req.ProductKey, req.DeviceName, req.Items = pk, dn, `{"LightSwitch":0}`
		resp, err := c.SetDeviceProperty(req)
		require.NoError(t, err)
		assert.Equal(t, "iot.messagebroker.OFFLINE", resp.Code)
		assert.Equal(t, 404, adminCall(t, srv, "DELETE", base+"/virtual", nil, nil), "it is no longer virtual")
	})

	t.Run("DisableThing ends a virtual device, and a login and logout of one are journalled", func(t *testing.T) {
		srv.Virtual(pk, names[1], emutest.VirtualDevice{Online: true})
		req := iot.CreateDisableThingRequest()
		req.ProductKey, req.DeviceName = pk, names[1]
		resp, err := c.DisableThing(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		assert.Equal(t, 404, adminCall(t, srv, "DELETE", "/_emulator/devices/"+pk+"/"+names[1]+"/virtual", nil, nil), "it is no longer virtual")
		var actions []string
		for _, e := range srv.Requests() {
			if e.Params["deviceName"] == names[1] && e.Params["virtual"] == "true" {
				actions = append(actions, e.Action)
			}
		}
		assert.Equal(t, []string{"login", "disconnect", "login"}, actions)
	})

	t.Run("a device that never connected answers InactiveDevice", func(t *testing.T) {
		req := iot.CreateSetDevicePropertyRequest()
		req.ProductKey, req.DeviceName, req.Items = pk, names[2], `{"LightSwitch":0}`
		resp, err := c.SetDeviceProperty(req)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.InactiveDevice", resp.Code)
	})
}

func TestThingsRefuseMalformedAlink(t *testing.T) {
	srv := emutest.New(t)
	pk := srv.ProductKey()
	names, secrets := newDevices(t, srv, 1)
	dev := connectThing(t, srv, pk, names[0], secrets[0], true)
	dev.subscribe(dev.sys() + "#")
	post := dev.sys() + "thing/event/property/post"
	for _, tc := range []struct{ name, payload string }{
		{"not JSON", "temperature=1"},
		{"a JSON array", `[1,2,3]`},
		{"params that are not an object", `{"id":"1","params":[1]}`},
		{"params null", `{"id":"2","params":null}`},
		{"an id that is an object", `{"id":{"a":1},"params":{"temperature":1.5}}`},
		{"a value nested in value", `{"id":"3","params":{"temperature":{"value":{"value":1}}}}`},
		{"nesting deeper than the JSON decoder allows", `{"id":"4","params":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`},
		{"a number too large for any type", `{"id":"5","params":{"humidity":1e400}}`},
		{"a huge string for a declared number", `{"id":"6","params":{"humidity":"` + strings.Repeat("x", 200_000) + `"}}`},
		{"trailing garbage", `{"id":"7","params":{}} trailing`},
	} {
		t.Run(tc.name+" is answered or dropped, and the device and RPC API keep working", func(t *testing.T) {
			dev.publish(post, tc.payload)
			dev.publish(post, `{"id":"ok","params":{"humidity":12}}`)
			for {
				r := alink(t, dev.next(post+"_reply"))
				if r["id"] == "ok" {
					assert.EqualValues(t, 200, r["code"])
					break
				}
				assert.NotEqualValues(t, 200, r["code"], "%v", r)
			}
			assert.Equal(t, "12", propertyStatus(t, srv.NewIotClient(), pk, names[0])["humidity"].Value)
		})
	}
}

func TestThingActionsRefuseBadInput(t *testing.T) {
	srv := emutest.New(t)
	pk := srv.ProductKey()
	names, _ := newDevices(t, srv, 1)
	dn := names[0]
	srv.Virtual(pk, dn, emutest.VirtualDevice{Online: true, AutoReply: true})
	deep := strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000)
	many := map[string]int{}
	for i := 0; i < 201; i++ {
		many[fmt.Sprintf("p%d", i)] = i
	}
	manyJSON := string(mustJSON(t, many))
	dev := map[string]string{"ProductKey": pk, "DeviceName": dn}
	for _, tc := range []struct {
		name, code string
		params     map[string]string
	}{
		{"Pub with Qos 5", "iot.check.InvalidFormattedParameter", map[string]string{"Action": "Pub", "ProductKey": pk, "TopicFullName": "/" + pk + "/" + dn + "/user/get", "MessageContent": "aGk=", "Qos": "5"}},
		{"Pub with an empty message", "MissingMessageContent", map[string]string{"Action": "Pub", "ProductKey": pk, "TopicFullName": "/" + pk + "/" + dn + "/user/get", "MessageContent": ""}},
		{"Pub to a wildcard topic", "iot.messagebroker.InvalidFormattedTopicName", map[string]string{"Action": "Pub", "ProductKey": pk, "TopicFullName": "/" + pk + "/+/user/get", "MessageContent": "aGk="}},
		{"Pub for an unknown product", "iot.prod.NotExistedProduct", map[string]string{"Action": "Pub", "ProductKey": "a1NoSuchProd", "TopicFullName": "/a1NoSuchProd/x/user/get", "MessageContent": "aGk="}},
		{"RRpc with a Timeout that is not a number", "iot.messagebroker.InvalidTimeoutValue", map[string]string{"Action": "RRpc", "ProductKey": pk, "DeviceName": dn, "RequestBase64Byte": "aGk=", "Timeout": "soon"}},
		{"RRpc with a Timeout over 8000", "iot.messagebroker.InvalidTimeoutValue", map[string]string{"Action": "RRpc", "ProductKey": pk, "DeviceName": dn, "RequestBase64Byte": "aGk=", "Timeout": "9000"}},
		{"RRpc to an unknown device", "iot.device.NotExistedDevice", map[string]string{"Action": "RRpc", "ProductKey": pk, "DeviceName": "nobody", "RequestBase64Byte": "aGk=", "Timeout": "1000"}},
		{"SetDeviceProperty with 201 properties", "iot.device.TooManyDevicePropertiesPerTime", with(dev, map[string]string{"Action": "SetDeviceProperty", "Items": manyJSON})},
		{"SetDeviceProperty with Items nested too deep", "iot.device.InvalidFormattedDevicePropertiesString", with(dev, map[string]string{"Action": "SetDeviceProperty", "Items": deep})},
		{"SetDeviceProperty with an empty object", "iot.device.NoneDeviceProperties", with(dev, map[string]string{"Action": "SetDeviceProperty", "Items": "{}"})},
		{"InvokeThingService with Args that are not JSON", "iot.check.InvalidFormattedParameter", with(dev, map[string]string{"Action": "InvokeThingService", "Identifier": "setTimer", "Args": "{seconds:1"})},
		{"InvokeThingService with an argument of the wrong type", "iot.check.InvalidFormattedParameter", with(dev, map[string]string{"Action": "InvokeThingService", "Identifier": "setTimer", "Args": `{"seconds":"ten"}`})},
		{"QueryDevicePropertyData with PageSize 0", "iot.common.InvalidPageParams", with(dev, map[string]string{"Action": "QueryDevicePropertyData", "Identifier": "temperature", "StartTime": "1", "EndTime": "2", "Asc": "1", "PageSize": "0"})},
		{"QueryDevicePropertyData with a negative StartTime", "iot.device.InvalidTimeBucket", with(dev, map[string]string{"Action": "QueryDevicePropertyData", "Identifier": "temperature", "StartTime": "-5", "EndTime": "2", "Asc": "1", "PageSize": "10"})},
		{"QueryDevicePropertyData with Asc 2", "iot.check.InvalidFormattedParameter", with(dev, map[string]string{"Action": "QueryDevicePropertyData", "Identifier": "temperature", "StartTime": "1", "EndTime": "2", "Asc": "2", "PageSize": "10"})},
		{"QueryDeviceEventData with an unknown EventType", "iot.check.InvalidFormattedParameter", with(dev, map[string]string{"Action": "QueryDeviceEventData", "StartTime": "1", "EndTime": "2", "EventType": "panic"})},
		{"UpdateDeviceShadow with a message that is not JSON", "", with(dev, map[string]string{"Action": "UpdateDeviceShadow", "ShadowMessage": "{"})},
		{"UpdateDeviceShadow nested too deep", "", with(dev, map[string]string{"Action": "UpdateDeviceShadow", "ShadowMessage": deep})},
		{"SetDeviceDesiredProperty with Versions of the wrong type", "iot.check.InvalidFormattedParameter", with(dev, map[string]string{"Action": "SetDeviceDesiredProperty", "Items": `{"LightSwitch":1}`, "Versions": `{"LightSwitch":"one"}`})},
		{"ImportThingModelTsl nested too deep", "", map[string]string{"Action": "ImportThingModelTsl", "ProductKey": pk, "TslStr": deep}},
		{"ImportThingModelTsl with an unknown data type", "", map[string]string{"Action": "ImportThingModelTsl", "ProductKey": pk, "TslStr": `{"properties":[{"identifier":"x","name":"X","accessMode":"rw","dataType":{"type":"complex"}}]}`}},
		{"PublishThingModel with a malformed version", "", map[string]string{"Action": "PublishThingModel", "ProductKey": pk, "ModelVersion": "v 1!"}},
		{"UpdateProduct with a name too short", "", map[string]string{"Action": "UpdateProduct", "ProductKey": pk, "ProductName": "ab"}},
	} {
		t.Run(tc.name+" answers its documented error and the device is unchanged", func(t *testing.T) {
			before := propertyStatus(t, srv.NewIotClient(), pk, dn)
			for _, format := range formats {
				params := map[string]string{"Format": format}
				for k, v := range tc.params {
					params[k] = v
				}
				resp, body := signedPost(t, srv.URL(), params)
				require.Less(t, resp.StatusCode, 500, "%s", body)
				code := errorCode(t, format, body)
				if tc.code != "" {
					assert.Equal(t, tc.code, code, "%s: %s", format, body)
				} else {
					assert.NotEmpty(t, code, "%s: %s", format, body)
				}
			}
			assert.Equal(t, before, propertyStatus(t, srv.NewIotClient(), pk, dn))
		})
	}
}

// with merges parameter maps, later ones winning.
func with(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestHistoryPagesRecordsOfOneMillisecondOnce(t *testing.T) {
	srv := emutest.New(t)
	c := srv.NewIotClient()
	pk := srv.ProductKey()
	names, _ := newDevices(t, srv, 1)
	dn := names[0]
	srv.Virtual(pk, dn, emutest.VirtualDevice{Online: true})
	// Five values at 1000, three at 1001, four at 1002 (ms since an epoch
	// far in the past, so nothing else falls in the window).
	at := []int64{1000, 1000, 1000, 1000, 1000, 1001, 1001, 1001, 1002, 1002, 1002, 1002}
	for i, ms := range at {
		srv.PublishAs(pk, dn, "/sys/"+pk+"/"+dn+"/thing/event/property/post",
			[]byte(fmt.Sprintf(`{"id":"%d","params":{"humidity":{"value":%d,"time":%d}}}`, i, i, ms)))
	}
	for _, asc := range []int{1, 0} {
		t.Run(fmt.Sprintf("with Asc %d every record but those of an over-full millisecond is listed once", asc), func(t *testing.T) {
			start, end := int64(900), int64(2000)
			seen := map[string]int{}
			for page := 0; page < 20; page++ {
				req := iot.CreateQueryDevicePropertyDataRequest()
				req.ProductKey, req.DeviceName, req.Identifier = pk, dn, "humidity"
				req.StartTime, req.EndTime = requests.NewInteger64(start), requests.NewInteger64(end)
				req.Asc, req.PageSize = requests.NewInteger(asc), requests.NewInteger(3)
				resp, err := c.QueryDevicePropertyData(req)
				require.NoError(t, err)
				require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
				for _, p := range resp.Data.List.PropertyInfo {
					seen[p.Value]++
				}
				if !resp.Data.NextValid {
					break
				}
				if asc == 1 {
					start = resp.Data.NextTime
				} else {
					end = resp.Data.NextTime
				}
			}
			for v, n := range seen {
				assert.Equal(t, 1, n, "value %s listed %d times", v, n)
			}
			for _, v := range []string{"5", "6", "7"} {
				assert.Contains(t, seen, v, "the three values of 1001 fit a page")
			}
		})
	}
}

func TestPropertyErrorsDrop(t *testing.T) {
	srv := emutest.New(t, emutest.WithConfig(func(c *emulatorConfig) { c.PropertyErrors = "drop" }))
	pk := srv.ProductKey()
	names, secrets := newDevices(t, srv, 1)
	dev := connectThing(t, srv, pk, names[0], secrets[0], true)
	dev.subscribe(dev.sys() + "#")
	t.Run("with --property-errors drop a bad value is dropped and the post answered 200", func(t *testing.T) {
		dev.publish(dev.sys()+"thing/event/property/post", `{"id":"1","params":{"humidity":"wet","temperature":20.5}}`)
		assert.EqualValues(t, 200, alink(t, dev.next(dev.sys()+"thing/event/property/post_reply"))["code"])
		props := propertyStatus(t, srv.NewIotClient(), pk, names[0])
		assert.Equal(t, "20.5", props["temperature"].Value)
		assert.Empty(t, props["humidity"].Value)
	})
}
