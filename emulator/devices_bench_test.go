package emulator_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
)

// mqttString is an MQTT length-prefixed string.
func mqttString(s string) []byte {
	b := make([]byte, 2, 2+len(s))
	binary.BigEndian.PutUint16(b, uint16(len(s)))
	return append(b, s...)
}

// rawConnect is a minimal MQTT 3.1.1 client: one CONNECT, then it reads
// the CONNACK's return code. It keeps no goroutine, so a benchmark of
// many connected devices measures the broker, not the client.
func rawConnect(addr, id, user, pass string, keepalive uint16) (net.Conn, byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, 0, err
	}
	var vh []byte
	vh = append(vh, mqttString("MQTT")...)
	vh = append(vh, 4, 0xC2) // level 4; username, password, clean session
	vh = binary.BigEndian.AppendUint16(vh, keepalive)
	vh = append(vh, mqttString(id)...)
	vh = append(vh, mqttString(user)...)
	vh = append(vh, mqttString(pass)...)
	if _, err := conn.Write(mqttPacket(0x10, vh)); err != nil {
		conn.Close()
		return nil, 0, err
	}
	ack := make([]byte, 4)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(bufio.NewReader(conn), ack); err != nil {
		conn.Close()
		return nil, 0, err
	}
	conn.SetReadDeadline(time.Time{})
	return conn, ack[3], nil
}

// deviceFixture is the default fixture with n devices of known secrets.
func deviceFixture(n int) *fixtures.Fixture {
	f := fixtures.Default()
	p := &f.Accounts[0].Products[0]
	for i := range n {
		p.Devices = append(p.Devices, fixtures.Device{DeviceName: fmt.Sprintf("bench-%06d", i), DeviceSecret: fmt.Sprintf("benchSecret%021d", i)})
	}
	return f
}

func login(addr string, i int) (net.Conn, byte, error) {
	dn := fmt.Sprintf("bench-%06d", i)
	id, user, pass := signature.DeviceCredentials("a1TestProd1", dn, fmt.Sprintf("benchSecret%021d", i), "", signature.HmacSHA256)
	return rawConnect(addr, id, user, pass, 300)
}

// BenchmarkDeviceLogin is one device login and logout: signed CONNECT,
// password check, status ONLINE in SQLite, DISCONNECT by close, OFFLINE.
func BenchmarkDeviceLogin(b *testing.B) {
	// Without limits: past 1,000 logins the per-IP CONNECT bucket refuses.
	srv := emutest.New(b, emutest.WithFixture(deviceFixture(100)), emutest.WithConfig(func(c *emulator.Config) { c.MQTTLimits.Off = true }))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		conn, code, err := login(srv.MQTTAddr(), i%100)
		if err != nil || code != 0 {
			b.Fatalf("login %d: code %d, %v", i, code, err)
		}
		conn.Write([]byte{0xE0, 0}) // DISCONNECT
		conn.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkConnectedDevices reports the memory of the emulator's process
// (heap and goroutine stacks: broker and store) per connected device, with
// 1,000 and 10,000 devices logged in at once, and how long logging them
// all in took. The devices are minimal clients in a child process, so
// 10,000 connections fit the descriptor limit and their memory is not
// counted.
func BenchmarkConnectedDevices(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%d devices", n), func(b *testing.B) {
			for range b.N {
				srv := emutest.New(b, emutest.WithFixture(deviceFixture(n)), emutest.WithConfig(func(c *emulator.Config) { c.JournalSize = 0 }))
				before := memInUse()
				cmd := exec.Command(os.Args[0], "-test.run=^TestDeviceClients$")
				cmd.Env = append(os.Environ(), "IOT_BENCH_CLIENTS="+strconv.Itoa(n), "IOT_BENCH_MQTT="+srv.MQTTAddr())
				stdin, err := cmd.StdinPipe()
				require.NoError(b, err)
				stdout, err := cmd.StdoutPipe()
				require.NoError(b, err)
				cmd.Stderr = os.Stderr
				require.NoError(b, cmd.Start())
				line, err := bufio.NewReader(stdout).ReadString('\n')
				require.NoError(b, err)
				var secs float64
				_, err = fmt.Sscanf(line, "connected %g", &secs)
				require.NoError(b, err, "child said %q", line)
				after := memInUse()
				b.ReportMetric(float64(after-before)/float64(n), "bytes/device")
				b.ReportMetric(secs, "s-to-connect-all")
				stdin.Close()
				require.NoError(b, cmd.Wait())
				srv.Close()
			}
		})
	}
}

// TestDeviceClients is BenchmarkConnectedDevices' child: it logs in
// IOT_BENCH_CLIENTS devices, says so, and holds them until stdin closes.
func TestDeviceClients(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("IOT_BENCH_CLIENTS"))
	addr := os.Getenv("IOT_BENCH_MQTT")
	if n == 0 || addr == "" {
		t.Skip("only run by BenchmarkConnectedDevices")
	}
	start := time.Now()
	conns := make([]net.Conn, 0, n)
	for i := range n {
		conn, code, err := login(addr, i)
		if err != nil || code != 0 {
			t.Fatalf("login %d: code %d, %v", i, code, err)
		}
		conns = append(conns, conn)
	}
	fmt.Printf("connected %g\n", time.Since(start).Seconds())
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
