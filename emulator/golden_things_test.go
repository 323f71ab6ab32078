package emulator_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
)

// goldenLamp is the virtual device the device-facing goldens talk to.
const goldenLamp = "golden-lamp"

// thingsGoldenServer is the default fixture plus three devices, on the
// given clock (the goldens' frozen one, or nil: the real one), one made virtual and given a reported value, an event, a service
// call, a shadow and a desired value to read back.
func thingsGoldenServer(t *testing.T, clock func() time.Time) *emutest.Server {
	t.Helper()
	f := fixtures.Default()
	f.Accounts[0].Products[0].Devices = append(f.Accounts[0].Products[0].Devices,
		fixtures.Device{DeviceName: goldenLamp, DeviceSecret: "goldenSecretGoldenSecretGolden01"},
		fixtures.Device{DeviceName: "golden-idle", DeviceSecret: "goldenSecretGoldenSecretGolden02"},
		fixtures.Device{DeviceName: "golden-new", DeviceSecret: "goldenSecretGoldenSecretGolden03"})
	srv := emutest.New(t, emutest.WithFixture(f), emutest.WithConfig(func(c *emulatorConfig) {
		c.Now = clock
	}))
	pk := srv.ProductKey()
	srv.Virtual(pk, goldenLamp, emutest.VirtualDevice{Online: true, AutoReply: true,
		ServiceReplies: map[string]emutest.ServiceReply{"reboot": {Code: 200, Data: []byte(`{"ok":true}`)}},
		RRpcReply:      base64.StdEncoding.EncodeToString([]byte("pong"))})
	// golden-idle has been online once and is OFFLINE; golden-new never was.
	srv.Virtual(pk, "golden-idle", emutest.VirtualDevice{Online: true})
	srv.RemoveVirtual(pk, "golden-idle")
	sys := "/sys/" + pk + "/" + goldenLamp + "/"
	srv.PublishAs(pk, goldenLamp, sys+"thing/event/property/post", []byte(`{"id":"1","params":{"temperature":21.5,"humidity":40}}`))
	srv.PublishAs(pk, goldenLamp, sys+"thing/event/overheat/post", []byte(`{"id":"2","params":{"value":{"temperature":90.5}}}`))
	srv.PublishAs(pk, goldenLamp, "/shadow/update/"+pk+"/"+goldenLamp, []byte(`{"method":"update","state":{"reported":{"color":"red"}},"version":1}`))
	if _, _, err := srv.Emulator().InvokeService(context.Background(), "", pk, goldenLamp, "setTimer", []byte(`{"seconds":5}`)); err != nil {
		t.Fatal(err)
	}
	resp, body := signedGet(t, srv.URL(), map[string]string{"Action": "SetDeviceDesiredProperty", "ProductKey": pk, "DeviceName": goldenLamp,
		"Items": `{"LightSwitch":1}`, "Versions": `{"LightSwitch":0}`, "Timestamp": now(clock).Format(time.RFC3339)})
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `"Success":true`)
	return srv
}

