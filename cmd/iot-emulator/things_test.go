package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

func TestThingsAcrossRestart(t *testing.T) {
	args := []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "iot.db"), "--mqtt-addr", "127.0.0.1:0"}
	first := start(t, args, nil)
	c := sdkClient(t, first.addr)
	reg := iot.CreateRegisterDeviceRequest()
	reg.ProductKey = "a1TestProd1"
	rr, err := c.RegisterDevice(reg)
	require.NoError(t, err)
	require.True(t, rr.Success, rr.Code)
	pk, dn := rr.Data.ProductKey, rr.Data.DeviceName
	sys := "/sys/" + pk + "/" + dn + "/"

	id, user, pass := signature.DeviceCredentials(pk, dn, rr.Data.DeviceSecret, "", "")
	replies := make(chan paho.Message, 8)
	opts := paho.NewClientOptions().AddBroker("tcp://" + mqttAddr(t, first)).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	dev := paho.NewClient(opts)
	tok := dev.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	for _, f := range []string{sys + "thing/event/property/post_reply", "/shadow/get/" + pk + "/" + dn} {
		st := dev.Subscribe(f, 1, func(_ paho.Client, m paho.Message) { replies <- m })
		require.True(t, st.WaitTimeout(10*time.Second))
	}
	await := func() {
		select {
		case <-replies:
		case <-time.After(10 * time.Second):
			t.Fatal("no reply")
		}
	}
	dev.Publish("/shadow/update/"+pk+"/"+dn, 1, false, `{"method":"update","state":{"reported":{"mode":"eco"}},"version":3}`).Wait()
	await()
	imp := iot.CreateImportThingModelTslRequest()
	imp.ProductKey = pk
	imp.TslStr = `{"properties":[{"identifier":"level","name":"Level","accessMode":"rw","dataType":{"type":"int","specs":{"min":"0","max":"9"}}}]}`
	ir, err := c.ImportThingModelTsl(imp)
	require.NoError(t, err)
	require.True(t, ir.Success, "%s: %s", ir.Code, ir.ErrorMessage)
	pub := iot.CreatePublishThingModelRequest()
	pub.ProductKey, pub.ModelVersion = pk, "2.0.0"
	pr, err := c.PublishThingModel(pub)
	require.NoError(t, err)
	require.True(t, pr.Success, "%s: %s", pr.Code, pr.ErrorMessage)
	dev.Publish(sys+"thing/event/property/post", 1, false, `{"id":"1","params":{"level":7}}`).Wait()
	await()
	messages := func(addr string) int {
		resp, err := http.Get("http://" + addr + "/_emulator/messages?deviceName=" + dn)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out struct{ Messages []json.RawMessage }
		require.NoError(t, json.Unmarshal(body, &out), "%s", body)
		return len(out.Messages)
	}
	logged := messages(first.addr)
	require.NoError(t, first.stop(t))
	dev.Disconnect(0)

	second := start(t, args, nil)
	c = sdkClient(t, second.addr)
	t.Run("the latest property values are kept, checked against the published model", func(t *testing.T) {
		req := iot.CreateQueryDevicePropertyStatusRequest()
		req.ProductKey, req.DeviceName = pk, dn
		resp, err := c.QueryDevicePropertyStatus(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		values := map[string]string{}
		for _, p := range resp.Data.List.PropertyStatusInfo {
			values[p.Identifier] = p.Value
		}
		assert.Equal(t, map[string]string{"level": "7"}, values)
	})
	t.Run("the shadow is kept with its version", func(t *testing.T) {
		g := iot.CreateGetDeviceShadowRequest()
		g.ProductKey, g.DeviceName = pk, dn
		got, err := c.GetDeviceShadow(g)
		require.NoError(t, err)
		require.True(t, got.Success, got.Code)
		assert.Contains(t, got.ShadowMessage, `"version":3`)
		assert.Contains(t, got.ShadowMessage, `"mode":"eco"`)
	})
	t.Run("the published thing model is kept", func(t *testing.T) {
		q := iot.CreateQueryThingModelPublishedRequest()
		q.ProductKey = pk
		got, err := c.QueryThingModelPublished(q)
		require.NoError(t, err)
		require.True(t, got.Success, got.Code)
		assert.Contains(t, got.Data.ThingModelJson, `"identifier":"level"`)
	})
	t.Run("the message log is kept", func(t *testing.T) {
		assert.Equal(t, logged, messages(second.addr))
		assert.GreaterOrEqual(t, logged, 4)
	})
	require.NoError(t, second.stop(t))
}
