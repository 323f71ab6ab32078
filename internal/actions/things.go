package actions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// Limits of the messaging actions (docs/fidelity.md, things §1, §2).
const (
	maxPubBytes        = 256 << 10
	maxBroadcastBytes  = 64 << 10
	maxSetProperties   = 200
	maxDevicesPerCall  = 100
	minRRpcTimeout     = 1000
	maxRRpcTimeout     = 8000
	maxUserProperties  = 20
	maxQueryIdentifier = 10
)

// downlinkErr maps why a downlink cannot go to the device's documented
// error.
func downlinkErr(err error) error {
	switch {
	case errors.Is(err, things.ErrInactive):
		return ErrInactiveDevice
	case errors.Is(err, things.ErrOffline):
		return ErrDeviceOffline
	case errors.Is(err, things.ErrDisabled):
		return ErrDeviceIsDisable
	case errors.Is(err, things.ErrTimeout):
		return ErrBrokerTimeout
	}
	return err
}

// qos reads the optional Qos parameter (0 or 1).
func qos(c *pop.Call) (byte, error) {
	n, ok := optionalInt(c, "Qos", 0)
	if !ok || n < 0 || n > 1 {
		return 0, ErrInvalidFormattedParameter
	}
	return byte(n), nil
}

// decodeObject reads a JSON object parameter with numbers kept as text.
func decodeObject(raw string) (map[string]any, bool) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, false
	}
	return m, true
}

// checkItems checks SetDeviceProperty's Items against the product's model:
// each key a declared, writable property with a valid value. A product
// without a model accepts any key, unless the loop is strict.
func checkItems(ctx context.Context, svc *things.Service, p iot.Product, raw string) (json.RawMessage, error) {
	items, ok := decodeObject(raw)
	if !ok {
		return nil, ErrInvalidPropertiesString
	}
	if len(items) == 0 {
		return nil, ErrNoneDeviceProperties
	}
	if len(items) > maxSetProperties {
		return nil, ErrTooManyProperties
	}
	m, err := svc.Model(ctx, p.AccessKeyID, p.ProductKey)
	if err != nil {
		return nil, err
	}
	if m == nil && svc.Strict() {
		return nil, ErrNoneDeviceProperties
	}
	if m != nil && p.ValidateType != 2 {
		declared := 0
		keys := make([]string, 0, len(items))
		for k := range items {
			keys = append(keys, k)
		}
		sort.Strings(keys) // so the error reported does not depend on map order
		for _, k := range keys {
			v := items[k]
			prop, ok := m.Property(k)
			if !ok {
				continue
			}
			declared++
			if prop.AccessMode == "r" {
				return nil, ErrCanNotSetReadOnly
			}
			if prop.DataType.Check(v, false) != nil {
				return nil, ErrInvalidFormattedParameter
			}
		}
		if declared == 0 || (svc.Strict() && declared < len(items)) {
			return nil, ErrNoneDeviceProperties
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return nil, ErrInvalidPropertiesString
	}
	return b.Bytes(), nil
}

// setDeviceProperty sends a property set to an online device; success
// means it was sent, not applied.
func setDeviceProperty(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		q, e := qos(c)
		if e != nil {
			return nil, e
		}
		d, p, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		items, e := checkItems(ctx, svc, p, c.Params["Items"])
		if e != nil {
			return nil, e
		}
		id, err := svc.SetProperty(ctx, d, items, q, c.RequestID)
		if err != nil {
			return nil, downlinkErr(err)
		}
		return pop.Object{{Name: "Data", Value: pop.Object{{Name: "MessageId", Value: id}}}}, nil
	}
}

// deviceNames reads DeviceName.N (1–100 valid names).
func deviceNames(c *pop.Call) ([]string, error) {
	names := c.List("DeviceName")
	switch {
	case len(names) == 0:
		return nil, ErrNoneDeviceNameElement
	case len(names) > maxDevicesPerCall:
		return nil, ErrTooManyDeviceNames
	}
	for _, n := range names {
		if !iot.ValidDeviceName(n) {
			return nil, ErrInvalidNameInNameArray
		}
	}
	return names, nil
}

// manyDevices reads what the multi-device downlinks share: Qos, the
// DeviceName list, the product, and the named devices that exist, in the
// order named.
func manyDevices(c *pop.Call, st *store.Store) (byte, iot.Product, []string, map[string]iot.Device, error) {
	q, e := qos(c)
	if e != nil {
		return 0, iot.Product{}, nil, nil, e
	}
	names, e := deviceNames(c)
	if e != nil {
		return 0, iot.Product{}, nil, nil, e
	}
	p, e := findProduct(c.Context(), st, c, c.Params["ProductKey"])
	if e != nil {
		return 0, iot.Product{}, nil, nil, e
	}
	found, err := st.DevicesByName(c.Context(), c.AccessKeyID, p.ProductKey, names)
	return q, p, names, found, err
}

