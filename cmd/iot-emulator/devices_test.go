package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/signature"
)

// mqttAddr reads the broker's address from the start-up lines.
func mqttAddr(t *testing.T, in *instance) string {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(in.stdout.String(), "\n") {
			if a, ok := strings.CutPrefix(line, "mqtt: tcp://"); ok {
				return a
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no mqtt: line in %q", in.stdout.String())
	return ""
}

func TestDevicesAcrossRestart(t *testing.T) {
	t.Run("a device online when the process stops is OFFLINE after a restart on the same --db, until it logs in again", func(t *testing.T) {
		args := []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "iot.db"), "--mqtt-addr", "127.0.0.1:0"}
		first := start(t, args, nil)
		client := sdkClient(t, first.addr)
		reg := iot.CreateRegisterDeviceRequest()
		reg.ProductKey = "a1TestProd1"
		rr, err := client.RegisterDevice(reg)
		require.NoError(t, err)
		require.True(t, rr.Success, rr.Code)
		id, user, pass := signature.DeviceCredentials(rr.Data.ProductKey, rr.Data.DeviceName, rr.Data.DeviceSecret, "", "")
		opts := paho.NewClientOptions().AddBroker("tcp://" + mqttAddr(t, first)).SetClientID(id).SetUsername(user).SetPassword(pass).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
		dev := paho.NewClient(opts)
		tok := dev.Connect()
		require.True(t, tok.WaitTimeout(10*time.Second))
		require.NoError(t, tok.Error())
		status := func(addr string) string {
			c := sdkClient(t, addr)
			req := iot.CreateGetDeviceStatusRequest()
			req.ProductKey, req.DeviceName = rr.Data.ProductKey, rr.Data.DeviceName
			resp, err := c.GetDeviceStatus(req)
			require.NoError(t, err)
			return resp.Data.Status
		}
		require.Equal(t, "ONLINE", status(first.addr))
		require.NoError(t, first.stop(t))
		dev.Disconnect(0)

		second := start(t, args, nil)
		assert.Equal(t, "OFFLINE", status(second.addr), "no connection outlives the process")
		opts.Servers = nil
		opts.AddBroker("tcp://" + mqttAddr(t, second))
		dev = paho.NewClient(opts)
		tok = dev.Connect()
		require.True(t, tok.WaitTimeout(10*time.Second))
		require.NoError(t, tok.Error(), "the secret survives the restart")
		assert.Equal(t, "ONLINE", status(second.addr))
		dev.Disconnect(0)
		require.NoError(t, second.stop(t))
	})
}

func TestKeptDatabaseGetsNewFixtures(t *testing.T) {
	t.Run("a fixture given at a restart on a kept --db is applied, and the banner prints what the store holds", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "iot.db")
		first := start(t, []string{"--addr", "127.0.0.1:0", "--db", db}, nil)
		require.NoError(t, first.stop(t))
		args := []string{"--addr", "127.0.0.1:0", "--db", db, "--fixtures", filepath.Join("..", "..", "fixtures", "example.json")}
		second := start(t, args, nil)
		creds := bannerLine(t, second, "credentials: ")
		assert.Contains(t, creds, "AccessKeyId=testAccessKeyId", "the old account is kept")
		assert.Contains(t, creds, "AccessKeyId=teamAlphaKeyId", "the new fixture's account is added")
		c, err := iot.NewClientWithAccessKey("cn-shanghai", "teamAlphaKeyId", "teamAlphaKeySecret")
		require.NoError(t, err)
		c.Domain = second.addr
		req := iot.CreateQueryProductRequest()
		req.ProductKey = "a1AlphaLamp"
		resp, err := c.QueryProduct(req)
		require.NoError(t, err)
		assert.True(t, resp.Success, resp.Code)
		assert.Contains(t, second.stderr.String(), "fixtures: added 2 accounts")
		require.NoError(t, second.stop(t))
		third := start(t, args, nil)
		assert.Contains(t, third.stderr.String(), "added 0 accounts, 0 products, 0 devices", "a second start adds nothing")
		require.NoError(t, third.stop(t))
	})
}

func TestStopDuringFaultLatency(t *testing.T) {
	t.Run("a stop does not wait for an injected latency: the process exits cleanly", func(t *testing.T) {
		in := start(t, []string{"--addr", "127.0.0.1:0"}, nil)
		resp, err := http.Post("http://"+in.addr+"/_emulator/faults", "application/json", strings.NewReader(`{"action":"QueryProduct","latencyMs":600000}`))
		require.NoError(t, err)
		resp.Body.Close()
		done := make(chan error, 1)
		go func() {
			c := sdkClient(t, in.addr)
			req := iot.CreateQueryProductRequest()
			req.ProductKey = "a1TestProd1"
			_, err := c.QueryProduct(req)
			done <- err
		}()
		// The call is sleeping in the fault once the journal is still empty
		// of it and the server has it in flight; give it a moment to arrive.
		time.Sleep(200 * time.Millisecond)
		assert.NoError(t, in.stop(t), "no drain timeout")
		<-done
	})
}
