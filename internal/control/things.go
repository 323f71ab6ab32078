package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/journal"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// AttachThings names the cloud-device loop the device methods drive.
func (p *Plane) AttachThings(t *things.Service) { p.things = t }

// Things is the cloud-device loop.
func (p *Plane) Things() *things.Service { return p.things }

// device finds a device by ProductKey and DeviceName, in the given account
// or, when accessKeyID is empty, the first account that has it.
func (p *Plane) device(ctx context.Context, accessKeyID, productKey, deviceName string) (iot.Device, error) {
	devs, err := p.st.DevicesByLogin(ctx, productKey, deviceName)
	if err != nil {
		return iot.Device{}, err
	}
	for _, d := range devs {
		if accessKeyID == "" || d.AccessKeyID == accessKeyID {
			return d, nil
		}
	}
	return iot.Device{}, fmt.Errorf("no device %s/%s: %w", productKey, deviceName, iot.ErrNotFound)
}

// downlinkInput turns why a downlink cannot be sent into iot.ErrState,
// which the admin API answers with 409.
func downlinkInput(err error) error {
	switch {
	case errors.Is(err, things.ErrInactive), errors.Is(err, things.ErrOffline), errors.Is(err, things.ErrDisabled), errors.Is(err, things.ErrTimeout):
		return fmt.Errorf("%v: %w", err, iot.ErrState)
	}
	return err
}

// SetVirtual makes a device virtual: ONLINE without a socket (unless
// cfg.Online is false), answering downlinks as configured. A live MQTT
// connection of the device is ended first.
func (p *Plane) SetVirtual(ctx context.Context, accessKeyID, productKey, deviceName string, cfg things.VirtualConfig) (things.VirtualConfig, error) {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return cfg, err
	}
	if p.devices != nil {
		p.devices.Kick(d.AccessKeyID, d.IotID, "replaced by a virtual device")
		if d, err = p.device(ctx, d.AccessKeyID, productKey, deviceName); err != nil {
			return cfg, err
		}
	}
	out, err := p.things.SetVirtual(ctx, d, cfg)
	if errors.Is(err, things.ErrInput) {
		return out, inputErr("%v", err)
	}
	if err == nil {
		action := "disconnect"
		if cfg.Online {
			action = "login"
		}
		p.journalVirtual(d, action)
	}
	return out, downlinkInput(err)
}

// journalVirtual records a virtual device's login or logout as the broker
// records a real one's, so the journal and the event stream show it.
func (p *Plane) journalVirtual(d iot.Device, action string) {
	p.Journal(journal.Entry{Time: p.cfg.Now().UTC(), Protocol: journal.MQTT, Action: action, AccessKeyID: d.AccessKeyID,
		Params: map[string]string{"productKey": d.ProductKey, "deviceName": d.DeviceName, "virtual": "true"}})
}

// RemoveVirtual takes a virtual device offline; iot.ErrNotFound when the
// device is not virtual.
func (p *Plane) RemoveVirtual(ctx context.Context, accessKeyID, productKey, deviceName string) error {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return err
	}
	ok, err := p.things.RemoveVirtual(ctx, d)
	if err == nil && !ok {
		return fmt.Errorf("device %s/%s is not virtual: %w", productKey, deviceName, iot.ErrNotFound)
	}
	if err == nil {
		p.journalVirtual(d, "disconnect")
	}
	return err
}

// PublishAs publishes as the device (for example a property post), as if
// it had sent the message over MQTT.
func (p *Plane) PublishAs(ctx context.Context, accessKeyID, productKey, deviceName, topic string, payload []byte) error {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return err
	}
	if err := p.things.PublishAs(d, topic, payload); err != nil {
		return inputErr("topic %q: %v", topic, err)
	}
	return nil
}

// SetProperty sends a property set to the device, as SetDeviceProperty
// does, and returns its message id.
func (p *Plane) SetProperty(ctx context.Context, accessKeyID, productKey, deviceName string, items json.RawMessage) (string, error) {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return "", err
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(items, &obj) != nil || len(obj) == 0 {
		return "", inputErr("items must be a non-empty JSON object")
	}
	id, err := p.things.SetProperty(ctx, d, items, 0, "")
	return id, downlinkInput(err)
}

