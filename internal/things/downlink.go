package things

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// Why a downlink cannot be sent: the device's state.
var (
	ErrInactive = errors.New("the device never connected")
	ErrOffline  = errors.New("the device is offline")
	ErrDisabled = errors.New("the device is disabled")
	// ErrTimeout is a sync call the device did not answer in time.
	ErrTimeout = errors.New("the device did not answer in time")
)

// reachable is nil when a downlink may go to the device.
func reachable(d iot.Device) error {
	switch d.Status {
	case iot.DeviceOnline:
		return nil
	case iot.DeviceUnactive:
		return ErrInactive
	case iot.DeviceDisabled:
		return ErrDisabled
	}
	return ErrOffline
}

// deliver sends a downlink to one device and logs it: a virtual device
// answers it in process; direct skips the subscription (RRPC).
func (s *Service) deliver(ctx context.Context, dev iot.Device, topic string, payload []byte, qos byte, mid, requestID string, direct bool) {
	v := s.virtualOf(dev)
	s.logMessage(iot.Message{AccessKeyID: dev.AccessKeyID, Direction: iot.Downlink, ProductKey: dev.ProductKey, DeviceName: dev.DeviceName,
		Topic: topic, QoS: qos, Payload: payload, MessageID: mid, RequestID: requestID, Virtual: v != nil})
	switch {
	case v != nil:
		s.virtualReceive(dev, v, topic, payload)
	case direct:
		s.tr.Direct(dev.AccessKeyID, dev.IotID, topic, payload)
	default:
		s.tr.Deliver(dev.AccessKeyID, dev.IotID, topic, payload, qos)
	}
}

// SetProperty sends thing.service.property.set with items (JSON object
// text, already checked) and returns the Alink id.
func (s *Service) SetProperty(ctx context.Context, dev iot.Device, items json.RawMessage, qos byte, requestID string) (string, error) {
	if err := reachable(dev); err != nil {
		return "", err
	}
	id := s.nextID()
	s.mu.Lock()
	if len(s.sets) >= maxPendingSets {
		for k := range s.sets {
			delete(s.sets, k) // any one: a set this old will hardly be answered
			break
		}
	}
	s.sets[key(dev.AccessKeyID, dev.IotID, id)] = items
	s.mu.Unlock()
	topic := "/sys/" + dev.ProductKey + "/" + dev.DeviceName + "/thing/service/property/set"
	s.deliver(ctx, dev, topic, downRequest("thing.service.property.set", id, items, "1.0.0"), qos, id, requestID, false)
	return id, nil
}

// Invocation is one service call.
type Invocation struct {
	Identifier string
	Name       string
	Args       json.RawMessage
	Sync       bool
	QoS        byte
	RequestID  string
}

// InvokeService calls a device's service. Async calls are published on
// the service topic and return at once; sync calls go over RRPC and wait
// for the reply, whose whole Alink text is returned.
func (s *Service) InvokeService(ctx context.Context, dev iot.Device, in Invocation) (id string, replyText []byte, err error) {
	if err := reachable(dev); err != nil {
		return "", nil, err
	}
	id = s.nextID()
	if len(in.Args) == 0 {
		in.Args = json.RawMessage(`{}`)
	}
	rec := iot.ServiceRecord{IotID: dev.IotID, Identifier: in.Identifier, Name: in.Name, MessageID: id, InputData: string(in.Args), Time: s.cfg.Now()}
	if err := s.st.RecordServiceCall(ctx, rec, s.cfg.PropertyHistory); err != nil {
		return "", nil, err
	}
	base := "/sys/" + dev.ProductKey + "/" + dev.DeviceName
	payload := downRequest("thing.service."+in.Identifier, id, in.Args, "1.0")
	if !in.Sync {
		s.deliver(ctx, dev, base+"/thing/service/"+in.Identifier, payload, in.QoS, id, in.RequestID, false)
		return id, nil, nil
	}
	topic := base + "/rrpc/request/" + id
	if s.tr.ExtRRPC(dev.AccessKeyID, dev.IotID) {
		topic = "/ext/rrpc/" + id + base + "/thing/service/" + in.Identifier
	}
	wait := s.await(dev, id)
	defer s.unawait(dev, id)
	s.deliver(ctx, dev, topic, payload, 0, id, in.RequestID, true)
	got, err := s.wait(ctx, wait, s.cfg.SyncTimeout)
	if err != nil {
		return id, nil, err
	}
	if err := s.st.RecordServiceReply(ctx, dev.IotID, id, string(got)); err != nil && !errors.Is(err, iot.ErrNotFound) {
		s.log.Error("sync service reply: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
	}
	return id, got, nil
}

// RRpc results (docs/fidelity.md, things §1.3).
const (
	RRpcSuccess = "SUCCESS"
	RRpcTimeout = "TIMEOUT"
	RRpcOffline = "OFFLINE"
)

// RRpc sends raw bytes to a device and waits up to timeout for its raw
// answer. topic is the custom topic (/{pk}/{dn}/user/…) or "" for the
// system RRPC topic. A device that is not online answers OFFLINE.
func (s *Service) RRpc(ctx context.Context, dev iot.Device, topic string, payload []byte, timeout time.Duration, requestID string) (code string, answer []byte, mid int64) {
	mid = s.nextLongID()
	if reachable(dev) != nil {
		return RRpcOffline, nil, mid
	}
	id := strconv.FormatInt(mid, 10)
	t := "/sys/" + dev.ProductKey + "/" + dev.DeviceName + "/rrpc/request/" + id
	if topic != "" {
		t = "/ext/rrpc/" + id + topic
	}
	wait := s.await(dev, id)
	defer s.unawait(dev, id)
	s.deliver(ctx, dev, t, payload, 0, id, requestID, true)
	got, err := s.wait(ctx, wait, timeout)
	if err != nil {
		return RRpcTimeout, nil, mid
	}
	return RRpcSuccess, got, mid
}

func (s *Service) await(dev iot.Device, id string) chan []byte {
	c := make(chan []byte, 1)
	s.mu.Lock()
	s.pending[key(dev.AccessKeyID, dev.IotID, id)] = c
	s.mu.Unlock()
	return c
}

func (s *Service) unawait(dev iot.Device, id string) {
	s.mu.Lock()
	delete(s.pending, key(dev.AccessKeyID, dev.IotID, id))
	s.mu.Unlock()
}

// wait takes the answer, or times out; a reset closes the channel.
func (s *Service) wait(ctx context.Context, c chan []byte, timeout time.Duration) ([]byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case got, ok := <-c:
		if !ok {
			return nil, ErrTimeout
		}
		return got, nil
	case <-t.C:
		return nil, ErrTimeout
	case <-ctx.Done():
		return nil, ErrTimeout
	}
}

