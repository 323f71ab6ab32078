package emulator_test

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
)

// benchDevices is the default fixture with n devices of known secrets.
func benchDevices(b *testing.B, n int) (*emutest.Server, []string, []string) {
	b.Helper()
	f := fixtures.Default()
	var names, secrets []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("bench-%04d", i))
		secrets = append(secrets, fmt.Sprintf("benchSecret%021d", i))
		f.Accounts[0].Products[0].Devices = append(f.Accounts[0].Products[0].Devices, fixtures.Device{DeviceName: names[i], DeviceSecret: secrets[i]})
	}
	// The per-device uplink limit (30/s) would measure itself, not the loop.
	return emutest.New(b, emutest.WithFixture(f), emutest.WithConfig(func(c *emulatorConfig) { c.MQTTLimits.Off = true })), names, secrets
}

// BenchmarkPropertyPost is a property post end to end: devices publish
// thing.event.property.post at QoS 0 and each waits for its _reply, which
// the emulator sends once the values are stored (and so visible in
// QueryDevicePropertyStatus, which the benchmark checks at the end).
// Reports posts/s across 8 devices posting at once.
func BenchmarkPropertyPost(b *testing.B) {
	const devices = 8
	srv, names, secrets := benchDevices(b, devices)
	pk := srv.ProductKey()
	things := make([]*thing, devices)
	for i := range things {
		things[i] = connectThing(b, srv, pk, names[i], secrets[i], true)
	}
	replies := make([]chan struct{}, devices)
	for i, d := range things {
		replies[i] = make(chan struct{}, 1)
		ch := replies[i]
		tok := d.client.Subscribe(d.sys()+"thing/event/property/post_reply", 0, func(paho.Client, paho.Message) { ch <- struct{}{} })
		require.True(b, tok.WaitTimeout(10*time.Second))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range things {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := things[i]
			for n := i; n < b.N; n += devices {
				d.client.Publish(d.sys()+"thing/event/property/post", 0, false,
					`{"id":"`+strconv.Itoa(n)+`","params":{"humidity":`+strconv.Itoa(n%100)+`}}`)
				select {
				case <-replies[i]:
				case <-time.After(10 * time.Second):
					b.Errorf("no reply to post %d", n)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
	last := b.N - 1
	want := strconv.Itoa(last % 100)
	require.Equal(b, want, propertyStatus(b, srv.NewIotClient(), pk, names[last%devices])["humidity"].Value)
}

// BenchmarkPubToDevice is one Pub through the official SDK until the
// subscribed device has the message; reports the p50 and p99 of that
// latency in microseconds.
func BenchmarkPubToDevice(b *testing.B) {
	srv, names, secrets := benchDevices(b, 1)
	pk := srv.ProductKey()
	d := connectThing(b, srv, pk, names[0], secrets[0], true)
	topic := "/" + pk + "/" + names[0] + "/user/get"
	got := make(chan struct{}, 1)
	tok := d.client.Subscribe(topic, 0, func(paho.Client, paho.Message) { got <- struct{}{} })
	require.True(b, tok.WaitTimeout(10*time.Second))
	c := srv.NewIotClient()
	req := iot.CreatePubRequest()
	req.ProductKey, req.TopicFullName = pk, topic
	req.MessageContent = base64.StdEncoding.EncodeToString([]byte(`{"cmd":"blink"}`))
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		resp, err := c.Pub(req)
		if err != nil || !resp.Success {
			b.Fatalf("Pub: %v %v", err, resp)
		}
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("the device did not get the message")
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
