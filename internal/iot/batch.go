package iot

import (
	"fmt"
	"time"
)

// Batch statuses, as QueryBatchRegisterDeviceStatus reports them.
const (
	StatusCheck         = "CHECK"
	StatusCheckSuccess  = "CHECK_SUCCESS"
	StatusCheckFailed   = "CHECK_FAILED"
	StatusCreate        = "CREATE"
	StatusCreateSuccess = "CREATE_SUCCESS"
	StatusCreateFailed  = "CREATE_FAILED"
)

// Batch kinds.
const (
	// KindNames is a batch of caller-chosen names (BatchCheckDeviceNames).
	KindNames = "names"
	// KindRandom is a batch of generated names (BatchRegisterDevice).
	KindRandom = "random"
)

// Per-name reasons of a failed batch.
const (
	// MsgNameExists: the name exists in the product when the batch is checked or created.
	MsgNameExists = "The device name already exists."
	// MsgQuota: creating the device would pass the product's device quota.
	MsgQuota = "The device total number beyond limit."
)

// Documented limits of the batch APIs (docs/fidelity.md, apis §1).
const (
	// MaxBatchNames is how many names one BatchCheckDeviceNames keeps;
	// extra names are dropped, not refused.
	MaxBatchNames = 10_000
	// MaxBatchCount is the largest Count of BatchRegisterDevice.
	MaxBatchCount = 10_000
)

// Batch is one application (ApplyId) of batch registration.
type Batch struct {
	ApplyID     int64
	AccessKeyID string
	InstanceID  string
	ProductKey  string
	Kind        string
	Status      string
	Count       int
	// Due is when the worker settles the transient state; nil waits for an
	// explicit advance (manual progression or polls).
	Due *time.Time
	// PollsLeft counts status queries still to come before the batch moves
	// on; nil when polling does not drive this batch.
	PollsLeft *int
	Created   time.Time
	Updated   time.Time
	// Failed counts names that failed check or creation.
	Failed int
	// Devices counts the devices the batch created.
	Devices int
}

// Transient reports whether the batch waits for the worker.
func (b Batch) Transient() bool { return b.Status == StatusCheck || b.Status == StatusCreate }

// Settled reports whether the batch has reached one of its four end states
// of a phase, whose names QueryBatchRegisterDeviceStatus lists.
func (b Batch) Settled() bool {
	switch b.Status {
	case StatusCheckFailed, StatusCreateFailed, StatusCheckSuccess, StatusCreateSuccess:
		return true
	}
	return false
}

// Failure reports whether the batch ended its phase with failed names.
func (b Batch) Failure() bool { return b.Status == StatusCheckFailed || b.Status == StatusCreateFailed }

// BatchName is one name of a batch with its outcome.
type BatchName struct {
	DeviceName string
	Nickname   string
	// ErrorMsg is empty for a name that passed (so far).
	ErrorMsg string
}

// BatchDevice is what a page of a batch's devices (QueryPageByApplyId)
// shows of each: a quarter of a Device's size, which is what copying a
// cached page costs.
type BatchDevice struct {
	DeviceID, DeviceName, DeviceSecret, IotID string
}

// NameFailure is one name that fails as a batch settles.
type NameFailure struct {
	// Index is the name's position in the batch.
	Index int
	Msg   string
}

// Settlement is the outcome of ending a batch's transient state, for the
// store to apply in one transaction.
type Settlement struct {
	// Status is the batch's new status.
	Status string
	// Failed counts every failed name, earlier failures included.
	Failed int
	// Failures are the names that fail now, in batch order.
	Failures []NameFailure
	// Create lists, in batch order, the indexes of the names to create as
	// devices (a CREATE batch only).
	Create []int
}

// Settle decides how a transient batch ends: a CHECK batch becomes
// CHECK_SUCCESS or CHECK_FAILED (a name already in the product, or listed
// in forced, fails); a CREATE batch creates every name still free and not
// forced, up to the quota (0: none), and becomes CREATE_SUCCESS or
// CREATE_FAILED. existing holds the product's names among the batch's;
// deviceCount is how many devices the product has now. ErrState when the
// batch is not transient.
func Settle(b Batch, names []BatchName, existing map[string]bool, forced map[string]string, deviceCount, quota int) (Settlement, error) {
	if !b.Transient() {
		return Settlement{}, fmt.Errorf("batch %d is %s: %w", b.ApplyID, b.Status, ErrState)
	}
	var out Settlement
	taken := make(map[string]bool, len(existing))
	for n := range existing {
		taken[n] = true
	}
	creating := b.Status == StatusCreate
	for i, n := range names {
		if n.ErrorMsg != "" {
			out.Failed++
			continue
		}
		msg := ""
		if m, ok := forced[n.DeviceName]; ok {
			msg = m
		} else if taken[n.DeviceName] {
			msg = MsgNameExists
		} else if creating && quota > 0 && deviceCount+len(out.Create) >= quota {
			msg = MsgQuota
		}
		if msg != "" {
			out.Failed++
			out.Failures = append(out.Failures, NameFailure{Index: i, Msg: msg})
			continue
		}
		if creating {
			taken[n.DeviceName] = true
			out.Create = append(out.Create, i)
		}
	}
	switch {
	case !creating && out.Failed > 0:
		out.Status = StatusCheckFailed
	case !creating:
		out.Status = StatusCheckSuccess
	case out.Failed > 0:
		out.Status = StatusCreateFailed
	default:
		out.Status = StatusCreateSuccess
	}
	return out, nil
}
