package emulator

import (
	"sort"

	"github.com/iot-emulator/iot-emulator/internal/batch"
	"github.com/iot-emulator/iot-emulator/internal/control"
	"github.com/iot-emulator/iot-emulator/internal/faults"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/journal"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// Progression is the batch timing policy: how a batch leaves CHECK and CREATE.
type Progression = batch.Progression

// Progression modes.
const (
	// ProgressImmediate settles a batch as soon as the worker can.
	ProgressImmediate = batch.ProgressImmediate
	// ProgressDelay settles it after the check/create delay (the default).
	ProgressDelay = batch.ProgressDelay
	// ProgressManual waits for Advance or Fail (POST /_emulator/batches/{applyId}/advance).
	ProgressManual = batch.ProgressManual
	// ProgressPolls settles it after N status queries.
	ProgressPolls = batch.ProgressPolls
)

// ParseProgression reads "immediate", "delay", "manual" or "polls:N" (N ≥ 1).
func ParseProgression(s string) (Progression, error) { return batch.ParseProgression(s) }

// Action describes one served RPC action, as the action table declares it.
type Action struct {
	Name     string
	Required []string
	// QPS is the documented per-account limit; DeepQPS, when set, the
	// limit for deep pages (CurrentPage × PageSize ≥ 100,000).
	QPS, DeepQPS float64
}

func sortActions(a []Action) { sort.Slice(a, func(i, j int) bool { return a[i].Name < a[j].Name }) }

// Limit is one action's QPS limit in force, per account.
type Limit = pop.Limit

// The control plane's types, as its methods on Server take and return them.
type (
	// State is the emulator's whole state as GET /_emulator/state shows it.
	State = control.State
	// StateQuery narrows State.
	StateQuery = control.StateQuery
	// StateAccount is one account with its products and batches.
	StateAccount = control.StateAccount
	// StateProduct is one product.
	StateProduct = control.StateProduct
	// StateBatch is one batch with its counts.
	StateBatch = control.StateBatch
	// StateDevicePage is one page of devices.
	StateDevicePage = control.StateDevicePage
	// StateDevice is one device, secret included.
	StateDevice = control.StateDevice
	// FaultRule makes matching calls misbehave on purpose.
	FaultRule = faults.Rule
	// Fault is a rule as the fault list shows it.
	Fault = faults.Fault
	// JournalEntry is one answered RPC call.
	JournalEntry = journal.Entry
	// JournalFilter selects journal entries.
	JournalFilter = journal.Filter
	// VirtualDevice is how a virtual device behaves (ONLINE without a
	// socket, answering downlinks in process).
	VirtualDevice = things.VirtualConfig
	// ServiceReply is a virtual device's answer to one service.
	ServiceReply = things.ServiceReply
	// DeviceMessage is one message-log entry.
	DeviceMessage = things.MessageView
	// MessageFilter selects message-log entries.
	MessageFilter = iot.MessageFilter
	// PropertyView is one property of a device as the control plane shows it.
	PropertyView = control.PropertyView
)
