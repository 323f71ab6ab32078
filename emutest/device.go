package emutest

import (
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iot-emulator/iot-emulator/signature"
)

// Device is a device connected to the emulator's MQTT broker with its
// DeviceSecret (Paho underneath, MQTT 3.1.1):
//
//	dev := srv.ConnectDevice("a1TestProd1", "light01", secret)
//	dev.Publish("/sys/a1TestProd1/light01/thing/event/property/post", `{"id":"1","params":{}}`)
type Device struct {
	s      *Server
	client paho.Client
	// ProductKey and DeviceName name the device.
	ProductKey, DeviceName string
}

// Message is one message a Device received.
type Message struct {
	Topic   string
	Payload []byte
}

// ConnectDevice logs a device in (hmacsha256, no timestamp) and fails the
// test, or panics outside one, if the broker refuses it. The device is
// disconnected when the emulator closes, if not before.
func (s *Server) ConnectDevice(productKey, deviceName, deviceSecret string) *Device {
	if s.t != nil {
		s.t.Helper()
	}
	d, err := s.DialDevice(productKey, deviceName, deviceSecret)
	if err != nil {
		s.fatalf("emutest: ConnectDevice %s/%s: %v", productKey, deviceName, err)
	}
	return d
}

// DialDevice is ConnectDevice returning the refusal as an error, for tests
// of refused logins.
func (s *Server) DialDevice(productKey, deviceName, deviceSecret string) (*Device, error) {
	if s.emu.MQTTAddr() == "" {
		return nil, fmt.Errorf("the MQTT broker is off")
	}
	id, user, pass := signature.DeviceCredentials(productKey, deviceName, deviceSecret, "", signature.HmacSHA256)
	opts := paho.NewClientOptions().AddBroker("tcp://" + s.emu.MQTTAddr()).
		SetClientID(id).SetUsername(user).SetPassword(pass).
		SetProtocolVersion(4).SetKeepAlive(60 * time.Second).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(5 * time.Second).SetCleanSession(true)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("no CONNACK within 10s")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	d := &Device{s: s, client: c, ProductKey: productKey, DeviceName: deviceName}
	s.devicesMu.Lock()
	s.devices = append(s.devices, d)
	s.devicesMu.Unlock()
	return d, nil
}

// Publish sends a QoS 1 message and waits for the broker's PUBACK.
func (d *Device) Publish(topic, payload string) {
	if d.s.t != nil {
		d.s.t.Helper()
	}
	tok := d.client.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		d.s.fatalf("emutest: Publish %s: %v", topic, tok.Error())
	}
}

// Subscribe subscribes to a topic filter and returns the channel its
// messages arrive on (buffered; a full buffer drops messages). It fails
// the test if the broker refuses the filter.
func (d *Device) Subscribe(filter string) <-chan Message {
	if d.s.t != nil {
		d.s.t.Helper()
	}
	ch := make(chan Message, 64)
	tok := d.client.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		select {
		case ch <- Message{Topic: m.Topic(), Payload: m.Payload()}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		d.s.fatalf("emutest: Subscribe %s: %v", filter, tok.Error())
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for _, code := range st.Result() {
			if code >= 0x80 {
				d.s.fatalf("emutest: Subscribe %s: refused by the broker (0x%02x)", filter, code)
			}
		}
	}
	return ch
}

// Connected reports whether the connection is up.
func (d *Device) Connected() bool { return d.client.IsConnectionOpen() }

// Close disconnects the device cleanly (an MQTT DISCONNECT).
func (d *Device) Close() { d.client.Disconnect(100) }
