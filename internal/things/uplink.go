package things

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// Uplink handles what a device published, after the broker's topic check
// (or what a virtual device publishes): it is logged, and Alink requests,
// replies and shadow messages are acted on and answered.
func (s *Service) Uplink(dev iot.Device, topic string, payload []byte, qos byte, virtual bool) {
	ctx := context.Background()
	// Parsed once here for the log and for whichever handler acts on it.
	req, ok := parseRequest(payload)
	mid := alinkID(payload, req, ok)
	s.logMessage(iot.Message{AccessKeyID: dev.AccessKeyID, Direction: iot.Uplink, ProductKey: dev.ProductKey, DeviceName: dev.DeviceName,
		Topic: topic, QoS: qos, Payload: payload, MessageID: mid, Virtual: virtual})
	id := dev.ProductKey + "/" + dev.DeviceName
	switch {
	case strings.HasPrefix(topic, "/sys/"+id+"/"):
		s.sysUplink(ctx, dev, topic, strings.TrimPrefix(topic, "/sys/"+id+"/"), payload, req, ok, mid)
	case topic == "/shadow/update/"+id:
		s.shadowUplink(ctx, dev, payload)
	case strings.HasPrefix(topic, "/ext/rrpc/"):
		mid, _, _ := strings.Cut(strings.TrimPrefix(topic, "/ext/rrpc/"), "/")
		s.resolve(dev, mid, payload)
	}
}

// sysUplink acts on a /sys topic; req and ok are parseRequest(payload),
// mid its message id.
func (s *Service) sysUplink(ctx context.Context, dev iot.Device, topic, rest string, payload []byte, req request, ok bool, mid string) {
	switch {
	case rest == "thing/event/property/post":
		s.propertyPost(ctx, dev, topic, req, ok)
	case strings.HasPrefix(rest, "thing/event/") && strings.HasSuffix(rest, "/post"):
		ev := strings.TrimSuffix(strings.TrimPrefix(rest, "thing/event/"), "/post")
		if ev != "" && !strings.Contains(ev, "/") {
			s.eventPost(ctx, dev, topic, ev, req, ok)
		}
	case rest == "thing/service/property/set_reply":
		s.setReply(ctx, dev, mid, payload)
	case strings.HasPrefix(rest, "thing/service/") && strings.HasSuffix(rest, "_reply"):
		s.serviceReply(ctx, dev, mid, payload)
	case strings.HasPrefix(rest, "rrpc/response/"):
		s.resolve(dev, strings.TrimPrefix(rest, "rrpc/response/"), payload)
	case rest == "thing/property/desired/get":
		s.desiredGet(ctx, dev, topic, req, ok)
	}
}

// alinkID is the id of an Alink message, "" when it has none; req and ok
// are parseRequest(payload).
func alinkID(payload []byte, req request, ok bool) string {
	if !ok || len(payload) == 0 || payload[0] != '{' {
		return ""
	}
	return req.idString()
}

// send answers a device: logged as a downlink with its message id (the
// request's, "" for shadow replies), then delivered (a virtual device
// takes its replies silently).
func (s *Service) send(ctx context.Context, dev iot.Device, topic string, payload []byte, mid string) {
	v := s.virtualOf(dev)
	s.logMessage(iot.Message{AccessKeyID: dev.AccessKeyID, Direction: iot.Downlink, ProductKey: dev.ProductKey, DeviceName: dev.DeviceName,
		Topic: topic, Payload: payload, MessageID: mid, Virtual: v != nil})
	if v == nil {
		s.tr.Deliver(dev.AccessKeyID, dev.IotID, topic, payload, 0)
	}
}

// checked is a property value that passed the thing model.
type checked struct {
	identifier string
	dataType   string
	value      any
}

// checkItems checks values against a product's model (m nil: no model).
// fromDevice relaxes number and bool forms as devices send them. Values
// that fail are left out, and the first failure is returned.
func (s *Service) checkItems(m *iot.ThingModel, items map[string]any, fromDevice bool) ([]checked, *iot.ValueError) {
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []checked
	var first *iot.ValueError
	fail := func(e *iot.ValueError) {
		if first == nil {
			first = e
		}
	}
	for _, k := range keys {
		v := items[k]
		if m == nil {
			if s.cfg.Strict {
				fail(&iot.ValueError{Code: codeParamsNotExist, Message: "params not exist: " + k + " (the product has no thing model and --thing-model is strict)"})
				continue
			}
			out = append(out, checked{k, iot.InferType(v), v})
			continue
		}
		p, ok := m.Property(k)
		if !ok {
			if s.cfg.Strict {
				fail(&iot.ValueError{Code: codeParamsNotExist, Message: "params not exist: " + k})
			}
			continue
		}
		if err := p.DataType.Check(v, fromDevice); err != nil {
			var ve *iot.ValueError
			if errors.As(err, &ve) {
				fail(ve)
			} else {
				fail(&iot.ValueError{Code: 6305, Message: err.Error()})
			}
			continue
		}
		out = append(out, checked{k, p.DataType.Type, p.DataType.Normalize(v)})
	}
	return out, first
}

