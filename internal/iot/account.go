// Package iot is the emulator's domain core: accounts, products, devices
// and batches, their rules (names, quotas, identifiers) and their state
// machines (a batch's settlement, a device's status). It knows nothing of
// HTTP, SQL or MQTT: the RPC actions, the store and the device broker all
// apply the same rules from here.
package iot

import "errors"

// Account is one AccessKey pair and the IoT instances it may address.
type Account struct {
	AccessKeyID     string
	AccessKeySecret string
	// SecurityToken, when set, is the STS token the account's requests must carry.
	SecurityToken string
	// Instances lists the Enterprise instance ids besides the public one ("").
	Instances []string
}

// HasInstance reports whether the account may address the instance; the
// public instance ("") always exists.
func (a Account) HasInstance(id string) bool {
	if id == "" {
		return true
	}
	for _, in := range a.Instances {
		if in == id {
			return true
		}
	}
	return false
}

// Seed is one account with the products and devices it starts with, as a
// fixture describes it. Empty secrets and ids are generated when stored.
type Seed struct {
	Account  Account
	Products []Product
	Devices  []Device
}

// Errors of the domain, returned by the store and compared with errors.Is.
var (
	// ErrNotFound means the thing does not exist for this account.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule (a name within its product or
	// instance, a key within its account) was hit.
	ErrConflict = errors.New("already exists")
	// ErrState means the thing is not in the state the operation needs.
	ErrState = errors.New("wrong state")
	// ErrLimit means a documented quota (products per instance, devices
	// per product) is reached.
	ErrLimit = errors.New("quota reached")
	// ErrHasDevices means a product cannot be deleted while it has devices.
	ErrHasDevices = errors.New("product has devices")
)