func TestThingsGolden(t *testing.T) {
	const pk = "a1TestProd1"
	window := map[string]string{"StartTime": "1767265200000", "EndTime": "1767272400000"}
	lamp := map[string]string{"ProductKey": pk, "DeviceName": goldenLamp}
	// onLamp is the lamp's ProductKey and DeviceName with extra
	// parameters, later ones winning (with, in things_test.go).
	onLamp := func(extra ...map[string]string) map[string]string {
		return with(append([]map[string]string{lamp}, extra...)...)
	}
	tsl := `{"properties":[{"identifier":"level","name":"Level","accessMode":"rw","dataType":{"type":"int","specs":{"min":"0","max":"10","step":"1"}}}]}`
	cases := []struct {
		action, kind string
		params       map[string]string
	}{
		{"Pub", "success", map[string]string{"ProductKey": pk, "TopicFullName": "/" + pk + "/" + goldenLamp + "/user/get", "MessageContent": "aGk=", "Qos": "1"}},
		{"Pub", "topic_not_allowed", map[string]string{"ProductKey": pk, "TopicFullName": "/sys/" + pk + "/" + goldenLamp + "/thing/service/property/set", "MessageContent": "aGk="}},
		{"PubBroadcast", "success", map[string]string{"ProductKey": pk, "MessageContent": "aGk="}},
		{"PubBroadcast", "not_base64", map[string]string{"ProductKey": pk, "MessageContent": "%%%"}},
		{"RRpc", "success", onLamp(map[string]string{"RequestBase64Byte": "aGk=", "Timeout": "1000"})},
		{"RRpc", "offline", onLamp(map[string]string{"DeviceName": "golden-idle", "RequestBase64Byte": "aGk=", "Timeout": "1000"})},
		{"RRpc", "bad_timeout", onLamp(map[string]string{"RequestBase64Byte": "aGk=", "Timeout": "10"})},
		{"SetDeviceProperty", "success", onLamp(map[string]string{"Items": `{"LightSwitch":0}`})},
		{"SetDeviceProperty", "read_only", onLamp(map[string]string{"Items": `{"temperature":1}`})},
		{"SetDeviceProperty", "inactive", onLamp(map[string]string{"DeviceName": "golden-new", "Items": `{"LightSwitch":0}`})},
		{"SetDevicesProperty", "success", map[string]string{"ProductKey": pk, "DeviceName.1": goldenLamp, "DeviceName.2": "golden-idle", "Items": `{"LightSwitch":0}`}},
		{"SetDevicesProperty", "bad_items", map[string]string{"ProductKey": pk, "DeviceName.1": goldenLamp, "Items": `[1]`}},
		{"InvokeThingService", "success", onLamp(map[string]string{"Identifier": "reboot", "Args": `{"delay":1}`})},
		{"InvokeThingService", "async_success", onLamp(map[string]string{"Identifier": "setTimer", "Args": `{"seconds":1}`})},
		{"InvokeThingService", "unknown_service", onLamp(map[string]string{"Identifier": "nope", "Args": `{}`})},
		{"InvokeThingsService", "success", map[string]string{"ProductKey": pk, "DeviceName.1": goldenLamp, "Identifier": "setTimer", "Args": `{"seconds":1}`}},
		{"InvokeThingsService", "unknown_service", map[string]string{"ProductKey": pk, "DeviceName.1": goldenLamp, "Identifier": "nope", "Args": `{}`}},
		{"QueryDevicePropertyStatus", "success", onLamp()},
		{"QueryDevicePropertyStatus", "unknown_device", onLamp(map[string]string{"DeviceName": "no-such-lamp"})},
		{"QueryDevicePropertyData", "success", onLamp(window, map[string]string{"Identifier": "temperature", "Asc": "1", "PageSize": "10"})},
		{"QueryDevicePropertyData", "bad_window", onLamp(map[string]string{"Identifier": "temperature", "StartTime": "1767272400000", "EndTime": "1767265200000", "Asc": "1", "PageSize": "10"})},
		{"QueryDevicePropertiesData", "success", onLamp(window, map[string]string{"Identifier.1": "temperature", "Identifier.2": "humidity", "Asc": "1", "PageSize": "10"})},
		{"QueryDevicePropertiesData", "page_size", onLamp(window, map[string]string{"Identifier.1": "temperature", "Asc": "1", "PageSize": "1000"})},
		{"QueryDeviceEventData", "success", onLamp(window, map[string]string{"Asc": "0", "PageSize": "10"})},
		{"QueryDeviceEventData", "unknown_device", onLamp(window, map[string]string{"DeviceName": "no-such-lamp"})},
		{"QueryDeviceServiceData", "success", onLamp(window, map[string]string{"Asc": "0", "PageSize": "10"})},
		{"QueryDeviceServiceData", "unknown_device", onLamp(window, map[string]string{"DeviceName": "no-such-lamp"})},
		{"UpdateProduct", "success", map[string]string{"ProductKey": pk, "ProductName": "renamed_product", "Description": "golden"}},
		{"UpdateProduct", "unknown_product", map[string]string{"ProductKey": "a1NoSuchProd", "ProductName": "renamed_product"}},
		{"QueryThingModel", "success", map[string]string{"ProductKey": pk}},
		{"QueryThingModel", "unknown_product", map[string]string{"ProductKey": "a1NoSuchProd"}},
		{"QueryThingModelPublished", "success", map[string]string{"ProductKey": pk}},
		{"QueryThingModelPublished", "unknown_version", map[string]string{"ProductKey": pk, "ModelVersion": "9.9.9"}},
		{"ImportThingModelTsl", "success", map[string]string{"ProductKey": pk, "TslStr": tsl}},
		{"ImportThingModelTsl", "invalid_tsl", map[string]string{"ProductKey": pk, "TslStr": `{"properties":[{"identifier":"x"}]}`}},
		{"PublishThingModel", "success", map[string]string{"ProductKey": pk, "ModelVersion": "2.0.0"}},
		{"PublishThingModel", "version_taken", map[string]string{"ProductKey": pk, "ModelVersion": "1.0.0"}},
		{"GetThingModelTsl", "success", map[string]string{"ProductKey": pk}},
		{"GetThingModelTsl", "unknown_product", map[string]string{"ProductKey": "a1NoSuchProd"}},
		{"UpdateDeviceShadow", "success", onLamp(map[string]string{"ShadowMessage": `{"method":"update","state":{"desired":{"color":"green"}},"version":2}`})},
		{"UpdateDeviceShadow", "stale_version", onLamp(map[string]string{"ShadowMessage": `{"method":"update","state":{"desired":{"color":"green"}},"version":1}`})},
		{"GetDeviceShadow", "success", onLamp()},
		{"GetDeviceShadow", "unknown_device", onLamp(map[string]string{"DeviceName": "no-such-lamp"})},
		{"SetDeviceDesiredProperty", "success", onLamp(map[string]string{"Items": `{"LightSwitch":0}`, "Versions": `{"LightSwitch":1}`})},
		{"SetDeviceDesiredProperty", "stale_version", onLamp(map[string]string{"Items": `{"LightSwitch":0}`, "Versions": `{"LightSwitch":0}`})},
		{"QueryDeviceDesiredProperty", "success", onLamp(map[string]string{"Identifier.1": "LightSwitch"})},
		{"QueryDeviceDesiredProperty", "unknown_device", onLamp(map[string]string{"DeviceName": "no-such-lamp"})},
	}
	for _, tc := range cases {
		for _, format := range formats {
			name := tc.action + "." + tc.kind + "." + strings.ToLower(format)
			t.Run(name+" matches its golden file", func(t *testing.T) {
				srv := thingsGoldenServer(t, func() time.Time { return goldenNow })
				params := map[string]string{"Action": tc.action, "Format": format, "Timestamp": goldenNow.Format(time.RFC3339)}
				for k, v := range tc.params {
					params[k] = v
				}
				resp, body := signedGet(t, srv.URL(), params)
				assert.Equal(t, 200, resp.StatusCode, "business errors travel with HTTP 200")
				ok := map[string]string{"JSON": `"Success":true`, "XML": `<Success>true</Success>`}[format]
				if strings.HasSuffix(tc.kind, "success") || tc.kind == "offline" {
					assert.Contains(t, string(body), ok)
				} else {
					assert.NotContains(t, string(body), ok)
				}
				checkGolden(t, name, body)
			})
		}
	}
}

