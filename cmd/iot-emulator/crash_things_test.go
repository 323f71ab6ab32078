package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

// The device-side and thing-model rows of TestCrashSafety.

const (
	// crashPostBase is the device time of post 0; post i carries
	// crashPostBase+i ms, so every stored point names the post it came from.
	crashPostBase = int64(1760000000000)
	// crashPostMax stays under the default property history (10,000 per
	// device), so no acknowledged point is dropped as the oldest.
	crashPostMax = 5000
	// crashPostWindow is how many posts may wait for their reply; at most
	// this many unacknowledged ones can be stored by the kill.
	crashPostWindow = 32
)

// registerCrashDevice registers a named device on a1TestProd1 and returns
// its secret.
func registerCrashDevice(t *testing.T, addr, name string) string {
	t.Helper()
	req := iot.CreateRegisterDeviceRequest()
	req.ProductKey, req.DeviceName = "a1TestProd1", name
	resp, err := sdkClient(t, addr).RegisterDevice(req)
	require.NoError(t, err)
	require.True(t, resp.Success, resp.Code)
	return resp.Data.DeviceSecret
}

// connectPoster logs device dn of a1TestProd1 in with Paho and subscribes
// to its property-post replies; onReply gets each reply's id and code
// (code -1 when the reply is not Alink JSON), lost a dropped connection.
func connectPoster(t *testing.T, addr, dn, secret string, lost func(error), onReply func(id string, code int, raw []byte)) paho.Client {
	t.Helper()
	id, user, pass := signature.DeviceCredentials("a1TestProd1", dn, secret, "", "")
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if lost != nil {
		opts.SetConnectionLostHandler(func(_ paho.Client, err error) { lost(err) })
	}
	dev := paho.NewClient(opts)
	tok := dev.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	st := dev.Subscribe("/sys/a1TestProd1/"+dn+"/thing/event/property/post_reply", 1, func(_ paho.Client, m paho.Message) {
		r := struct {
			ID   string `json:"id"`
			Code int    `json:"code"`
		}{Code: -1}
		if json.Unmarshal(m.Payload(), &r) != nil {
			r.Code = -1
		}
		onReply(r.ID, r.Code, m.Payload())
	})
	require.True(t, st.WaitTimeout(10*time.Second))
	require.NoError(t, st.Error())
	return dev
}

var propertyBurstRow = crashRow{
	name: "a property-post burst keeps every acknowledged post exactly once and the device OFFLINE",
	// The 30/s uplink limit would drop most of the burst.
	args: []string{"--mqtt-limits", "off"},
	load: func(t *testing.T, p *proc, stop <-chan struct{}) []string {
		const pk, dn = "a1TestProd1", "poster01"
		secret := registerCrashDevice(t, p.rpc, dn)
		sys := "/sys/" + pk + "/" + dn + "/"
		var mu sync.Mutex
		var acked []string
		window := make(chan struct{}, crashPostWindow)
		dev := connectPoster(t, p.mqt, dn, secret, nil, func(id string, code int, _ []byte) {
			if code == 200 {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
			select {
			case <-window:
			default:
			}
		})
		defer dev.Disconnect(0)
	posting:
		for i := 0; i < crashPostMax; i++ {
			select {
			case <-stop:
				break posting
			case window <- struct{}{}:
			}
			dev.Publish(sys+"thing/event/property/post", 0, false, fmt.Sprintf(
				`{"id":"%d","version":"1.0","method":"thing.event.property.post","params":{"humidity":{"value":%d,"time":%d}}}`,
				i, i%100, crashPostBase+int64(i)))
		}
		<-stop
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), acked...)
	},
	check: func(t *testing.T, p *proc, acked []string) {
		require.NotEmpty(t, acked, "no post was acknowledged before the kill")
		c := sdkClient(t, p.rpc)
		seen := map[int64]int{}
		from := crashPostBase
		for page := 0; page <= crashPostMax/50+1; page++ {
			req := iot.CreateQueryDevicePropertyDataRequest()
			req.ProductKey, req.DeviceName, req.Identifier = "a1TestProd1", "poster01", "humidity"
			req.StartTime, req.EndTime = requests.NewInteger64(from), requests.NewInteger64(crashPostBase+crashPostMax)
			req.Asc, req.PageSize = requests.NewInteger(1), requests.NewInteger(50)
			resp, err := c.QueryDevicePropertyData(req)
			require.NoError(t, err)
			require.True(t, resp.Success, resp.Code)
			for _, pt := range resp.Data.List.PropertyInfo {
				ms, err := strconv.ParseInt(pt.Time, 10, 64)
				require.NoError(t, err)
				i := ms - crashPostBase
				// A half-written point would carry another post's value.
				require.Equal(t, strconv.FormatInt(i%100, 10), pt.Value, "the point at %d ms", ms)
				seen[ms]++
			}
			if !resp.Data.NextValid {
				break
			}
			from = resp.Data.NextTime
		}
		for _, id := range acked {
			i, err := strconv.ParseInt(id, 10, 64)
			require.NoError(t, err)
			assert.Equal(t, 1, seen[crashPostBase+i], "acknowledged post %s", id)
		}
		for ms, n := range seen {
			assert.Equal(t, 1, n, "the point at %d ms", ms)
		}
		assert.LessOrEqual(t, len(seen), len(acked)+crashPostWindow, "only the posts in flight may be stored unacknowledged")
		req := iot.CreateGetDeviceStatusRequest()
		req.ProductKey, req.DeviceName = "a1TestProd1", "poster01"
		resp, err := c.GetDeviceStatus(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		assert.Equal(t, "OFFLINE", resp.Data.Status)
	},
}

