package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/signature"
)

// publishMode measures the device loop under load, in one run:
//   - property posts (thing.event.property.post, QoS 0) from o.devices
//     connected devices, each waiting for its _reply (sent once the values
//     are stored) before the next post: posts/s stored and post → _reply
//     latency, then QueryDevicePropertyStatus of every device checked,
//     and the same loop from one device alone (latency without queueing);
//   - a bare mochi broker accepting anyone, the same number of clients
//     publishing the same QoS 0 packets as fast as TCP lets them: the
//     publishes/s it accepts, counted by a hook;
//   - sequential Pub calls through the official Go SDK until the
//     subscribed device has the message.
//
// The emulator runs with its MQTT limits off, or the per-device uplink
// limit would be what is measured.
func publishMode(ctx context.Context, o options, out io.Writer) error {
	n := o.devices
	f := fixtures.Default()
	p := &f.Accounts[0].Products[0]
	names := make([]string, n)
	creds := make([][3]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("pub-%06d", i)
		sec := fmt.Sprintf("pubSecret%023d", i)
		p.Devices = append(p.Devices, fixtures.Device{DeviceName: names[i], DeviceSecret: sec})
		id, user, pass := signature.DeviceCredentials(productKey, names[i], sec, "", signature.HmacSHA256)
		creds[i] = [3]string{id, user, pass}
	}
	in, err := startEmulator(ctx, "", nil, func(c *emulator.Config) {
		c.Fixtures = f
		c.MQTTAddr = "127.0.0.1:0"
		c.MQTTLimits.Off = true
	})
	if err != nil {
		return err
	}
	defer in.close()

	emu, err := postAll(in.srv.MQTTAddr(), creds, names, o.duration)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	if err := checkProperties(ctx, in.url, names, emu.last); err != nil {
		return err
	}
	// With every device posting, latency is mostly queueing (Little's
	// law); one device alone shows the loop's own post → _reply time.
	one, err := postAll(in.srv.MQTTAddr(), creds[:1], names[:1], o.duration/3)
	if err != nil {
		return fmt.Errorf("emulator, one device: %w", err)
	}

	bareAddr, bareCount, stop, err := startCountingMQTT()
	if err != nil {
		return err
	}
	bare, err := floodAll(bareAddr, creds, names, o.duration, bareCount)
	stop()
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}

	pub, err := pubLatency(in, names[0], creds[0], o.samples)
	if err != nil {
		return fmt.Errorf("pub: %w", err)
	}

	fmt.Fprintf(out, "# %d connected devices, QoS 0, %s each; emulator: each device posts thing.event.property.post and waits for its _reply; bare mochi (allow all): the same publishes as fast as TCP takes them\n", n, o.duration)
	fmt.Fprintf(out, "%-44s %12s %10s %10s\n", "broker", "per second", "p50", "p99")
	fmt.Fprintf(out, "%-44s %12.0f %10s %10s\n", "emulator: posts stored (_reply received)", emu.rate, emu.p50.Round(time.Microsecond), emu.p99.Round(time.Microsecond))
	fmt.Fprintf(out, "%-44s %12.0f %10s %10s\n", "emulator: one device alone, same loop", one.rate, one.p50.Round(time.Microsecond), one.p99.Round(time.Microsecond))
	fmt.Fprintf(out, "%-44s %12.0f %10s %10s\n", "bare mochi: publishes accepted", bare, "", "")
	fmt.Fprintf(out, "ratio %.2f×; QueryDevicePropertyStatus showed every device's last value (%d devices)\n", emu.rate/bare, n)
	fmt.Fprintf(out, "# Pub (official Go SDK) → subscribed device, %d sequential calls\n", len(pub))
	fmt.Fprintf(out, "Pub → device p50 %s, p99 %s\n", percentile(pub, 0.5).Round(time.Microsecond), percentile(pub, 0.99).Round(time.Microsecond))
	return nil
}

// posts is what postAll measured.
type posts struct {
	rate     float64
	p50, p99 time.Duration
	last     []int // each device's last value with a _reply
}

func postTopic(name string) string {
	return "/sys/" + productKey + "/" + name + "/thing/event/property/post"
}

