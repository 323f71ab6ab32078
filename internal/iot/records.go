package iot

import "time"

// PropertyValue is one reported value of a device property: the latest
// one (QueryDevicePropertyStatus) or one point of its history.
type PropertyValue struct {
	Identifier string
	// DataType is the TSL type the value was stored as: the model's, or
	// the one inferred from the JSON for a product without a model.
	DataType string
	// Value is the value as the RPC API renders it (RenderValue).
	Value string
	// Time is the device's time for the value, else when it arrived.
	Time time.Time
}

// EventRecord is one event a device posted (QueryDeviceEventData).
type EventRecord struct {
	IotID      string
	Identifier string
	Name       string
	EventType  string
	// OutputData is the JSON text of the event's params.value.
	OutputData string
	Time       time.Time
}

// ServiceRecord is one service call and the device's reply
// (QueryDeviceServiceData).
type ServiceRecord struct {
	IotID      string
	Identifier string
	Name       string
	MessageID  string
	// InputData is the call's Args; OutputData the device's reply, empty
	// until it arrives.
	InputData  string
	OutputData string
	Time       time.Time
}

// DesiredValue is a desired property value (SetDeviceDesiredProperty).
type DesiredValue struct {
	Identifier string
	DataType   string
	// Value is nil once cleared.
	Value   *string
	Version int64
	Time    time.Time
}

// Directions of a device message.
const (
	Uplink   = "up"
	Downlink = "down"
)

// Message is one MQTT message to or from a device, as the message log
// keeps it.
type Message struct {
	Seq         int64
	AccessKeyID string
	Time        time.Time
	Direction   string
	ProductKey  string
	DeviceName  string
	Topic       string
	QoS         byte
	Payload     []byte
	// MessageID is the Alink id or the RPC MessageId the message carries.
	MessageID string
	// RequestID is the RPC request that caused a downlink.
	RequestID string
	// Virtual marks a message of a virtual device (no socket).
	Virtual bool
}

// MessageFilter selects message-log entries; empty fields match all.
type MessageFilter struct {
	AccessKeyID string
	ProductKey  string
	DeviceName  string
	Topic       string
	Direction   string
	// Limit keeps the newest Limit entries (0: all kept).
	Limit int
}

// HistoryQuery is a time-window page of a device's history.
type HistoryQuery struct {
	IotID string
	// Identifier narrows to one property, event or service ("" all, for
	// events and services).
	Identifier string
	// EventType narrows events (info, alert, error; "" all).
	EventType string
	// Start and End are inclusive bounds in ms.
	Start, End int64
	Asc        bool
	// Limit is the page size; the store returns up to Limit+1 rows so the
	// caller can tell whether a next page exists.
	Limit int
}

// FindParam finds a service's or event's parameter by identifier.
func FindParam(ps []Param, id string) (Param, bool) {
	for _, p := range ps {
		if p.Identifier == id {
			return p, true
		}
	}
	return Param{}, false
}