// setDevicesProperty sends one property set to every named device that is
// online; the others are skipped [INFERRED].
func setDevicesProperty(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		q, p, names, found, e := manyDevices(c, st)
		if e != nil {
			return nil, e
		}
		items, e := checkItems(ctx, svc, p, c.Params["Items"])
		if e != nil {
			return nil, e
		}
		for _, n := range names {
			if d, ok := found[n]; ok {
				_, _ = svc.SetProperty(ctx, d, items, q, c.RequestID)
			}
		}
		return pop.Object{}, nil
	}
}

// service resolves a service call's Identifier and checks its Args; a
// product without a model takes any service, called asynchronously.
func service(ctx context.Context, svc *things.Service, p iot.Product, c *pop.Call) (things.Invocation, error) {
	in := things.Invocation{Identifier: c.Params["Identifier"], Name: c.Params["Identifier"], RequestID: c.RequestID}
	args, ok := decodeObject(c.Params["Args"])
	if !ok {
		return in, ErrInvalidFormattedParameter
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(c.Params["Args"])); err != nil {
		return in, ErrInvalidFormattedParameter
	}
	in.Args = b.Bytes()
	m, err := svc.Model(ctx, p.AccessKeyID, p.ProductKey)
	if err != nil {
		return in, err
	}
	if m == nil {
		if svc.Strict() {
			return in, ErrInvokeServiceFailed
		}
		return in, nil
	}
	s, ok := m.Service(in.Identifier)
	if !ok || in.Identifier == "set" || in.Identifier == "get" {
		return in, ErrInvokeServiceFailed
	}
	in.Name = s.Name
	// "Verification-free" products (ValidateType 2) skip the checks and
	// are always asynchronous.
	if p.ValidateType == 2 {
		return in, nil
	}
	in.Sync = s.CallType == "sync"
	for k, v := range args {
		param, ok := iot.FindParam(s.InputData, k)
		if !ok || param.DataType.Check(v, false) != nil {
			return in, ErrInvalidFormattedParameter
		}
	}
	return in, nil
}

// invokeThingService calls a device's service: async ones answer the
// MessageId at once, sync ones the device's reply data as Result.
func invokeThingService(st *store.Store, svc *things.Service, wholeReply bool) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		q, e := qos(c)
		if e != nil {
			return nil, e
		}
		d, p, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		in, e := service(ctx, svc, p, c)
		if e != nil {
			return nil, e
		}
		in.QoS = q
		id, answer, err := svc.InvokeService(ctx, d, in)
		if err != nil {
			return nil, downlinkErr(err)
		}
		data := pop.Object{}
		if in.Sync {
			data = append(data, pop.Field{Name: "Result", Value: serviceResult(answer, wholeReply)})
		}
		data = append(data, pop.Field{Name: "MessageId", Value: id})
		return pop.Object{{Name: "Data", Value: data}}, nil
	}
}

// serviceResult is Data.Result: the JSON text of the reply's data, or
// the whole reply (docs/fidelity.md, things §2.3: the sources disagree).
func serviceResult(answer []byte, whole bool) string {
	if whole {
		return string(answer)
	}
	var r struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(answer, &r) != nil || len(r.Data) == 0 {
		return string(answer)
	}
	var b bytes.Buffer
	if json.Compact(&b, r.Data) != nil {
		return string(r.Data)
	}
	return b.String()
}

// invokeThingsService calls a service on every named online device,
// always asynchronously.
func invokeThingsService(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		q, p, names, found, e := manyDevices(c, st)
		if e != nil {
			return nil, e
		}
		in, e := service(ctx, svc, p, c)
		if e != nil {
			return nil, e
		}
		in.Sync, in.QoS = false, q
		for _, n := range names {
			if d, ok := found[n]; ok && d.Status == iot.DeviceOnline {
				// One device's failure must not fail the call after others
				// were sent it; it is logged, and the rest still go.
				if _, _, err := svc.InvokeService(ctx, d, in); err != nil && !errors.Is(err, things.ErrOffline) {
					svc.Logger().Error("InvokeThingsService", "requestId", c.RequestID, "deviceName", n, "err", err)
				}
			}
		}
		return pop.Object{}, nil
	}
}