func postBody(id, v int) []byte {
	return []byte(`{"id":"` + strconv.Itoa(id) + `","version":"1.0","params":{"humidity":` + strconv.Itoa(v) + `},"method":"thing.event.property.post"}`)
}

// postAll connects every device, subscribes it to its post_reply and
// lets each post, wait for the reply and post again for d.
func postAll(addr string, creds [][3]string, names []string, d time.Duration) (posts, error) {
	l, err := loginAll(addr, creds)
	if err != nil {
		return posts{}, err
	}
	defer closeAll(l.conns)
	readers := make([]*bufio.Reader, len(l.conns))
	for i, c := range l.conns {
		readers[i] = bufio.NewReader(c)
		if err := subscribe(c, readers[i], postTopic(names[i])+"_reply"); err != nil {
			return posts{}, fmt.Errorf("subscribe %s: %w", names[i], err)
		}
	}
	lats := make([][]time.Duration, len(l.conns))
	last := make([]int, len(l.conns))
	errs := make([]error, len(l.conns))
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i, c := range l.conns {
		wg.Go(func() {
			topic := postTopic(names[i])
			for k := 0; time.Now().Before(end); k++ {
				t := time.Now()
				if _, err := c.Write(publishPacket(topic, postBody(k, k%100))); err != nil {
					errs[i] = err
					return
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, body, err := readPublish(readers[i])
				if err != nil {
					errs[i] = fmt.Errorf("post %d: %w", k, err)
					return
				}
				if !bytes.Contains(body, []byte(`"id":"`+strconv.Itoa(k)+`"`)) || !bytes.Contains(body, []byte(`"code":200`)) {
					errs[i] = fmt.Errorf("post %d: reply %s", k, body)
					return
				}
				lats[i] = append(lats[i], time.Since(t))
				last[i] = k % 100
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return posts{}, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return posts{rate: float64(len(all)) / took.Seconds(), p50: percentile(all, 0.5), p99: percentile(all, 0.99), last: last}, nil
}

// floodAll connects every client and lets each write the same QoS 0
// publishes back to back for d; it returns the publishes/s the broker
// counted in that time.
func floodAll(addr string, creds [][3]string, names []string, d time.Duration, count *atomic.Int64) (float64, error) {
	l, err := loginAll(addr, creds)
	if err != nil {
		return 0, err
	}
	defer closeAll(l.conns)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i, c := range l.conns {
		wg.Go(func() {
			topic := postTopic(names[i])
			w := bufio.NewWriterSize(c, 4096)
			for k := 0; ; k++ {
				select {
				case <-done:
					return
				default:
				}
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := w.Write(publishPacket(topic, postBody(k, k%100))); err != nil {
					return
				}
				// Flush each packet, as a device does.
				if err := w.Flush(); err != nil {
					return
				}
			}
		})
	}
	from := count.Load()
	start := time.Now()
	time.Sleep(d)
	got := count.Load() - from
	took := time.Since(start)
	close(done)
	closeAll(l.conns)
	wg.Wait()
	return float64(got) / took.Seconds(), nil
}

// pubLatency calls Pub through the official SDK samples times, one
// after the other, and times each until the subscribed device has it.
func pubLatency(in *instance, name string, cred [3]string, samples int) ([]time.Duration, error) {
	c, code, err := connect(in.srv.MQTTAddr(), cred[0], cred[1], cred[2])
	if err != nil {
		return nil, err
	}
	if code != 0 {
		c.Close()
		return nil, fmt.Errorf("CONNACK %d", code)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	topic := "/" + productKey + "/" + name + "/user/get"
	if err := subscribe(c, r, topic); err != nil {
		return nil, err
	}
	sdk, err := iot.NewClientWithAccessKey("cn-shanghai", accessKeyID, secret)
	if err != nil {
		return nil, err
	}
	sdk.Domain = strings.TrimPrefix(in.url, "http://")
	req := iot.CreatePubRequest()
	req.ProductKey, req.TopicFullName = productKey, topic
	req.MessageContent = base64.StdEncoding.EncodeToString([]byte(`{"cmd":"blink"}`))
	lat := make([]time.Duration, 0, samples)
	for range samples {
		t := time.Now()
		resp, err := sdk.Pub(req)
		if err != nil {
			return nil, err
		}
		if !resp.Success {
			return nil, fmt.Errorf("pub: %s %s", resp.Code, resp.ErrorMessage)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if got, _, err := readPublish(r); err != nil || got != topic {
			return nil, fmt.Errorf("device got %q: %v", got, err)
		}
		lat = append(lat, time.Since(t))
	}
	return lat, nil
}

// checkProperties reads every device's QueryDevicePropertyStatus and
// wants its last replied humidity.
func checkProperties(ctx context.Context, base string, names []string, last []int) error {
	hc := newClient(8)
	for i, name := range names {
		v, err := call(ctx, hc, base, "QueryDevicePropertyStatus", map[string]string{"ProductKey": productKey, "DeviceName": name})
		if err != nil {
			return err
		}
		list, _ := v["Data"].(map[string]any)["List"].(map[string]any)["PropertyStatusInfo"].([]any)
		found := false
		for _, p := range list {
			p := p.(map[string]any)
			if p["Identifier"] == "humidity" {
				found = fmt.Sprint(p["Value"]) == strconv.Itoa(last[i])
			}
		}
		if !found {
			return fmt.Errorf("QueryDevicePropertyStatus %s: humidity is not %d: %v", name, last[i], list)
		}
	}
	return nil
}

// publishPacket is a QoS 0 PUBLISH.
func publishPacket(topic string, payload []byte) []byte {
	vh := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(topic)+len(payload)), uint16(len(topic)))
	vh = append(append(vh, topic...), payload...)
	return append(remaining([]byte{0x30}, len(vh)), vh...)
}

// remaining appends MQTT's variable-length remaining length.
func remaining(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		if n /= 128; n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// subscribe sends one QoS 0 SUBSCRIBE and waits for its SUBACK.
func subscribe(c net.Conn, r *bufio.Reader, topic string) error {
	vh := binary.BigEndian.AppendUint16(nil, 1) // packet id
	vh = binary.BigEndian.AppendUint16(vh, uint16(len(topic)))
	vh = append(append(vh, topic...), 0)
	if _, err := c.Write(append(remaining([]byte{0x82}, len(vh)), vh...)); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	typ, body, err := readPacket(r)
	if err != nil {
		return err
	}
	if typ>>4 != 9 || len(body) < 3 || body[2] > 2 {
		return fmt.Errorf("SUBACK %x %x", typ, body)
	}
	return nil
}

// readPacket reads one MQTT packet: its first byte and the rest.
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mul
		if b&0x80 == 0 {
			break
		}
		mul *= 128
	}
	body := make([]byte, n)
	_, err = io.ReadFull(r, body)
	return typ, body, err
}

// readPublish reads packets until a PUBLISH and returns its topic and
// payload (QoS 0: no packet id).
func readPublish(r *bufio.Reader) (string, []byte, error) {
	for {
		typ, body, err := readPacket(r)
		if err != nil {
			return "", nil, err
		}
		if typ>>4 != 3 || len(body) < 2 {
			continue
		}
		tl := int(binary.BigEndian.Uint16(body))
		if len(body) < 2+tl {
			return "", nil, fmt.Errorf("short PUBLISH")
		}
		rest := body[2+tl:]
		if (typ>>1)&3 > 0 {
			rest = rest[2:]
		}
		return string(body[2 : 2+tl]), rest, nil
	}
}

// startCountingMQTT is startBareMQTT with a hook counting every PUBLISH
// the broker accepts.
func startCountingMQTT() (string, *atomic.Int64, func(), error) {
	count := new(atomic.Int64)
	addr, stop, err := startBareMQTT(&countHook{n: count})
	return addr, count, stop, err
}

// countHook counts the PUBLISH packets the broker has taken.
type countHook struct {
	mqtt.HookBase
	n *atomic.Int64
}

// ID names the hook.
func (h *countHook) ID() string { return "count" }

// Provides says the hook wants OnPublish only.
func (h *countHook) Provides(b byte) bool { return b == mqtt.OnPublish }

// OnPublish counts the packet and passes it on unchanged.
func (h *countHook) OnPublish(_ *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.n.Add(1)
	return pk, nil
}
