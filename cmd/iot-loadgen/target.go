package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
)

// The default fixture's credentials and product.
const (
	accessKeyID = "testAccessKeyId"
	secret      = "testAccessKeySecret"
	productKey  = "a1TestProd1"
)

// instance is one emulator started in this process.
type instance struct {
	srv    *emulator.Server
	url    string
	cancel context.CancelFunc
	done   chan error
	dir    string
}

// startEmulator opens and serves an emulator on a free port: no throttle
// (the load is the point), immediate batches, no MQTT unless asked.
func startEmulator(ctx context.Context, dbPath string, log *slog.Logger, edit func(*emulator.Config)) (*instance, error) {
	cfg := emulator.DefaultConfig()
	cfg.DB = dbPath
	cfg.Throttle = false
	cfg.Progression = emulator.Progression{Mode: emulator.ProgressImmediate}
	cfg.MQTTAddr = "off"
	cfg.Logger = log
	if edit != nil {
		edit(&cfg)
	}
	srv, err := emulator.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	in := &instance{srv: srv, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- srv.Run(rctx, ln) }()
	return in, nil
}

// startBroker starts an emulator with these fixtures and its MQTT broker
// on a free port, without the per-IP and per-device limits (the load is
// the point).
func startBroker(ctx context.Context, f *fixtures.Fixture) (*instance, error) {
	return startEmulator(ctx, "", nil, func(c *emulator.Config) {
		c.Fixtures = f
		c.MQTTAddr = "127.0.0.1:0"
		c.MQTTLimits.Off = true
	})
}

func (in *instance) close() {
	in.cancel()
	<-in.done
	in.srv.Close()
	if in.dir != "" {
		os.RemoveAll(in.dir)
	}
}

// tempDB is a fresh database path in a new temporary directory.
func tempDB() (string, string, error) {
	dir, err := os.MkdirTemp("", "iot-loadgen-")
	if err != nil {
		return "", "", err
	}
	return filepath.Join(dir, "state.db"), dir, nil
}

// bareBody is what the bare baseline answers: 150 bytes of JSON, about
// the size of a status poll's answer.
var bareBody = func() []byte {
	b := []byte(`{"RequestId":"6A3C2B8E-8A1C-4B2A-9B1E-3F1E2D4C5B6A","Success":true,"Data":{"Status":"CREATE_SUCCESS","ValidList":{"Name":[]}}`)
	b = append(b, bytes.Repeat([]byte(" "), 150-len(b)-1)...)
	return append(b, '}')
}()

// startBare serves the bare chi handler: the limit any Go HTTP service
// on this machine reaches.
func startBare() (string, func(), error) {
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.Write(bareBody)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: r}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// client is a keep-alive HTTP client for many concurrent callers.
func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute,
	}}
}

// call signs one RPC call and returns the decoded JSON answer.
func call(ctx context.Context, hc *http.Client, base, action string, params map[string]string) (map[string]any, error) {
	return callMethod(ctx, hc, http.MethodGet, base, action, params)
}

// callMethod is call as a GET query or a POST form.
func callMethod(ctx context.Context, hc *http.Client, method, base, action string, params map[string]string) (map[string]any, error) {
	body, err := callRaw(ctx, hc, method, base, action, params)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	if ok, _ := v["Success"].(bool); !ok {
		return v, fmt.Errorf("%s: %v %v", action, v["Code"], v["ErrorMessage"])
	}
	return v, nil
}

// callRaw signs one RPC call and returns its body; any status but 200
// is an error.
func callRaw(ctx context.Context, hc *http.Client, method, base, action string, params map[string]string) ([]byte, error) {
	p := map[string]string{"Action": action, "Version": "2018-01-20", "Format": "JSON"}
	for k, v := range params {
		p[k] = v
	}
	q := signature.SignV1(method, accessKeyID, secret, p)
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, method, base+"/", strings.NewReader(q.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, method, base+"/?"+q.Encode(), nil)
	}
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("%s: HTTP %d: %.200s", action, resp.StatusCode, body)
	}
	return body, nil
}

// registerBatch registers count random devices in one batch and waits for
// CREATE_SUCCESS; it returns the ApplyId.
func registerBatch(ctx context.Context, hc *http.Client, base string, count int) (string, error) {
	v, err := call(ctx, hc, base, "BatchRegisterDevice", map[string]string{"ProductKey": productKey, "Count": strconv.Itoa(count)})
	if err != nil {
		return "", err
	}
	id := fmt.Sprint(int64(v["Data"].(map[string]any)["ApplyId"].(float64)))
	return id, waitStatus(ctx, hc, base, id, "CREATE_SUCCESS")
}

func waitStatus(ctx context.Context, hc *http.Client, base, id, want string) error {
	for {
		v, err := call(ctx, hc, base, "QueryBatchRegisterDeviceStatus", map[string]string{"ProductKey": productKey, "ApplyId": id})
		if err != nil {
			return err
		}
		switch st := v["Data"].(map[string]any)["Status"].(string); st {
		case want:
			return nil
		case "CHECK", "CREATE":
		default:
			return fmt.Errorf("batch %s: %s, want %s", id, st, want)
		}
	}
}

// readPages reads every QueryPageByApplyId page (PageSize 50) of a batch
// and returns the device names. It decodes each page into a struct, as the
// SDKs do: into a map, the decoding had been most of the time a page took.
func readPages(ctx context.Context, hc *http.Client, base, id string) ([]string, error) {
	var names []string
	for page := 1; ; page++ {
		body, err := callRaw(ctx, hc, http.MethodGet, base, "QueryPageByApplyId", map[string]string{"ApplyId": id, "PageSize": "50", "CurrentPage": strconv.Itoa(page)})
		if err != nil {
			return names, err
		}
		var v struct {
			Success            bool
			Code, ErrorMessage string
			ApplyDeviceList    struct{ ApplyDeviceInfo []struct{ DeviceName string } }
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return names, err
		}
		if !v.Success {
			return names, fmt.Errorf("QueryPageByApplyId: %v %v", v.Code, v.ErrorMessage)
		}
		list := v.ApplyDeviceList.ApplyDeviceInfo
		for _, d := range list {
			names = append(names, d.DeviceName)
		}
		if len(list) < 50 {
			return names, nil
		}
	}
}

// rss is this process's resident set in MiB (the emulator runs in it).
func rss() float64 { return statusRSS("/proc/self/status") }

// statusRSS reads VmRSS, in MiB, from a /proc/…/status file.
func statusRSS(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// machine names the CPU, its cores and the Go version, for the figures.
func machine() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s", model, runtime.NumCPU(), runtime.Version())
}
