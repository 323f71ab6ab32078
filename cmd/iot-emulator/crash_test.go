package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

// crashBinary builds the command once for the crash tests.
var (
	crashOnce sync.Once
	crashBin  string
	crashErr  error
)

func builtBinary(t *testing.T) string {
	t.Helper()
	crashOnce.Do(func() {
		dir, err := os.MkdirTemp("", "iot-emulator-crash")
		if err != nil {
			crashErr = err
			return
		}
		crashBin = filepath.Join(dir, "iot-emulator")
		out, err := exec.Command("go", "build", "-o", crashBin, ".").CombinedOutput()
		if err != nil {
			crashErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	require.NoError(t, crashErr)
	return crashBin
}

// proc is the real binary running on a --db file.
type proc struct {
	cmd      *exec.Cmd
	rpc, mqt string
	// killed makes kill9 safe to call twice: a load may kill at its own
	// moment (right after a batch is answered) before the harness does.
	killed sync.Once
}

var (
	listenLine = regexp.MustCompile(`listening on http://(\S+)`)
	mqttLine   = regexp.MustCompile(`mqtt: tcp://(\S+)`)
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func startBinary(t *testing.T, db string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"--db", db, "--addr", freeAddr(t), "--mqtt-addr", "127.0.0.1:0",
		"--batch-progression", "immediate", "--throttle", "off"}, extra...)
	cmd := exec.Command(builtBinary(t), args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd}
	sc := bufio.NewScanner(out)
	for sc.Scan() && (p.rpc == "" || p.mqt == "") {
		if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
			p.rpc = m[1]
		}
		if m := mqttLine.FindStringSubmatch(sc.Text()); m != nil {
			p.mqt = m[1]
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	require.NotEmpty(t, p.rpc, "no banner")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

func (p *proc) kill9(t *testing.T) {
	p.killed.Do(func() {
		assert.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		_ = p.cmd.Wait()
	})
}

// deviceCount is the product's device count through the SDK.
func deviceCount(t *testing.T, addr string) int {
	req := iot.CreateQueryDeviceRequest()
	req.ProductKey = "a1TestProd1"
	req.PageSize = "1"
	resp, err := sdkClient(t, addr).QueryDevice(req)
	require.NoError(t, err)
	require.True(t, resp.Success, resp.Code)
	return resp.Total
}

// crashRow is one kill -9 scenario: a load on the first run, a check on
// the restarted one.
type crashRow struct {
	name string
	// args are extra flags for both runs.
	args []string
	// load runs until stop is closed and returns what was acknowledged.
	load  func(t *testing.T, p *proc, stop <-chan struct{}) []string
	check func(t *testing.T, p *proc, acked []string)
}

// TestCrashSafety kills the real binary with SIGKILL in the middle of
// writes and checks, after a restart on the same --db, that every write
// that was answered Success is there exactly once and no device is left
// ONLINE.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	for _, tc := range []crashRow{
		{name: "a RegisterDevice burst keeps every answered device exactly once",
			load: func(t *testing.T, p *proc, stop <-chan struct{}) []string {
				var mu sync.Mutex
				var acked []string
				var n atomic.Int64
				var wg sync.WaitGroup
				for w := 0; w < 4; w++ {
					wg.Add(1)
					// Made here: the SDK's constructor writes a global map.
					c := sdkClient(t, p.rpc)
					go func() {
						defer wg.Done()
						for {
							select {
							case <-stop:
								return
							default:
							}
							name := fmt.Sprintf("crash%05d", n.Add(1))
							req := iot.CreateRegisterDeviceRequest()
							req.ProductKey, req.DeviceName = "a1TestProd1", name
							if resp, err := c.RegisterDevice(req); err == nil && resp.Success {
								mu.Lock()
								acked = append(acked, name)
								mu.Unlock()
							}
						}
					}()
				}
				<-stop
				wg.Wait()
				return acked
			},
			check: func(t *testing.T, p *proc, acked []string) {
				c := sdkClient(t, p.rpc)
				for _, name := range acked {
					req := iot.CreateQueryDeviceDetailRequest()
					req.ProductKey, req.DeviceName = "a1TestProd1", name
					resp, err := c.QueryDeviceDetail(req)
					require.NoError(t, err)
					require.True(t, resp.Success, "answered device %s lost: %s", name, resp.Code)
				}
				// The answered ones (the default fixture has no device), and
				// at most the four in flight when the process died.
				total := deviceCount(t, p.rpc)
				assert.GreaterOrEqual(t, total, len(acked))
				assert.LessOrEqual(t, total, len(acked)+4)
			}},
		{name: "devices online at the kill are not left ONLINE after the restart",
			load: func(t *testing.T, p *proc, stop <-chan struct{}) []string {
				c := sdkClient(t, p.rpc)
				req := iot.CreateRegisterDeviceRequest()
				req.ProductKey, req.DeviceName = "a1TestProd1", "online01"
				resp, err := c.RegisterDevice(req)
				require.NoError(t, err)
				require.True(t, resp.Success)
				conn := mqttLogin(t, p.mqt, "a1TestProd1", "online01", resp.Data.DeviceSecret)
				defer conn.Close()
				<-stop
				return []string{"online01"}
			},
			check: func(t *testing.T, p *proc, acked []string) {
				req := iot.CreateGetDeviceStatusRequest()
				req.ProductKey, req.DeviceName = "a1TestProd1", acked[0]
				resp, err := sdkClient(t, p.rpc).GetDeviceStatus(req)
				require.NoError(t, err)
				require.True(t, resp.Success)
				assert.Equal(t, "OFFLINE", resp.Data.Status)
			}},
		propertyBurstRow, publishThingModelRow, shadowUpdateRow, batchRow,
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "crash.db")
			p := startBinary(t, db, tc.args...)
			stop := make(chan struct{})
			done := make(chan []string)
			go func() { done <- tc.load(t, p, stop) }()
			// Let the load run, then kill mid-flight.
			time.Sleep(300 * time.Millisecond)
			p.kill9(t)
			close(stop)
			acked := <-done
			t.Logf("%d writes acknowledged before the kill", len(acked))
			p2 := startBinary(t, db, tc.args...)
			tc.check(t, p2, acked)
		})
	}
	t.Run("SIGTERM drains both ports and exits", func(t *testing.T) {
		p := startBinary(t, filepath.Join(t.TempDir(), "term.db"))
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		exited := make(chan error, 1)
		go func() { exited <- p.cmd.Wait() }()
		select {
		case err := <-exited:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("still running 10 s after SIGTERM")
		}
		_, err := net.Dial("tcp", p.rpc)
		assert.Error(t, err, "the RPC port is closed")
		_, err = net.Dial("tcp", p.mqt)
		assert.Error(t, err, "the MQTT port is closed")
	})
}

// mqttLogin logs a device in with Paho and checks it is ONLINE.
func mqttLogin(t *testing.T, addr, pk, dn, secret string) interface{ Close() } {
	t.Helper()
	id, user, pass := signature.DeviceCredentials(pk, dn, secret, "", "")
	dev := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	tok := dev.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	return closer(func() { dev.Disconnect(0) })
}

type closer func()

func (c closer) Close() { c() }