// InvokeService calls a service of the device, as InvokeThingService
// does: sync services (per the thing model) wait for the reply.
func (p *Plane) InvokeService(ctx context.Context, accessKeyID, productKey, deviceName, identifier string, args json.RawMessage) (string, json.RawMessage, error) {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return "", nil, err
	}
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	if !json.Valid(args) {
		return "", nil, inputErr("args must be a JSON object")
	}
	in := things.Invocation{Identifier: identifier, Name: identifier, Args: args}
	m, err := p.things.Model(ctx, d.AccessKeyID, d.ProductKey)
	if err != nil {
		return "", nil, err
	}
	if m != nil {
		s, ok := m.Service(identifier)
		if !ok {
			return "", nil, fmt.Errorf("the thing model of %s has no service %q: %w", productKey, identifier, iot.ErrNotFound)
		}
		in.Name, in.Sync = s.Name, s.CallType == "sync"
	}
	id, reply, err := p.things.InvokeService(ctx, d, in)
	if err != nil {
		return id, nil, downlinkInput(err)
	}
	if reply != nil && !json.Valid(reply) {
		b, _ := json.Marshal(string(reply))
		reply = b
	}
	return id, reply, nil
}

// Deliver publishes to the device's topic, as Pub does (or, for a /sys
// topic, directly to the device), and returns the message id.
func (p *Plane) Deliver(ctx context.Context, accessKeyID, productKey, deviceName, topic string, payload []byte, qos byte) (string, error) {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return "", err
	}
	if qos > 1 {
		return "", inputErr("qos must be 0 or 1")
	}
	if !iot.TopicAllowed(d.ProductKey, d.DeviceName, topic, false) {
		return "", inputErr("topic %q is not one the device %s/%s may receive", topic, productKey, deviceName)
	}
	return fmt.Sprint(p.things.Pub(ctx, d.AccessKeyID, d.ProductKey, topic, payload, qos, "")), nil
}

// PropertyView is a device's latest value of one property.
type PropertyView struct {
	Identifier string `json:"identifier"`
	Name       string `json:"name"`
	DataType   string `json:"dataType"`
	Unit       string `json:"unit,omitempty"`
	Value      string `json:"value"`
	Time       string `json:"time"`
}

// Properties lists the device's latest reported values, in thing-model
// order (unreported properties left out), else by identifier.
func (p *Plane) Properties(ctx context.Context, accessKeyID, productKey, deviceName string) ([]PropertyView, error) {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return nil, err
	}
	m, err := p.things.Model(ctx, d.AccessKeyID, d.ProductKey)
	if err != nil {
		return nil, err
	}
	latest, err := p.st.LatestProperties(ctx, d.IotID)
	if err != nil {
		return nil, err
	}
	out := []PropertyView{}
	add := func(id, name, unit string) {
		if v, ok := latest[id]; ok {
			out = append(out, PropertyView{Identifier: id, Name: name, DataType: v.DataType, Unit: unit, Value: v.Value, Time: v.Time.UTC().Format("2006-01-02T15:04:05.000Z")})
			delete(latest, id)
		}
	}
	if m != nil {
		for _, pr := range m.Properties {
			add(pr.Identifier, pr.Name, pr.DataType.Unit())
		}
	}
	for _, id := range sortedIDs(latest) {
		add(id, id, "")
	}
	return out, nil
}

func sortedIDs(m map[string]iot.PropertyValue) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ThingModel returns a product's effective thing model (nil: none).
func (p *Plane) ThingModel(ctx context.Context, accessKeyID, productKey string) (*iot.ThingModel, error) {
	if accessKeyID == "" {
		ps, err := p.st.ProductsByKey(ctx, productKey)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			return nil, fmt.Errorf("no product %s: %w", productKey, iot.ErrNotFound)
		}
		accessKeyID = ps[0].AccessKeyID
	} else if _, err := p.st.Product(ctx, accessKeyID, productKey); err != nil {
		return nil, err
	}
	return p.things.Model(ctx, accessKeyID, productKey)
}

// Messages lists the message log, oldest first.
func (p *Plane) Messages(ctx context.Context, f iot.MessageFilter) ([]things.MessageView, error) {
	if f.Direction != "" && f.Direction != iot.Uplink && f.Direction != iot.Downlink {
		return nil, inputErr("direction %q: want up or down", f.Direction)
	}
	return p.things.Messages(ctx, f)
}

// ClearMessages empties the message log and returns how many entries it
// held.
func (p *Plane) ClearMessages(ctx context.Context) (int, error) { return p.things.ClearMessages(ctx) }

// seedThingModel is a fixture product's thing model as canonical TSL
// JSON, nil when it has none (the fixture was validated, so it parses).
func seedThingModel(p fixtures.Product) []byte {
	if len(p.ThingModel) == 0 || string(p.ThingModel) == "null" {
		return nil
	}
	m, err := iot.ParseThingModel(p.ThingModel)
	if err != nil {
		return nil
	}
	return m.JSON(p.ProductKey)
}