// propertyPost stores what a thing.event.property.post reports: values
// that break the thing model are dropped and the reply carries their
// Alink code; undeclared identifiers are dropped (refused in strict mode).
func (s *Service) propertyPost(ctx context.Context, dev iot.Device, topic string, req request, ok bool) {
	const method = "thing.event.property.post"
	answer := func(code int, message string) {
		if !req.noAck {
			s.send(ctx, dev, topic+"_reply", reply(req.id, code, nil, message, method), req.idString())
		}
	}
	var params map[string]any
	if !ok || decodeJSON(req.params, &params) != nil || params == nil {
		answer(codeParamError, "request parameter error: params must be a JSON object")
		return
	}
	if len(params) > maxPostProperties {
		answer(codeMapTooLarge, "map size must less than 200")
		return
	}
	now := s.cfg.Now()
	items, times := map[string]any{}, map[string]time.Time{}
	for k, v := range params {
		val, t := unwrap(v)
		items[k] = val
		times[k] = now
		if !t.IsZero() {
			times[k] = t
		}
	}
	m, err := s.Model(ctx, dev.AccessKeyID, dev.ProductKey)
	if err != nil {
		s.log.Error("property post: thing model", "productKey", dev.ProductKey, "err", err)
		answer(6313, "tsl service not available")
		return
	}
	good, bad := s.checkItems(m, items, true)
	if err := s.record(ctx, dev, good, times); err != nil {
		s.log.Error("property post: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
		answer(6760, "system exception")
		return
	}
	if bad != nil && !s.cfg.DropBadValues {
		answer(bad.Code, bad.Message)
		return
	}
	answer(codeOK, "")
}

// record stores checked values as the device's latest and in its
// history, each at its time.
func (s *Service) record(ctx context.Context, dev iot.Device, good []checked, times map[string]time.Time) error {
	vals := make([]iot.PropertyValue, len(good))
	for i, c := range good {
		vals[i] = iot.PropertyValue{Identifier: c.identifier, DataType: c.dataType, Value: iot.RenderValue(c.value), Time: times[c.identifier]}
	}
	return s.st.RecordProperties(ctx, dev.IotID, vals, s.cfg.PropertyHistory)
}

// setReply applies a property set the device acknowledged with code 200:
// the values sent become its reported ones, as on the platform.
func (s *Service) setReply(ctx context.Context, dev iot.Device, id string, payload []byte) {
	var r struct {
		Code json.Number `json:"code"`
	}
	if id == "" || decodeJSON(payload, &r) != nil {
		return
	}
	k := key(dev.AccessKeyID, dev.IotID, id)
	s.mu.Lock()
	raw, ok := s.sets[k]
	delete(s.sets, k)
	s.mu.Unlock()
	var items map[string]any
	if !ok || r.Code.String() != "200" || decodeJSON(raw, &items) != nil {
		return
	}
	m, err := s.Model(ctx, dev.AccessKeyID, dev.ProductKey)
	if err != nil {
		s.log.Error("property set reply: thing model", "productKey", dev.ProductKey, "err", err)
		return
	}
	good, _ := s.checkItems(m, items, false)
	now := s.cfg.Now()
	times := make(map[string]time.Time, len(good))
	for _, c := range good {
		times[c.identifier] = now
	}
	if err := s.record(ctx, dev, good, times); err != nil {
		s.log.Error("property set reply: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
	}
}

// unwrap reads the {"value":…,"time":…} form of a posted property; any
// other value is the value itself.
func unwrap(v any) (any, time.Time) {
	obj, ok := v.(map[string]any)
	if !ok {
		return v, time.Time{}
	}
	val, has := obj["value"]
	if !has || len(obj) > 2 || (len(obj) == 2 && obj["time"] == nil) {
		return v, time.Time{}
	}
	return val, msOf(obj["time"])
}

// msOf reads a time in ms, given as a number or a numeric string.
func msOf(v any) time.Time {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	default:
		return time.Time{}
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// eventPost stores a thing.event.{id}.post; an event the model does not
// declare, or whose output breaks it, is dropped with an Alink code.
func (s *Service) eventPost(ctx context.Context, dev iot.Device, topic, identifier string, req request, ok bool) {
	method := "thing.event." + identifier + ".post"
	answer := func(code int, message string) {
		if !req.noAck {
			s.send(ctx, dev, topic+"_reply", reply(req.id, code, nil, message, method), req.idString())
		}
	}
	var params struct {
		Value map[string]any `json:"value"`
		Time  any            `json:"time"`
	}
	if !ok || decodeJSON(req.params, &params) != nil {
		answer(codeParamError, "request parameter error: params must be {\"value\":{…},\"time\":…}")
		return
	}
	if params.Value == nil && params.Time == nil {
		// Some device SDKs send the output values flat in params; the
		// platform's documented form nests them in value (fidelity note).
		if decodeJSON(req.params, &params.Value) != nil {
			answer(codeParamError, "request parameter error: params must be {\"value\":{…},\"time\":…}")
			return
		}
	}
	m, err := s.Model(ctx, dev.AccessKeyID, dev.ProductKey)
	if err != nil {
		s.log.Error("event post: thing model", "productKey", dev.ProductKey, "err", err)
		answer(6313, "tsl service not available")
		return
	}
	name, kind := identifier, "info"
	if m != nil {
		ev, ok := m.Event(identifier)
		if !ok {
			answer(codeMethodNotExist, "method not exist: "+method)
			return
		}
		name, kind = ev.Name, ev.Type
		for k, v := range params.Value {
			p, ok := iot.FindParam(ev.OutputData, k)
			if !ok {
				answer(codeParamsNotExist, "params not exist: "+k)
				return
			}
			if err := p.DataType.Check(v, true); err != nil {
				var ve *iot.ValueError
				if errors.As(err, &ve) {
					answer(ve.Code, ve.Message)
				} else {
					answer(6305, err.Error())
				}
				return
			}
		}
	} else if s.cfg.Strict {
		answer(codeMethodNotExist, "method not exist: "+method+" (the product has no thing model and --thing-model is strict)")
		return
	}
	if params.Value == nil {
		params.Value = map[string]any{}
	}
	out, _ := json.Marshal(params.Value)
	t := msOf(params.Time)
	if t.IsZero() {
		t = s.cfg.Now()
	}
	if err := s.st.RecordEvent(ctx, iot.EventRecord{IotID: dev.IotID, Identifier: identifier, Name: name, EventType: kind, OutputData: string(out), Time: t},
		s.cfg.PropertyHistory); err != nil {
		s.log.Error("event post: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
		answer(6760, "system exception")
		return
	}
	answer(codeOK, "")
}

// serviceReply records a device's reply to an async service call.
func (s *Service) serviceReply(ctx context.Context, dev iot.Device, id string, payload []byte) {
	if id == "" {
		return
	}
	err := s.st.RecordServiceReply(ctx, dev.IotID, id, string(payload))
	if err != nil && !errors.Is(err, iot.ErrNotFound) {
		s.log.Error("service reply: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
	}
}

// desiredGet answers thing.property.desired.get with the desired value
// and version of each identifier asked for (all when none).
func (s *Service) desiredGet(ctx context.Context, dev iot.Device, topic string, req request, ok bool) {
	if req.noAck {
		return
	}
	var ids []string
	if ok && len(req.params) > 0 && json.Unmarshal(req.params, &ids) != nil {
		ok = false
	}
	if !ok {
		s.send(ctx, dev, topic+"_reply", reply(req.id, codeParamError, nil, "request parameter error: params must be a list of identifiers", "thing.property.desired.get"), req.idString())
		return
	}
	desired, err := s.st.DesiredProperties(ctx, dev.IotID)
	if err != nil {
		s.log.Error("desired get: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
		s.send(ctx, dev, topic+"_reply", reply(req.id, 6760, nil, "system exception", "thing.property.desired.get"), req.idString())
		return
	}
	if len(ids) == 0 {
		for k := range desired {
			ids = append(ids, k)
		}
		sort.Strings(ids)
	}
	data := map[string]any{}
	for _, k := range ids {
		d, ok := desired[k]
		if !ok || d.Value == nil {
			continue
		}
		var v any = *d.Value
		var raw json.RawMessage
		if json.Unmarshal([]byte(*d.Value), &raw) == nil {
			v = raw
		}
		data[k] = map[string]any{"value": v, "version": d.Version}
	}
	body, _ := json.Marshal(data)
	s.send(ctx, dev, topic+"_reply", reply(req.id, codeOK, body, "", "thing.property.desired.get"), req.idString())
}
