package emulator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
)

// streamGuard bounds a wait for an event, so a missing one fails the test
// instead of hanging it; events arrive in milliseconds.
const streamGuard = 30 * time.Second

// sseEvent is one event of GET /_emulator/events.
type sseEvent struct {
	Name string
	Data struct {
		Kind string          `json:"kind"`
		Data json.RawMessage `json:"data"`
	}
}

type stream struct {
	body io.Closer
	rd   *bufio.Reader
}

// openStream subscribes to the event stream and waits until it is open.
func openStream(t *testing.T, url string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamGuard)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	s := &stream{body: resp.Body, rd: bufio.NewReader(resp.Body)}
	t.Cleanup(func() { resp.Body.Close() })
	for {
		line, err := s.rd.ReadString('\n')
		require.NoError(t, err)
		if line == ": subscribed\n" {
			return s
		}
	}
}

// next reads the next event, skipping comments.
func (s *stream) next(t *testing.T) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := s.rd.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && ev.Name != "":
			return ev
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data), line)
		}
	}
}

type batchEvent struct {
	ApplyID int64  `json:"applyId"`
	Status  string `json:"status"`
}

func TestEventStream(t *testing.T) {
	t.Run("?kinds=batch streams only batch events, in order, as the admin API shows batches", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		s := openStream(t, srv.URL()+"/_emulator/events?kinds=batch")
		id := registerBatch(t, srv.NewIotClient(), srv.ProductKey(), 2)
		srv.Advance(id)
		for _, want := range []string{"CREATE", "CREATE_SUCCESS"} {
			ev := s.next(t)
			require.Equal(t, "batch", ev.Name)
			var b batchEvent
			require.NoError(t, json.Unmarshal(ev.Data.Data, &b))
			assert.Equal(t, batchEvent{ApplyID: id, Status: want}, b)
		}
	})
	t.Run("a call a fault rule fires on is followed by a fault event", func(t *testing.T) {
		srv := emutest.New(t)
		s := openStream(t, srv.URL()+"/_emulator/events?kinds=request,fault")
		fid := srv.InjectFault(emutest.FaultRule{Action: "QueryProduct", Code: "iot.system.SystemException"})
		q := iot.CreateQueryProductRequest()
		q.ProductKey = srv.ProductKey()
		_, _ = srv.NewIotClient().QueryProduct(q)
		assert.Equal(t, "request", s.next(t).Name)
		ev := s.next(t)
		require.Equal(t, "fault", ev.Name)
		var hit struct {
			Action string   `json:"action"`
			Faults []string `json:"faults"`
			Code   string   `json:"code"`
		}
		require.NoError(t, json.Unmarshal(ev.Data.Data, &hit))
		assert.Equal(t, "QueryProduct", hit.Action)
		assert.Equal(t, []string{fid}, hit.Faults)
		assert.Equal(t, "iot.system.SystemException", hit.Code)
	})
	t.Run("device logins and messages are events of their own kinds", func(t *testing.T) {
		srv := emutest.New(t)
		s := openStream(t, srv.URL()+"/_emulator/events?kinds=device,message")
		name, secret := oneDevice(t, srv)
		dev := srv.ConnectDevice(srv.ProductKey(), name, secret)
		login := s.next(t)
		require.Equal(t, "device", login.Name)
		assert.Contains(t, string(login.Data.Data), `"action":"login"`)
		dev.Publish("/sys/"+srv.ProductKey()+"/"+name+"/thing/event/property/post", `{"id":"1","params":{"temperature":20}}`)
		for {
			if ev := s.next(t); ev.Name == "message" {
				assert.Contains(t, string(ev.Data.Data), `/thing/event/property/post`)
				return
			}
		}
	})
	t.Run("an unknown kind is refused", func(t *testing.T) {
		srv := emutest.New(t)
		var e adminErr
		require.Equal(t, http.StatusBadRequest, adminCall(t, srv, "GET", "/_emulator/events?kinds=batch,nope", nil, &e))
		assert.Contains(t, e.Error, "unknown nope")
	})
	t.Run("a stop ends open streams, so the drain does not wait for them", func(t *testing.T) {
		cfg := emulator.DefaultConfig()
		cfg.MQTTAddr = "off"
		emu, err := emulator.Open(context.Background(), cfg)
		require.NoError(t, err)
		defer emu.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- emu.Run(ctx, ln) }()
		s := openStream(t, "http://"+ln.Addr().String()+"/_emulator/events")
		stop()
		// A drain that had to give up would be an error here.
		require.NoError(t, <-done)
		_, err = io.ReadAll(s.rd)
		assert.NoError(t, err, "the stream ends cleanly")
	})
}

