package broker

import (
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// The broker is the thing loop's transport.
var _ things.Transport = (*Broker)(nil)

func (b *Broker) client(accessKeyID, iotID string) (*mqtt.Client, *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cl := b.current[deviceKey(accessKeyID, iotID)]
	if cl == nil {
		return nil, nil
	}
	return cl, b.sessions[cl]
}

// Deliver sends a message to a device: through mochi when the device
// subscribed to the topic (so QoS 1 is acknowledged and retried), or
// written to its connection at QoS 0 when it did not.
func (b *Broker) Deliver(accessKeyID, iotID, topic string, payload []byte, qos byte) bool {
	cl, _ := b.client(accessKeyID, iotID)
	if cl == nil {
		return false
	}
	for filter := range cl.State.Subscriptions.GetAll() {
		if iot.FilterMatches(filter, topic) {
			if err := b.srv.Publish(topic, payload, false, qos); err != nil {
				b.log.Error("mqtt deliver", "topic", topic, "err", err)
			}
			return true
		}
	}
	return b.write(cl, topic, payload)
}

// Direct writes a QoS 0 message to the device's connection, subscribed or
// not.
func (b *Broker) Direct(accessKeyID, iotID, topic string, payload []byte) bool {
	cl, _ := b.client(accessKeyID, iotID)
	if cl == nil {
		return false
	}
	return b.write(cl, topic, payload)
}

func (b *Broker) write(cl *mqtt.Client, topic string, payload []byte) bool {
	err := cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: topic, Payload: payload})
	return err == nil
}

// Publish sends a message to the topic's subscribers and returns the
// devices it reached; mochi queues QoS 1 for persistent sessions whose
// device is offline.
func (b *Broker) Publish(topic string, payload []byte, qos byte) []things.Recipient {
	subs := b.srv.Topics.Subscribers(topic)
	var out []things.Recipient
	b.mu.Lock()
	for id := range subs.Subscriptions {
		if d, ok := b.identities[id]; ok && Allowed(d.ProductKey, d.DeviceName, topic, false) {
			out = append(out, things.Recipient{AccessKeyID: d.AccessKeyID, IotID: d.IotID, ProductKey: d.ProductKey, DeviceName: d.DeviceName})
		}
	}
	b.mu.Unlock()
	if err := b.srv.Publish(topic, payload, false, qos); err != nil {
		b.log.Error("mqtt publish", "topic", topic, "err", err)
	}
	return out
}

// ExtRRPC reports whether the device's connection asked for the ext RRPC
// topics.
func (b *Broker) ExtRRPC(accessKeyID, iotID string) bool {
	_, s := b.client(accessKeyID, iotID)
	return s != nil && s.extRRPC
}

// forget drops the identities of an account's clients (all for "").
func (b *Broker) forget(accessKeyID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, d := range b.identities {
		if accessKeyID == "" || d.AccessKeyID == accessKeyID {
			delete(b.identities, id)
		}
	}
}
