package iot

import (
	"fmt"
	"time"
)

// Device is one device of a product. Names are unique within the product,
// whichever API created the device.
type Device struct {
	AccessKeyID  string
	ProductKey   string
	DeviceName   string
	DeviceSecret string
	DeviceID     string
	IotID        string
	Nickname     string
	Status       string
	ApplyID      int64
	Created      time.Time
	Modified     time.Time
	// Activated is the first accepted login (zero: never activated);
	// LastOnline the latest, from IPAddress.
	Activated  time.Time
	LastOnline time.Time
	IPAddress  string
	// StatusChanged is when Status last changed (Created until then).
	StatusChanged time.Time
}

// Device statuses, as the RPC API reports them (docs/fidelity.md, devices §6.1).
const (
	// DeviceUnactive: registered, never connected.
	DeviceUnactive = "UNACTIVE"
	// DeviceOnline: activated and connected.
	DeviceOnline = "ONLINE"
	// DeviceOffline: activated, not connected.
	DeviceOffline = "OFFLINE"
	// DeviceDisabled: disabled; it cannot connect until enabled.
	DeviceDisabled = "DISABLE"
)

// DeviceEvent is something that changes a device's status.
type DeviceEvent int

// The events of the device status machine.
const (
	// Connect is an accepted login.
	Connect DeviceEvent = iota
	// Disconnect is a DISCONNECT, a closed socket, a keep-alive expiry or a kick.
	Disconnect
	// Disable is DisableThing.
	Disable
	// Enable is EnableThing.
	Enable
)

func (e DeviceEvent) String() string {
	switch e {
	case Connect:
		return "connect"
	case Disconnect:
		return "disconnect"
	case Disable:
		return "disable"
	case Enable:
		return "enable"
	}
	return fmt.Sprintf("DeviceEvent(%d)", int(e))
}

// NextStatus is the device status machine: the status after ev, given the
// status now and whether the device was ever activated. A disabled device
// cannot connect (ErrState); enabling returns it to OFFLINE, or to
// UNACTIVE if it never connected [INFERRED]. Events that change nothing
// (a disconnect of an offline device, enabling an enabled one) keep the
// status.
func NextStatus(status string, activated bool, ev DeviceEvent) (string, error) {
	switch ev {
	case Connect:
		if status == DeviceDisabled {
			return status, fmt.Errorf("a disabled device cannot connect: %w", ErrState)
		}
		return DeviceOnline, nil
	case Disconnect:
		if status == DeviceOnline {
			return DeviceOffline, nil
		}
		return status, nil
	case Disable:
		return DeviceDisabled, nil
	case Enable:
		if status != DeviceDisabled {
			return status, nil
		}
		if activated {
			return DeviceOffline, nil
		}
		return DeviceUnactive, nil
	}
	return status, fmt.Errorf("unknown device event %v: %w", ev, ErrState)
}

// FillDevice mints what was left empty (name, secret, ids, status) and
// stamps Created and Modified (to the millisecond the store keeps).
func FillDevice(d *Device, now time.Time) {
	if d.DeviceName == "" {
		d.DeviceName = NewDeviceName()
	}
	if d.DeviceSecret == "" {
		d.DeviceSecret = NewDeviceSecret()
	}
	if d.DeviceID == "" || d.IotID == "" {
		id, iot := NewDeviceIDs()
		if d.DeviceID == "" {
			d.DeviceID = id
		}
		if d.IotID == "" {
			d.IotID = iot
		}
	}
	if d.Status == "" {
		d.Status = DeviceUnactive
	}
	if d.Created.IsZero() {
		d.Created = now
	}
	d.Created = time.UnixMilli(d.Created.UnixMilli()).UTC()
	d.Modified = d.Created
}

// DeviceQuota is the per-product device quota: override when positive,
// else the documented one (IoT Platform "Limits" page, doc 30527):
// 3,000,000 in cn-shanghai, 1,000,000 in the other regions.
func DeviceQuota(region string, override int) int {
	if override > 0 {
		return override
	}
	if region == "cn-shanghai" {
		return 3_000_000
	}
	return 1_000_000
}
