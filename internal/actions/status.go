package actions

import (
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// maxStateDevices is BatchGetDeviceState's largest list (docs/fidelity.md,
// things §4.2).
const maxStateDevices = 50

// getDeviceStatus reports a device's status and when it last changed.
func getDeviceStatus(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		d, _, e := findDevice(c.Context(), st, c)
		if e != nil {
			return nil, e
		}
		return pop.Object{{Name: "Data", Value: pop.Object{
			{Name: "Status", Value: d.Status},
			{Name: "Timestamp", Value: d.StatusChanged.UnixMilli()},
		}}}, nil
	}
}

// batchGetDeviceState reports up to 50 devices' statuses, named by IotId
// (any product of the account; wins when given) or by one product's
// names. Unknown devices are left out [INFERRED].
func batchGetDeviceState(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		if !account(c).HasInstance(c.InstanceID) {
			return nil, ErrInstanceNotFound
		}
		ids, names := c.List("IotId"), c.List("DeviceName")
		n := len(names)
		if len(ids) > 0 {
			n = len(ids)
		}
		switch {
		case n == 0:
			return nil, ErrNoneDeviceNameElement
		case n > maxStateDevices:
			return nil, ErrTooManyDeviceNames
		}
		var devs []iot.Device
		if len(ids) > 0 {
			for _, id := range ids {
				if !iot.ValidIotID(id) {
					return nil, ErrInvalidIoTID
				}
				d, err := st.DeviceByIotID(ctx, c.AccessKeyID, id)
				if err == nil {
					devs = append(devs, d)
				} else if !isNotFound(err) {
					return nil, err
				}
			}
		} else {
			for _, name := range names {
				if !iot.ValidDeviceName(name) {
					return nil, ErrInvalidNameInNameArray
				}
			}
			p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
			if e != nil {
				return nil, e
			}
			found, err := st.DevicesByName(ctx, c.AccessKeyID, p.ProductKey, names)
			if err != nil {
				return nil, err
			}
			seen := map[string]bool{}
			for _, name := range names {
				if d, ok := found[name]; ok && !seen[name] {
					seen[name] = true
					devs = append(devs, d)
				}
			}
		}
		list := make(pop.List, len(devs))
		for i, d := range devs {
			list[i] = pop.Object{
				{Name: "DeviceName", Value: d.DeviceName},
				{Name: "IotId", Value: d.IotID},
				{Name: "DeviceId", Value: d.DeviceID},
				{Name: "Status", Value: d.Status},
				{Name: "AsAddress", Value: d.IPAddress},
				{Name: "LastOnlineTime", Value: optTime(detailTime, d.LastOnline)},
				{Name: "Timestamp", Value: d.StatusChanged.UnixMilli()},
			}
		}
		return pop.Object{{Name: "DeviceStatusList", Value: pop.Object{{Name: "DeviceStatus", Value: list}}}}, nil
	}
}

// enableThing returns a disabled device to OFFLINE (UNACTIVE if it never
// logged in); enabling an enabled device changes nothing [INFERRED].
func enableThing(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		if _, err := st.ApplyDeviceEvent(ctx, d.AccessKeyID, d.IotID, iot.Enable, ""); err != nil {
			if isNotFound(err) {
				return nil, ErrNotExistedDevice
			}
			return nil, err
		}
		return pop.Object{}, nil
	}
}

// disableThing disables a device and ends its live connection; it cannot
// log in until enabled.
func disableThing(st *store.Store, conns Connections, svc *things.Service) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		// Disabled first, so a login racing the kick is refused.
		if _, err := st.ApplyDeviceEvent(ctx, d.AccessKeyID, d.IotID, iot.Disable, ""); err != nil {
			if isNotFound(err) {
				return nil, ErrNotExistedDevice
			}
			return nil, err
		}
		conns.Kick(d.AccessKeyID, d.IotID, "device disabled")
		svc.DropVirtual(d) // a disabled device is no one's to simulate
		return pop.Object{}, nil
	}
}

// queryDeviceStatistics counts the account's devices in the instance, or
// one product's: all, ever activated, online now. The keys are
// lower-camel in both formats, as documented.
func queryDeviceStatistics(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		if !account(c).HasInstance(c.InstanceID) {
			return nil, ErrInstanceNotFound
		}
		pk := c.Params["ProductKey"]
		if pk != "" {
			if _, e := findProduct(ctx, st, c, pk); e != nil {
				return nil, e
			}
		}
		n, err := st.CountDevices(ctx, c.AccessKeyID, c.InstanceID, pk)
		if err != nil {
			return nil, err
		}
		return pop.Object{{Name: "Data", Value: pop.Object{
			{Name: "deviceCount", Value: n.Devices},
			{Name: "activeCount", Value: n.Active},
			{Name: "onlineCount", Value: n.Online},
		}}}, nil
	}
}
