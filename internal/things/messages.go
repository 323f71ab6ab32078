package things

import (
	"context"
	"encoding/base64"
	"time"
	"unicode/utf8"

	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// MessageView is a message-log entry as the admin API, the event stream
// and emutest show it: the payload as text, or base64 when it is not
// UTF-8.
type MessageView struct {
	Time        time.Time `json:"time"`
	Direction   string    `json:"direction"`
	AccessKeyID string    `json:"accessKeyId"`
	ProductKey  string    `json:"productKey"`
	DeviceName  string    `json:"deviceName"`
	Topic       string    `json:"topic"`
	QoS         int       `json:"qos"`
	Payload     string    `json:"payload"`
	// Encoding is "text" or "base64".
	Encoding  string `json:"encoding"`
	MessageID string `json:"messageId,omitempty"`
	// RequestID is the RPC request that caused a downlink.
	RequestID string `json:"requestId,omitempty"`
	Virtual   bool   `json:"virtual,omitempty"`
}

// View is how a message is shown.
func View(m iot.Message) MessageView {
	v := MessageView{Time: m.Time, Direction: m.Direction, AccessKeyID: m.AccessKeyID, ProductKey: m.ProductKey, DeviceName: m.DeviceName,
		Topic: m.Topic, QoS: int(m.QoS), MessageID: m.MessageID, RequestID: m.RequestID, Virtual: m.Virtual}
	if utf8.Valid(m.Payload) {
		v.Payload, v.Encoding = string(m.Payload), "text"
	} else {
		v.Payload, v.Encoding = base64.StdEncoding.EncodeToString(m.Payload), "base64"
	}
	return v
}

// logMessage records a message (without waiting for the store: see
// store.LogMessage) and announces it on the bus; a store failure is
// logged, since the message itself went through.
func (s *Service) logMessage(m iot.Message) {
	m.Time = s.cfg.Now().UTC()
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	topic := m.Topic
	s.st.LogMessage(m, s.cfg.MessageLog, func(err error) { s.log.Error("message log", "topic", topic, "err", err) })
	s.cfg.Bus.Publish(events.Event{Time: m.Time, Kind: events.Message, Data: View(m)})
}

// Messages lists the message log, oldest first.
func (s *Service) Messages(ctx context.Context, f iot.MessageFilter) ([]MessageView, error) {
	ms, err := s.st.Messages(ctx, f, s.cfg.MessageLog)
	if err != nil {
		return nil, err
	}
	out := make([]MessageView, len(ms))
	for i, m := range ms {
		out[i] = View(m)
	}
	return out, nil
}

// ClearMessages empties the message log.
func (s *Service) ClearMessages(ctx context.Context) (int, error) { return s.st.ClearMessages(ctx) }
