package things

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// VirtualConfig is how a virtual device behaves: a device that is ONLINE
// without a socket and answers downlinks in process, for applications
// tested without any MQTT code.
type VirtualConfig struct {
	// Online puts the device ONLINE; false keeps it registered but
	// OFFLINE.
	Online bool `json:"online"`
	// AutoReply acknowledges property sets (and reports the new values)
	// and answers services without a configured reply with code 200.
	AutoReply bool `json:"autoReply"`
	// ServiceReplies are the answers to service calls, by identifier.
	ServiceReplies map[string]ServiceReply `json:"serviceReplies,omitempty"`
	// RRpcReply is the base64 answer to raw RRpc calls; empty lets them
	// time out.
	RRpcReply string `json:"rrpcReply,omitempty"`
}

// ServiceReply is a virtual device's answer to one service.
type ServiceReply struct {
	Code    int             `json:"code"`
	Data    json.RawMessage `json:"data,omitempty"`
	Message string          `json:"message,omitempty"`
}

// ErrInput is a virtual device setting or a publish the loop refuses.
var ErrInput = errors.New("invalid input")

// ErrTopicDenied is a publish to a topic the device may not publish to.
var ErrTopicDenied = errors.New("the device may not publish to this topic")

type virtualDevice struct {
	dev  iot.Device
	cfg  VirtualConfig
	rrpc []byte
}

func (s *Service) virtualOf(dev iot.Device) *virtualDevice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.virtual[key(dev.AccessKeyID, dev.IotID)]
}

func (s *Service) virtualsOf(accessKeyID, productKey string) []*virtualDevice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*virtualDevice
	for _, v := range s.virtual {
		if v.dev.AccessKeyID == accessKeyID && v.dev.ProductKey == productKey {
			out = append(out, v)
		}
	}
	return out
}

// SetVirtual makes a device virtual (or changes how it behaves) and puts
// it ONLINE, or OFFLINE when cfg.Online is false.
func (s *Service) SetVirtual(ctx context.Context, dev iot.Device, cfg VirtualConfig) (VirtualConfig, error) {
	rrpc, err := base64.StdEncoding.DecodeString(cfg.RRpcReply)
	if err != nil {
		return cfg, fmt.Errorf("rrpcReply is not base64: %w", ErrInput)
	}
	for id, r := range cfg.ServiceReplies {
		if len(r.Data) > 0 && !json.Valid(r.Data) {
			return cfg, fmt.Errorf("serviceReplies.%s.data is not JSON: %w", id, ErrInput)
		}
	}
	if dev.Status == iot.DeviceDisabled {
		return cfg, ErrDisabled
	}
	ev := iot.Disconnect
	if cfg.Online {
		ev = iot.Connect
	}
	d, err := s.st.ApplyDeviceEvent(ctx, dev.AccessKeyID, dev.IotID, ev, "127.0.0.1")
	if err != nil && !(errors.Is(err, iot.ErrState) && !cfg.Online) {
		return cfg, err
	}
	if err == nil {
		dev = d
	}
	s.mu.Lock()
	s.virtual[key(dev.AccessKeyID, dev.IotID)] = &virtualDevice{dev: dev, cfg: cfg, rrpc: rrpc}
	s.mu.Unlock()
	return cfg, nil
}

// Virtual reports a device's virtual settings.
func (s *Service) Virtual(dev iot.Device) (VirtualConfig, bool) {
	v := s.virtualOf(dev)
	if v == nil {
		return VirtualConfig{}, false
	}
	return v.cfg, true
}

// RemoveVirtual ends a virtual device: it goes OFFLINE. It reports
// whether the device was virtual.
func (s *Service) RemoveVirtual(ctx context.Context, dev iot.Device) (bool, error) {
	k := key(dev.AccessKeyID, dev.IotID)
	s.mu.Lock()
	_, ok := s.virtual[k]
	delete(s.virtual, k)
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	if _, err := s.st.ApplyDeviceEvent(ctx, dev.AccessKeyID, dev.IotID, iot.Disconnect, ""); err != nil && !errors.Is(err, iot.ErrState) && !errors.Is(err, iot.ErrNotFound) {
		return true, err
	}
	return true, nil
}

// DropVirtual forgets a device's virtual settings without touching its
// stored status: it was disabled or deleted, which set that already. It
// reports whether the device was virtual.
func (s *Service) DropVirtual(dev iot.Device) bool {
	k := key(dev.AccessKeyID, dev.IotID)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.virtual[k]
	delete(s.virtual, k)
	return ok
}

// PublishAs publishes as the device, as if it had sent the message over
// MQTT: the topic must be one it may publish to.
func (s *Service) PublishAs(dev iot.Device, topic string, payload []byte) error {
	if strings.ContainsAny(topic, "+#") || !iot.TopicAllowed(dev.ProductKey, dev.DeviceName, topic, true) {
		return ErrTopicDenied
	}
	s.Uplink(dev, topic, payload, 0, s.virtualOf(dev) != nil)
	return nil
}

// virtualReceive is a virtual device handling a downlink: acknowledging
// property sets, answering services and RRpc as configured.
func (s *Service) virtualReceive(dev iot.Device, v *virtualDevice, topic string, payload []byte) {
	base := "/sys/" + dev.ProductKey + "/" + dev.DeviceName + "/"
	rest, sys := strings.CutPrefix(topic, base)
	switch {
	case sys && rest == "thing/service/property/set":
		if !v.cfg.AutoReply {
			return
		}
		req, ok := parseRequest(payload)
		if !ok {
			return
		}
		// The acknowledgement makes the values its reported ones.
		s.Uplink(dev, topic+"_reply", reply(req.id, codeOK, nil, "", ""), 0, true)
	case sys && strings.HasPrefix(rest, "thing/service/"):
		id := strings.TrimPrefix(rest, "thing/service/")
		if r, ok := v.serviceReply(id); ok {
			req, _ := parseRequest(payload)
			s.Uplink(dev, topic+"_reply", reply(req.id, r.Code, r.Data, r.Message, ""), 0, true)
		}
	case sys && strings.HasPrefix(rest, "rrpc/request/"):
		mid := strings.TrimPrefix(rest, "rrpc/request/")
		req, ok := parseRequest(payload)
		if ok && strings.HasPrefix(req.method, "thing.service.") {
			if r, ok := v.serviceReply(strings.TrimPrefix(req.method, "thing.service.")); ok {
				s.Uplink(dev, base+"rrpc/response/"+mid, reply(req.id, r.Code, r.Data, r.Message, ""), 0, true)
			}
			return
		}
		if len(v.rrpc) > 0 {
			s.Uplink(dev, base+"rrpc/response/"+mid, v.rrpc, 0, true)
		}
	case strings.HasPrefix(topic, "/ext/rrpc/"):
		if len(v.rrpc) > 0 {
			s.Uplink(dev, topic, v.rrpc, 0, true)
		}
	}
}

// serviceReply is the configured answer to a service, or with AutoReply
// code 200 and empty data.
func (v *virtualDevice) serviceReply(id string) (ServiceReply, bool) {
	if r, ok := v.cfg.ServiceReplies[id]; ok {
		if r.Code == 0 {
			r.Code = codeOK
		}
		return r, true
	}
	if v.cfg.AutoReply {
		return ServiceReply{Code: codeOK}, true
	}
	return ServiceReply{}, false
}