// messageContent decodes a base64 MessageContent of at most limit bytes.
func messageContent(c *pop.Call, name string, limit int) ([]byte, error) {
	raw := c.Params[name]
	if raw == "" {
		return nil, ErrNullMessageContent
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(raw); err != nil {
			return nil, ErrNotBase64
		}
	}
	if len(b) > limit {
		return nil, ErrMessageTooLarge
	}
	return b, nil
}

// pubTopic checks a Pub topic: a custom topic of a device of the product
// (/{pk}/{dn}/user/…) or a broadcast topic of it (/broadcast/{pk}/…).
func pubTopic(pk, topic string) bool {
	if strings.ContainsAny(topic, "+#") || strings.Contains(topic, "//") || strings.HasSuffix(topic, "/") {
		return false
	}
	if rest, ok := strings.CutPrefix(topic, "/broadcast/"+pk+"/"); ok {
		return rest != ""
	}
	rest, ok := strings.CutPrefix(topic, "/"+pk+"/")
	if !ok {
		return false
	}
	dn, after, ok := strings.Cut(rest, "/")
	return ok && iot.ValidDeviceName(dn) && strings.HasPrefix(after, "user/") && len(after) > len("user/")
}

// pub publishes raw bytes to a custom or broadcast topic's subscribers.
func pub(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		q, e := qos(c)
		if e != nil {
			return nil, e
		}
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		topic := c.Params["TopicFullName"]
		if !pubTopic(p.ProductKey, topic) {
			return nil, ErrInvalidTopicName
		}
		if len(c.ObjectList("UserProp")) > maxUserProperties {
			return nil, ErrInvalidFormattedParameter
		}
		payload, e := messageContent(c, "MessageContent", maxPubBytes)
		if e != nil {
			return nil, e
		}
		mid := svc.Pub(ctx, c.AccessKeyID, p.ProductKey, topic, payload, q, c.RequestID)
		return pop.Object{{Name: "MessageId", Value: strconv.FormatInt(mid, 10)}}, nil
	}
}

// pubBroadcast sends raw bytes to every online device of the product, or
// to a broadcast topic's subscribers.
func pubBroadcast(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		topic := c.Params["TopicFullName"]
		if topic != "" && !strings.HasPrefix(topic, "/broadcast/"+p.ProductKey+"/") || !pubTopic(p.ProductKey, orBroadcast(topic, p.ProductKey)) {
			return nil, ErrInvalidTopicName
		}
		payload, e := messageContent(c, "MessageContent", maxBroadcastBytes)
		if e != nil {
			return nil, e
		}
		var mid int64
		if topic != "" {
			mid = svc.Pub(ctx, c.AccessKeyID, p.ProductKey, topic, payload, 0, c.RequestID)
		} else {
			devs, err := st.OnlineDevices(ctx, c.AccessKeyID, p.ProductKey)
			if err != nil {
				return nil, err
			}
			mid = svc.Broadcast(ctx, devs, payload, c.RequestID)
		}
		return pop.Object{{Name: "MessageId", Value: mid}}, nil
	}
}

func orBroadcast(topic, pk string) string {
	if topic == "" {
		return "/broadcast/" + pk + "/all"
	}
	return topic
}

// rRPC sends raw bytes to a device and waits for its raw answer; offline
// and timeout are answers (RrpcCode), not errors.
func rRPC(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		timeout, err := pop.ParseInt(c.Params["Timeout"])
		if err != nil || timeout < minRRpcTimeout || timeout > maxRRpcTimeout {
			return nil, ErrInvalidTimeout
		}
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		topic := c.Params["Topic"]
		if topic != "" && !strings.HasPrefix(topic, "/"+d.ProductKey+"/"+d.DeviceName+"/user/") {
			return nil, ErrInvalidTopicName
		}
		payload, e := messageContent(c, "RequestBase64Byte", maxPubBytes)
		if e != nil {
			return nil, e
		}
		if d.Status == iot.DeviceUnactive {
			return nil, ErrInactiveDevice
		}
		code, answer, mid := svc.RRpc(ctx, d, topic, payload, time.Duration(timeout)*time.Millisecond, c.RequestID)
		out := pop.Object{{Name: "MessageId", Value: mid}, {Name: "RrpcCode", Value: code}}
		if code == things.RRpcSuccess {
			out = append(out, pop.Field{Name: "PayloadBase64Byte", Value: base64.StdEncoding.EncodeToString(answer)})
		}
		return out, nil
	}
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