// registerBatch registers count random devices and returns the ApplyId.
func registerBatch(t *testing.T, client *iot.Client, pk string, count int) int64 {
	t.Helper()
	req := iot.CreateBatchRegisterDeviceRequest()
	req.ProductKey = pk
	req.Count = requestsInteger(int64(count))
	resp, err := client.BatchRegisterDevice(req)
	require.NoError(t, err)
	require.True(t, resp.Success, resp.ErrorMessage)
	return resp.Data.ApplyId
}

// oneDevice registers a device and returns its name and secret.
func oneDevice(t *testing.T, srv *emutest.Server) (string, string) {
	t.Helper()
	return namedDevice(t, srv, "")
}

func namedDevice(t *testing.T, srv *emutest.Server, name string) (string, string) {
	t.Helper()
	req := iot.CreateRegisterDeviceRequest()
	req.ProductKey = srv.ProductKey()
	req.DeviceName = name
	resp, err := srv.NewIotClient().RegisterDevice(req)
	require.NoError(t, err)
	require.True(t, resp.Success, resp.ErrorMessage)
	return resp.Data.DeviceName, resp.Data.DeviceSecret
}

func TestDashboardRoutes(t *testing.T) {
	t.Run("the summary counts products, devices by status and batches by status, and names the endpoints", func(t *testing.T) {
		srv := emutest.New(t)
		registerBatch(t, srv.NewIotClient(), srv.ProductKey(), 2)
		name, secret := oneDevice(t, srv)
		srv.ConnectDevice(srv.ProductKey(), name, secret)
		var s struct {
			Credentials []struct {
				AccessKeyID string `json:"accessKeyId"`
			} `json:"credentials"`
			Products          int            `json:"products"`
			Devices           map[string]int `json:"devices"`
			DeviceTotal       int            `json:"deviceTotal"`
			Batches           map[string]int `json:"batches"`
			RequestsPerSecond float64        `json:"requestsPerSecond"`
			Endpoints         struct {
				RPC  string `json:"rpc"`
				MQTT string `json:"mqtt"`
			} `json:"endpoints"`
		}
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/summary", nil, &s))
		assert.Equal(t, 1, s.Products)
		assert.Equal(t, 3, s.DeviceTotal)
		assert.Equal(t, map[string]int{"ONLINE": 1, "UNACTIVE": 2, "OFFLINE": 0, "DISABLE": 0}, s.Devices)
		assert.Equal(t, map[string]int{"CREATE_SUCCESS": 1}, s.Batches)
		assert.Greater(t, s.RequestsPerSecond, 0.0, "two RPC calls were just answered")
		assert.Equal(t, srv.URL(), s.Endpoints.RPC)
		assert.Equal(t, "tcp://"+srv.MQTTAddr(), s.Endpoints.MQTT)
		require.Len(t, s.Credentials, 1)
		assert.Equal(t, "testAccessKeyId", s.Credentials[0].AccessKeyID)
	})

	t.Run("the device search filters by name in any case, by status, and pages", func(t *testing.T) {
		srv := emutest.New(t)
		for _, n := range []string{"lamp-01", "lamp-02", "fan-01"} {
			namedDevice(t, srv, n)
		}
		_, secret := namedDevice(t, srv, "fan-02")
		srv.ConnectDevice(srv.ProductKey(), "fan-02", secret)
		type page struct {
			Total int `json:"total"`
			Items []struct {
				DeviceName string `json:"deviceName"`
				Status     string `json:"status"`
			} `json:"items"`
		}
		for _, tc := range []struct {
			query string
			total int
			names []string
		}{
			{"name=LAMP", 2, []string{"lamp-01", "lamp-02"}},
			{"status=ONLINE", 1, []string{"fan-02"}},
			{"name=fan&status=UNACTIVE", 1, []string{"fan-01"}},
			{"pageSize=1&page=2", 4, []string{"lamp-02"}},
			{"productKey=a1Nothing", 0, nil},
		} {
			var p page
			require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/devices?"+tc.query, nil, &p), tc.query)
			assert.Equal(t, tc.total, p.Total, tc.query)
			var names []string
			for _, d := range p.Items {
				names = append(names, d.DeviceName)
			}
			assert.Equal(t, tc.names, names, tc.query)
		}
		for _, bad := range []string{"status=ASLEEP", "pageSize=201", "page=0"} {
			assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "GET", "/_emulator/devices?"+bad, nil, &adminErr{}), bad)
		}
	})

	t.Run("one device shows its last login, latest properties and virtual settings", func(t *testing.T) {
		srv := emutest.New(t)
		pk := srv.ProductKey()
		name, secret := oneDevice(t, srv)
		dev := srv.ConnectDevice(pk, name, secret)
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/devices/"+pk+"/"+name+"/publish",
			map[string]any{"topic": "/sys/" + pk + "/" + name + "/thing/event/property/post", "payload": `{"id":"1","params":{"temperature":22.5}}`}, nil))
		type detail struct {
			DeviceName  string  `json:"deviceName"`
			ProductName string  `json:"productName"`
			Status      string  `json:"status"`
			IPAddress   string  `json:"ipAddress"`
			LastOnline  *string `json:"lastOnline"`
			Virtual     *struct {
				AutoReply bool `json:"autoReply"`
			} `json:"virtual"`
			Properties []struct {
				Identifier string `json:"identifier"`
				Value      string `json:"value"`
			} `json:"properties"`
		}
		var d detail
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/devices/"+pk+"/"+name, nil, &d))
		assert.Equal(t, "ONLINE", d.Status)
		assert.Equal(t, "emulator_default", d.ProductName)
		assert.Equal(t, "127.0.0.1", d.IPAddress)
		assert.NotNil(t, d.LastOnline)
		assert.Nil(t, d.Virtual)
		require.Len(t, d.Properties, 1)
		assert.Equal(t, "22.5", d.Properties[0].Value)

		dev.Close()
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/devices/"+pk+"/"+name+"/virtual", map[string]any{"online": true, "autoReply": true}, nil))
		d = detail{}
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/devices/"+pk+"/"+name, nil, &d))
		require.NotNil(t, d.Virtual)
		assert.True(t, d.Virtual.AutoReply)
		assert.Equal(t, "ONLINE", d.Status)

		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "GET", "/_emulator/devices/"+pk+"/nobody", nil, &adminErr{}))
	})

	t.Run("disable ends the connection and refuses logins until enable, which leaves it OFFLINE", func(t *testing.T) {
		srv := emutest.New(t)
		pk := srv.ProductKey()
		name, secret := oneDevice(t, srv)
		srv.ConnectDevice(pk, name, secret)
		var d struct {
			Status string `json:"status"`
		}
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/devices/"+pk+"/"+name+"/disable", nil, &d))
		assert.Equal(t, "DISABLE", d.Status)
		_, err := srv.DialDevice(pk, name, secret)
		require.Error(t, err, "a disabled device cannot log in")
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/devices/"+pk+"/"+name+"/enable", nil, &d))
		assert.Equal(t, "OFFLINE", d.Status)
		dev, err := srv.DialDevice(pk, name, secret)
		require.NoError(t, err)
		dev.Close()
	})

	t.Run("a batch shows its names and why they failed", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		req := iot.CreateBatchCheckDeviceNamesRequest()
		req.ProductKey = srv.ProductKey()
		req.DeviceName = &[]string{"door-1", "door-2"}
		resp, err := srv.NewIotClient().BatchCheckDeviceNames(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.ErrorMessage)
		id := resp.Data.ApplyId
		srv.Fail(id, map[string]string{"door-2": "taken in the test"})
		var b struct {
			Status string `json:"status"`
			Names  []struct {
				DeviceName string `json:"deviceName"`
				ErrorMsg   string `json:"errorMsg"`
			} `json:"names"`
		}
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/batches/"+itoa64(id), nil, &b))
		assert.Equal(t, "CHECK_FAILED", b.Status)
		require.Len(t, b.Names, 2)
		assert.Equal(t, "door-1", b.Names[0].DeviceName)
		assert.Empty(t, b.Names[0].ErrorMsg)
		assert.Equal(t, "taken in the test", b.Names[1].ErrorMsg)
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "GET", "/_emulator/batches/999", nil, &adminErr{}))
		assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "GET", "/_emulator/batches/x", nil, &adminErr{}))
	})

	for _, admin := range []bool{true, false} {
		t.Run("the dashboard is served with its files and a strict CSP only while the admin API is on (on="+map[bool]string{true: "true", false: "false"}[admin]+")", func(t *testing.T) {
			srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.Admin = admin }))
			for _, path := range []string{"/_emulator/ui", "/_emulator/ui/", "/_emulator/ui/app.js", "/_emulator/ui/app.css", "/_emulator/events"} {
				if path == "/_emulator/events" && admin {
					continue // a stream; TestEventStream reads it
				}
				resp, err := http.Get(srv.URL() + path)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !admin {
					assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
					continue
				}
				assert.Equal(t, http.StatusOK, resp.StatusCode, path)
				assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'", path)
				if strings.HasSuffix(path, "/ui") || strings.HasSuffix(path, "/") {
					assert.Contains(t, string(body), `src="/_emulator/ui/app.js"`)
				}
			}
		})
	}

	t.Run("a browser asking / for HTML gets the index page, which links to the dashboard", func(t *testing.T) {
		srv := emutest.New(t)
		req, err := http.NewRequest(http.MethodGet, srv.URL()+"/", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, string(body), `<a href="/_emulator/ui">`)
	})
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