// crashModelVersion is the ModelVersion of publish n; its TSL declares the
// one property crashModelProperty(n), so a model names its version.
func crashModelVersion(n int) string  { return fmt.Sprintf("1.0.%d", n) }
func crashModelProperty(n int) string { return fmt.Sprintf("v%d", n) }

var publishThingModelRow = crashRow{
	name: "PublishThingModel in a loop keeps the last published version whole",
	load: func(t *testing.T, p *proc, stop <-chan struct{}) []string {
		c := sdkClient(t, p.rpc)
		var acked []string
		for n := 1; ; n++ {
			select {
			case <-stop:
				return acked
			default:
			}
			imp := iot.CreateImportThingModelTslRequest()
			imp.ProductKey = "a1TestProd1"
			imp.TslStr = fmt.Sprintf(`{"properties":[{"identifier":%q,"name":"V","accessMode":"rw","dataType":{"type":"int","specs":{"min":"0","max":"9"}}}]}`,
				crashModelProperty(n))
			if ir, err := c.ImportThingModelTsl(imp); err != nil || !ir.Success {
				continue
			}
			pub := iot.CreatePublishThingModelRequest()
			pub.ProductKey, pub.ModelVersion = "a1TestProd1", crashModelVersion(n)
			if pr, err := c.PublishThingModel(pub); err == nil && pr.Success {
				acked = append(acked, strconv.Itoa(n))
			}
		}
	},
	check: func(t *testing.T, p *proc, acked []string) {
		require.NotEmpty(t, acked, "no publish was answered before the kill")
		last, err := strconv.Atoi(acked[len(acked)-1])
		require.NoError(t, err)
		c := sdkClient(t, p.rpc)
		published := func(version string) string {
			q := iot.CreateQueryThingModelPublishedRequest()
			q.ProductKey, q.ModelVersion = "a1TestProd1", version
			resp, err := c.QueryThingModelPublished(q)
			require.NoError(t, err)
			require.True(t, resp.Success, "version %q: %s", version, resp.Code)
			return resp.Data.ThingModelJson
		}
		var model struct {
			Properties []struct{ Identifier string }
		}
		require.NoError(t, json.Unmarshal([]byte(published(crashModelVersion(last))), &model))
		require.Len(t, model.Properties, 1)
		assert.Equal(t, crashModelProperty(last), model.Properties[0].Identifier)
		// The latest is the last answered one or one that committed as the
		// process died.
		model.Properties = nil
		require.NoError(t, json.Unmarshal([]byte(published("")), &model))
		require.Len(t, model.Properties, 1)
		var latest int
		_, err = fmt.Sscanf(model.Properties[0].Identifier, "v%d", &latest)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, latest, last)
		assert.LessOrEqual(t, latest, last+1)
	},
}

