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
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"

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
//     in the same loop: each publishes the same QoS 0 packet followed by
//     a PINGREQ and waits for the PINGRESP (a broker answers a client's
//     packets in order, so the publish has been taken): publishes/s and
//     the same latency. The two run in alternating one-second slices, so
//     both see the same machine. (Clients writing back to back without
//     waiting, as an earlier version did, measure the scheduler instead:
//     with both ends in one process the writers starve the broker's
//     readers, and one-second slices of the same flood read 0 to 139,000
//     publishes/s.)
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
	in, err := startBroker(ctx, f)
	if err != nil {
		return err
	}
	defer in.close()

	bareAddr, stop, err := startBareMQTT()
	if err != nil {
		return err
	}
	defer stop()
	posters, err := connectPosters(in.srv.MQTTAddr(), creds, names, false)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	defer posters.close()
	pingers, err := connectPosters(bareAddr, creds, names, true)
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	defer pingers.close()
	for range max(int(o.duration/time.Second), 2) {
		if err := posters.run(time.Second); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		if err := pingers.run(time.Second); err != nil {
			return fmt.Errorf("bare: %w", err)
		}
	}
	emu, bare := posters.result(), pingers.result()
	if err := checkProperties(ctx, in.url, names, emu.last); err != nil {
		return err
	}
	// With every device posting, latency is mostly queueing (Little's
	// law); one device alone shows the loop's own post → _reply time.
	alone, err := connectPosters(in.srv.MQTTAddr(), creds[:1], names[:1], false)
	if err != nil {
		return fmt.Errorf("emulator, one device: %w", err)
	}
	err = alone.run(max(o.duration/3, time.Second))
	alone.close()
	if err != nil {
		return fmt.Errorf("emulator, one device: %w", err)
	}
	one := alone.result()

	pub, err := pubLatency(in, names[0], creds[0], o.samples)
	if err != nil {
		return fmt.Errorf("pub: %w", err)
	}

	fmt.Fprintf(out, "# %d connected devices, QoS 0, %s each in alternating 1 s slices; emulator: each device posts thing.event.property.post and waits for its _reply; bare mochi (allow all): each client publishes the same packet and a PINGREQ, and waits for the PINGRESP\n", n, o.duration)
	fmt.Fprintf(out, "%-44s %12s %10s %10s\n", "broker", "per second", "p50", "p99")
	fmt.Fprintf(out, "%-44s %12.0f %10s %10s\n", "emulator: posts stored (_reply received)", emu.rate, emu.p50.Round(time.Microsecond), emu.p99.Round(time.Microsecond))
	fmt.Fprintf(out, "%-44s %12.0f %10s %10s\n", "emulator: one device alone, same loop", one.rate, one.p50.Round(time.Microsecond), one.p99.Round(time.Microsecond))
	fmt.Fprintf(out, "%-44s %12.0f %10s %10s\n", "bare mochi: publishes accepted (PINGRESP)", bare.rate, bare.p50.Round(time.Microsecond), bare.p99.Round(time.Microsecond))
	fmt.Fprintf(out, "ratio %.2f×; QueryDevicePropertyStatus showed every device's last value (%d devices)\n", emu.rate/bare.rate, n)
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

// posters are devices logged in to the emulator and subscribed to their
// post_reply, posting in slices (run) and keeping what they measured; or,
// with ping, clients of a bare broker that follow each post with a
// PINGREQ and wait for its PINGRESP instead of a reply.
type posters struct {
	ping    bool
	names   []string
	conns   []net.Conn
	readers []*bufio.Reader
	lats    [][]time.Duration
	last    []int
	next    []int // each device's next post id
	took    time.Duration
}

// connectPosters logs every device in and subscribes it to its post_reply.
func connectPosters(addr string, creds [][3]string, names []string, ping bool) (*posters, error) {
	l, err := loginAll(addr, creds)
	if err != nil {
		return nil, err
	}
	p := &posters{ping: ping, names: names, conns: l.conns, readers: make([]*bufio.Reader, len(l.conns)),
		lats: make([][]time.Duration, len(l.conns)), last: make([]int, len(l.conns)), next: make([]int, len(l.conns))}
	for i, c := range l.conns {
		p.readers[i] = bufio.NewReader(c)
		if ping {
			continue
		}
		if err := subscribe(c, p.readers[i], postTopic(names[i])+"_reply"); err != nil {
			p.close()
			return nil, fmt.Errorf("subscribe %s: %w", names[i], err)
		}
	}
	return p, nil
}

func (p *posters) close() { closeAll(p.conns) }

// result is what every slice measured together.
func (p *posters) result() posts {
	var all []time.Duration
	for _, l := range p.lats {
		all = append(all, l...)
	}
	return posts{rate: float64(len(all)) / p.took.Seconds(), p50: percentile(all, 0.5), p99: percentile(all, 0.99), last: p.last}
}

// run lets each device post, wait for the reply and post again for d; a
// post started before d ends is waited for.
func (p *posters) run(d time.Duration) error {
	errs := make([]error, len(p.conns))
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i, c := range p.conns {
		wg.Go(func() {
			topic := postTopic(p.names[i])
			for ; time.Now().Before(end); p.next[i]++ {
				k := p.next[i]
				t := time.Now()
				pk := publishPacket(topic, postBody(k, k%100))
				if p.ping {
					pk = append(pk, 0xC0, 0) // PINGREQ
				}
				if _, err := c.Write(pk); err != nil {
					errs[i] = err
					return
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if p.ping {
					if typ, _, err := readPacket(p.readers[i]); err != nil || typ != 0xD0 {
						errs[i] = fmt.Errorf("post %d: want PINGRESP, got %#x (%v)", k, typ, err)
						return
					}
					p.lats[i] = append(p.lats[i], time.Since(t))
					continue
				}
				_, body, err := readPublish(p.readers[i])
				if err != nil {
					errs[i] = fmt.Errorf("post %d: %w", k, err)
					return
				}
				if !bytes.Contains(body, []byte(`"id":"`+strconv.Itoa(k)+`"`)) || !bytes.Contains(body, []byte(`"code":200`)) {
					errs[i] = fmt.Errorf("post %d: reply %s", k, body)
					return
				}
				p.lats[i] = append(p.lats[i], time.Since(t))
				p.last[i] = k % 100
			}
		})
	}
	wg.Wait()
	p.took += time.Since(start)
	return errors.Join(errs...)
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