// resolve hands an RRPC answer to its waiting call, if one waits.
func (s *Service) resolve(dev iot.Device, id string, payload []byte) {
	s.mu.Lock()
	c, ok := s.pending[key(dev.AccessKeyID, dev.IotID, id)]
	if ok {
		delete(s.pending, key(dev.AccessKeyID, dev.IotID, id))
	}
	s.mu.Unlock()
	if ok {
		c <- append([]byte(nil), payload...)
	}
}

// Pub publishes raw bytes to a topic's subscribers (a device's custom
// topic or a product broadcast topic) and returns the message id. Devices
// offline or not subscribed do not get it; virtual devices get what is
// addressed to them.
func (s *Service) Pub(ctx context.Context, accessKeyID, productKey, topic string, payload []byte, qos byte, requestID string) int64 {
	mid := s.nextLongID()
	id := strconv.FormatInt(mid, 10)
	reached := map[string]bool{}
	for _, r := range s.tr.Publish(topic, payload, qos) {
		if r.AccessKeyID != accessKeyID {
			// Loose accounts can share a ProductKey; each sees only its own
			// devices in the log.
			continue
		}
		reached[r.IotID] = true
		s.logMessage(iot.Message{AccessKeyID: accessKeyID, Direction: iot.Downlink, ProductKey: r.ProductKey, DeviceName: r.DeviceName,
			Topic: topic, QoS: qos, Payload: payload, MessageID: id, RequestID: requestID})
	}
	for _, v := range s.virtualsOf(accessKeyID, productKey) {
		if reached[v.dev.IotID] || !virtualReceives(v.dev, topic) {
			continue
		}
		s.logMessage(iot.Message{AccessKeyID: accessKeyID, Direction: iot.Downlink, ProductKey: v.dev.ProductKey, DeviceName: v.dev.DeviceName,
			Topic: topic, QoS: qos, Payload: payload, MessageID: id, RequestID: requestID, Virtual: true})
	}
	return mid
}

// virtualReceives reports whether a Pub topic is addressed to a virtual
// device: its own custom topics and its product's broadcasts.
func virtualReceives(dev iot.Device, topic string) bool {
	return strings.HasPrefix(topic, "/"+dev.ProductKey+"/"+dev.DeviceName+"/") || strings.HasPrefix(topic, "/broadcast/"+dev.ProductKey+"/")
}

// Broadcast sends raw bytes to every online device of a product on its
// own /sys/{pk}/{dn}/broadcast/request/{MessageId} topic (no
// subscription needed) and returns the message id.
func (s *Service) Broadcast(ctx context.Context, devices []iot.Device, payload []byte, requestID string) int64 {
	mid := s.nextLongID()
	id := strconv.FormatInt(mid, 10)
	for _, d := range devices {
		if d.Status != iot.DeviceOnline {
			continue
		}
		s.deliver(ctx, d, "/sys/"+d.ProductKey+"/"+d.DeviceName+"/broadcast/request/"+id, payload, 0, id, requestID, true)
	}
	return mid
}