var shadowUpdateRow = crashRow{
	name: "UpdateDeviceShadow in a loop keeps at least the last answered version, as valid JSON",
	load: func(t *testing.T, p *proc, stop <-chan struct{}) []string {
		registerCrashDevice(t, p.rpc, "shadow01")
		c := sdkClient(t, p.rpc)
		var acked []string
		for v := 1; ; v++ {
			select {
			case <-stop:
				return acked
			default:
			}
			req := iot.CreateUpdateDeviceShadowRequest()
			req.ProductKey, req.DeviceName = "a1TestProd1", "shadow01"
			req.ShadowMessage = fmt.Sprintf(`{"method":"update","state":{"desired":{"n":%d}},"version":%d}`, v, v)
			if resp, err := c.UpdateDeviceShadow(req); err == nil && resp.Success {
				acked = append(acked, strconv.Itoa(v))
			}
		}
	},
	check: func(t *testing.T, p *proc, acked []string) {
		require.NotEmpty(t, acked, "no update was answered before the kill")
		last, err := strconv.Atoi(acked[len(acked)-1])
		require.NoError(t, err)
		req := iot.CreateGetDeviceShadowRequest()
		req.ProductKey, req.DeviceName = "a1TestProd1", "shadow01"
		resp, err := sdkClient(t, p.rpc).GetDeviceShadow(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.Code)
		var doc struct {
			State struct {
				Desired struct{ N int }
			}
			Version int
		}
		require.NoError(t, json.Unmarshal([]byte(resp.ShadowMessage), &doc), resp.ShadowMessage)
		assert.GreaterOrEqual(t, doc.Version, last)
		assert.Equal(t, doc.Version, doc.State.Desired.N, "the document and its version come from one update")
	},
}

var batchRow = crashRow{
	name: "a 10,000-device batch killed in CREATE resumes to exactly 10,000 devices",
	load: func(t *testing.T, p *proc, stop <-chan struct{}) []string {
		req := iot.CreateBatchRegisterDeviceRequest()
		req.ProductKey, req.Count = "a1TestProd1", requests.NewInteger(10000)
		resp, err := sdkClient(t, p.rpc).BatchRegisterDevice(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		// Killed at once, while the worker is creating the devices.
		p.kill9(t)
		<-stop
		return []string{strconv.FormatInt(resp.Data.ApplyId, 10)}
	},
	check: func(t *testing.T, p *proc, acked []string) {
		c := sdkClient(t, p.rpc)
		applyID, err := strconv.ParseInt(acked[0], 10, 64)
		require.NoError(t, err)
		var status string
		for try := 0; try < 600 && status != "CREATE_SUCCESS"; try++ {
			req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
			req.ProductKey, req.ApplyId = "a1TestProd1", requests.NewInteger64(applyID)
			resp, err := c.QueryBatchRegisterDeviceStatus(req)
			require.NoError(t, err)
			require.True(t, resp.Success, resp.Code)
			if try == 0 {
				t.Logf("after the restart the batch is %s", resp.Data.Status)
			}
			status = resp.Data.Status
			if status != "CREATE_SUCCESS" {
				time.Sleep(100 * time.Millisecond)
			}
		}
		require.Equal(t, "CREATE_SUCCESS", status)
		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId, q.PageSize, q.CurrentPage = requests.NewInteger64(applyID), requests.NewInteger(50), requests.NewInteger(1)
		page, err := c.QueryPageByApplyId(q)
		require.NoError(t, err)
		require.True(t, page.Success, page.Code)
		assert.Equal(t, 10000, page.Total)
		assert.Equal(t, 10000, deviceCount(t, p.rpc), "no device twice, none missing")
	},
}
