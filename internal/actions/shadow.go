package actions

import (
	"encoding/json"
	"errors"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// Limits of the shadow and desired-property actions (docs/fidelity.md,
// things §6).
const (
	maxShadowBytes  = 16 << 10
	maxDesiredItems = 10
)

// shadowErr maps a refused shadow request (devices §8.7 codes) to the
// RPC API's documented errors.
func shadowErr(err error) error {
	var se *iot.ShadowError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case 400:
		return ErrShadowNotJSON
	case 401:
		return ErrShadowNoMethod
	case 402:
		return ErrShadowNoState
	case 403, 409:
		return ErrShadowVersion.WithMessage("The version value of device shadow is not correct: %s", se.Message)
	case 404, 405:
		return ErrShadowNoDesired
	case 406:
		return ErrShadowMethodNotUpdate
	case 407:
		return ErrNullShadowMessage
	case 408:
		return ErrShadowTooManyDesired
	}
	return ErrUpdateShadowFailed.WithMessage("Failed to update device shadow: %s", se.Message)
}

// updateDeviceShadow updates a shadow's desired state from the cloud
// side; an online device is pushed the new state.
func updateDeviceShadow(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		msg := c.Params["ShadowMessage"]
		switch {
		case msg == "":
			return nil, ErrNullShadowMessage
		case len(msg) > maxShadowBytes:
			return nil, ErrShadowTooLong
		}
		delta, ok := optionalBool(c, "DeltaUpdate", false)
		if !ok {
			return nil, ErrInvalidFormattedParameter
		}
		req, err := iot.ParseShadowRequest([]byte(msg))
		if err != nil {
			return nil, shadowErr(err)
		}
		switch {
		case req.Method != "update":
			return nil, ErrShadowMethodNotUpdate
		case req.Desired == nil && !req.DesiredNull:
			return nil, ErrShadowNoDesired
		case !req.HasVersion:
			return nil, ErrShadowNoVersion
		}
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		if err := svc.UpdateShadow(ctx, d, []byte(msg), delta, c.RequestID); err != nil {
			return nil, shadowErr(err)
		}
		return pop.Object{}, nil
	}
}

// getDeviceShadow answers a device's shadow document.
func getDeviceShadow(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		doc, err := svc.Shadow(ctx, d)
		if err != nil {
			return nil, err
		}
		return pop.Object{{Name: "ShadowMessage", Value: string(doc)}}, nil
	}
}

// setDeviceDesiredProperty stores desired values (read-write properties
// of the model; null clears one) under optimistic versions, and sends them
// to an online device as a property set.
func setDeviceDesiredProperty(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		items, ok := decodeObject(c.Params["Items"])
		if !ok || len(items) == 0 {
			return nil, ErrInvalidFormattedParameter
		}
		if len(items) > maxDesiredItems {
			return nil, ErrTooManyIdentifiers
		}
		var versions map[string]int64
		if err := json.Unmarshal([]byte(c.Params["Versions"]), &versions); err != nil || versions == nil {
			return nil, ErrInvalidFormattedParameter
		}
		d, p, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		m, err := svc.Model(ctx, p.AccessKeyID, p.ProductKey)
		if err != nil {
			return nil, err
		}
		if m == nil && svc.Strict() {
			return nil, ErrThingModelStrictUnknown
		}
		now := c.Received
		var vals []iot.DesiredValue
		set := map[string]any{}
		for _, k := range sortedKeys(items) {
			v := items[k]
			dt := iot.InferType(v)
			if m != nil {
				prop, ok := m.Property(k)
				switch {
				case !ok:
					return nil, ErrQueryPropertyNotFound
				case prop.AccessMode == "r":
					return nil, ErrCanNotSetReadOnly
				case v != nil && prop.DataType.Check(v, false) != nil:
					return nil, ErrInvalidFormattedParameter
				}
				dt = prop.DataType.Type
			}
			dv := iot.DesiredValue{Identifier: k, DataType: dt, Time: now}
			if v != nil {
				text := iot.RenderValue(v)
				dv.Value = &text
				set[k] = v
			}
			vals = append(vals, dv)
		}
		next, err := st.SetDesired(ctx, d.IotID, vals, versions)
		switch {
		case errors.Is(err, iot.ErrState):
			return nil, ErrDesiredVersionMismatch
		case isNotFound(err):
			return nil, ErrNotExistedDevice
		case err != nil:
			return nil, err
		}
		id := ""
		if len(set) > 0 && d.Status == iot.DeviceOnline {
			raw, _ := json.Marshal(set)
			id, _ = svc.SetProperty(ctx, d, raw, 0, c.RequestID)
		}
		vb, _ := json.Marshal(next)
		return pop.Object{{Name: "Data", Value: pop.Object{{Name: "MessageId", Value: id}, {Name: "Versions", Value: string(vb)}}}}, nil
	}
}

// queryDeviceDesiredProperty lists desired values: the identifiers asked
// for, else every desired value set (with a model: its read-write
// properties that have one).
func queryDeviceDesiredProperty(st *store.Store, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		ids := c.List("Identifier")
		if len(ids) > maxDesiredItems {
			return nil, ErrTooManyIdentifiers
		}
		d, p, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		m, err := svc.Model(ctx, p.AccessKeyID, p.ProductKey)
		if err != nil {
			return nil, err
		}
		desired, err := st.DesiredProperties(ctx, d.IotID)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			ids = sortedKeys(desired)
		}
		list := pop.List{}
		for _, id := range ids {
			dv, ok := desired[id]
			name, unit, dt := id, "", dv.DataType
			if m != nil {
				prop, found := m.Property(id)
				if !found {
					return nil, ErrQueryPropertyNotFound
				}
				name, unit, dt = prop.Name, prop.DataType.Unit(), prop.DataType.Type
			}
			if !ok {
				continue
			}
			o := pop.Object{{Name: "Identifier", Value: id}, {Name: "Name", Value: name}, {Name: "DataType", Value: dt}, {Name: "Unit", Value: unit},
				{Name: "Time", Value: msString(dv.Time.UnixMilli())}}
			if dv.Value != nil {
				o = append(o, pop.Field{Name: "Value", Value: *dv.Value})
			}
			o = append(o, pop.Field{Name: "Version", Value: dv.Version})
			list = append(list, o)
		}
		return pop.Object{{Name: "Data", Value: pop.Object{{Name: "List", Value: pop.Object{{Name: "DesiredPropertyInfo", Value: list}}}}}}, nil
	}
}