// TestThingsDecodeInTheSDK reads the answers the other tests do not read
// through the official Go SDK, in both formats, so every new action's
// field names and JSON types are checked against the SDK's structs.
func TestThingsDecodeInTheSDK(t *testing.T) {
	srv := thingsGoldenServer(t, nil)
	c := srv.NewIotClient()
	pk := srv.ProductKey()
	for _, format := range formats {
		t.Run("SetDevicesProperty, InvokeThingsService and UpdateProduct decode in "+format, func(t *testing.T) {
			sp := iot.CreateSetDevicesPropertyRequest()
			sp.AcceptFormat, sp.ProductKey, sp.DeviceName, sp.Items = format, pk, &[]string{goldenLamp}, `{"LightSwitch":1}`
			r1, err := c.SetDevicesProperty(sp)
			require.NoError(t, err)
			assert.True(t, r1.Success, r1.Code)
			is := iot.CreateInvokeThingsServiceRequest()
			is.AcceptFormat, is.ProductKey, is.DeviceName, is.Identifier, is.Args = format, pk, &[]string{goldenLamp}, "setTimer", `{"seconds":2}`
			r2, err := c.InvokeThingsService(is)
			require.NoError(t, err)
			assert.True(t, r2.Success, r2.Code)
			up := iot.CreateUpdateProductRequest()
			up.AcceptFormat, up.ProductKey, up.ProductName = format, pk, "sdk_renamed"
			r3, err := c.UpdateProduct(up)
			require.NoError(t, err)
			assert.True(t, r3.Success, r3.Code)
		})
		t.Run("QueryDevicePropertiesData decodes in "+format, func(t *testing.T) {
			req := iot.CreateQueryDevicePropertiesDataRequest()
			req.AcceptFormat, req.ProductKey, req.DeviceName = format, pk, goldenLamp
			req.Identifier = &[]string{"temperature", "humidity"}
			req.StartTime, req.EndTime = requestsInteger(time.Now().Add(-time.Hour).UnixMilli()), requestsInteger(time.Now().Add(time.Hour).UnixMilli())
			req.Asc, req.PageSize = requestsIntegerString("1"), requestsIntegerString("10")
			resp, err := c.QueryDevicePropertiesData(req)
			require.NoError(t, err)
			require.True(t, resp.Success, resp.Code)
			require.Len(t, resp.PropertyDataInfos.PropertyDataInfo, 2)
			assert.Equal(t, "temperature", resp.PropertyDataInfos.PropertyDataInfo[0].Identifier)
			assert.Equal(t, "21.5", resp.PropertyDataInfos.PropertyDataInfo[0].List.PropertyInfo[0].Value)
		})
		t.Run("QueryThingModel and GetThingModelTsl decode in "+format, func(t *testing.T) {
			q := iot.CreateQueryThingModelRequest()
			q.AcceptFormat, q.ProductKey = format, pk
			r1, err := c.QueryThingModel(q)
			require.NoError(t, err)
			require.True(t, r1.Success, r1.Code)
			assert.Contains(t, r1.Data.ThingModelJson, `"identifier":"LightSwitch"`)
			g := iot.CreateGetThingModelTslRequest()
			g.AcceptFormat, g.ProductKey = format, pk
			r2, err := c.GetThingModelTsl(g)
			require.NoError(t, err)
			require.True(t, r2.Success, r2.Code)
			assert.Contains(t, r2.Data.TslStr, `"identifier":"reboot"`)
		})
	}
}

// now reads a clock, nil being the real one.
func now(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock()
}
