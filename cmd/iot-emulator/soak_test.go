package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
)

// soakFor is how long TestSoak loads the binary: short so CI stays fast,
// longer by hand (go test ./cmd/iot-emulator -run TestSoak -soak 60s).
var soakFor = flag.Duration("soak", 3*time.Second, "how long TestSoak runs its mixed load")

const (
	soakRPCWorkers = 4
	soakDevices    = 4
	// soakWindow is how many posts one device may have awaiting a reply.
	soakWindow = 16
)

// TestSoak puts both ports of the built binary under mixed load (signed
// RPC calls of several kinds and devices posting properties) for -soak,
// and asserts that nothing answered an error and that both ports still
// answer a new client afterwards.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and loads the binary")
	}
	p := startBinary(t, filepath.Join(t.TempDir(), "soak.db"), "--mqtt-limits", "off")
	var calls, registered, posts, replies atomic.Int64
	var mu sync.Mutex
	var unexpected []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(unexpected) < 20 {
			unexpected = append(unexpected, fmt.Sprintf(format, args...))
		}
	}

	secrets := map[string]string{}
	for d := 0; d < soakDevices; d++ {
		name := fmt.Sprintf("soakdev%02d", d)
		secrets[name] = registerCrashDevice(t, p.rpc, name)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup

	for w := 0; w < soakRPCWorkers; w++ {
		wg.Add(1)
		// Made here: the SDK's constructor writes a global map.
		c := sdkClient(t, p.rpc)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				dn := fmt.Sprintf("soakdev%02d", i%soakDevices)
				if err := soakCall(c, w, i, dn); err != nil {
					fail("rpc worker %d call %d: %v", w, i, err)
				} else if i%6 == 0 {
					registered.Add(1)
				}
				calls.Add(1)
			}
		}()
	}

	for dn, secret := range secrets {
		sys := "/sys/a1TestProd1/" + dn + "/"
		window := make(chan struct{}, soakWindow)
		dev := connectPoster(t, p.mqt, dn, secret,
			func(err error) { fail("device %s lost its connection: %v", dn, err) },
			func(_ string, code int, raw []byte) {
				if code != 200 {
					fail("device %s got %s", dn, raw)
				}
				replies.Add(1)
				<-window
			})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					// Wait for the replies in flight (generously) so each post
					// is answered before the device leaves.
					for k := 0; k < soakWindow; k++ {
						select {
						case window <- struct{}{}:
						case <-time.After(10 * time.Second):
							fail("device %s: a post got no reply", dn)
							dev.Disconnect(0)
							return
						}
					}
					dev.Disconnect(250)
					return
				case window <- struct{}{}:
				}
				dev.Publish(sys+"thing/event/property/post", 0, false, fmt.Sprintf(
					`{"id":"%d","version":"1.0","method":"thing.event.property.post","params":{"humidity":%d,"temperature":%d.5}}`, i, i%100, i%40))
				posts.Add(1)
			}
		}()
	}

	time.Sleep(*soakFor)
	close(stop)
	wg.Wait()
	t.Logf("%s: %d RPC calls, %d property posts, %d replies", *soakFor, calls.Load(), posts.Load(), replies.Load())
	mu.Lock()
	assert.Empty(t, unexpected)
	mu.Unlock()
	assert.Equal(t, posts.Load(), replies.Load(), "every post answered")
	assert.Positive(t, calls.Load())
	assert.Positive(t, posts.Load())

	t.Run("the RPC API still answers", func(t *testing.T) {
		assert.Equal(t, soakDevices+int(registered.Load()), deviceCount(t, p.rpc), "every registration kept")
	})
	t.Run("the broker still logs a device in", func(t *testing.T) {
		conn := mqttLogin(t, p.mqt, "a1TestProd1", "soakdev00", secrets["soakdev00"])
		conn.Close()
	})
}

// soakCall makes call i of RPC worker w: a mix of writes and reads of
// devices, shadows and properties. Every one of them should succeed.
func soakCall(c *iot.Client, w, i int, dn string) error {
	check := func(ok bool, code string, err error) error {
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("answered %s", code)
		}
		return nil
	}
	switch i % 6 {
	case 0:
		req := iot.CreateRegisterDeviceRequest()
		req.ProductKey, req.DeviceName = "a1TestProd1", fmt.Sprintf("soak%d_%d", w, i)
		resp, err := c.RegisterDevice(req)
		return check(err == nil && resp.Success, codeOf(resp.Code, err), err)
	case 1:
		req := iot.CreateQueryDeviceDetailRequest()
		req.ProductKey, req.DeviceName = "a1TestProd1", dn
		resp, err := c.QueryDeviceDetail(req)
		return check(err == nil && resp.Success, codeOf(resp.Code, err), err)
	case 2:
		req := iot.CreateQueryDeviceRequest()
		req.ProductKey = "a1TestProd1"
		resp, err := c.QueryDevice(req)
		return check(err == nil && resp.Success, codeOf(resp.Code, err), err)
	case 3:
		req := iot.CreateUpdateDeviceShadowRequest()
		req.ProductKey, req.DeviceName = "a1TestProd1", dn
		// Version 0: no version control, so workers sharing a device never clash.
		req.ShadowMessage = fmt.Sprintf(`{"method":"update","state":{"desired":{"n":%d}},"version":0}`, i)
		resp, err := c.UpdateDeviceShadow(req)
		return check(err == nil && resp.Success, codeOf(resp.Code, err), err)
	case 4:
		req := iot.CreateGetDeviceShadowRequest()
		req.ProductKey, req.DeviceName = "a1TestProd1", dn
		resp, err := c.GetDeviceShadow(req)
		return check(err == nil && resp.Success, codeOf(resp.Code, err), err)
	default:
		req := iot.CreateQueryDevicePropertyStatusRequest()
		req.ProductKey, req.DeviceName = "a1TestProd1", dn
		resp, err := c.QueryDevicePropertyStatus(req)
		return check(err == nil && resp.Success, codeOf(resp.Code, err), err)
	}
}

func codeOf(code string, err error) string {
	if err != nil {
		return err.Error()
	}
	return code
}
