// Package things is the cloud ↔ device loop: what devices report
// (properties, events, service replies, shadows) arriving from the broker
// or from virtual devices, checked against the product's thing model and
// stored; and what applications send them (property sets, service calls,
// Pub, RRpc, shadow pushes), delivered through the broker or answered by
// a virtual device. Every message either way goes to the message log.
// It knows nothing of MQTT or HTTP: the broker is a Transport, the RPC
// actions and the control plane call its methods.
package things

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// Defaults of the bounds.
const (
	// DefaultPropertyHistory is how many property points a device keeps.
	DefaultPropertyHistory = 10000
	// DefaultMessageLog is how many messages the message log keeps.
	DefaultMessageLog = 10000
	// SyncTimeout is how long a sync service call waits for the device
	// (docs/fidelity.md, things §2.3).
	SyncTimeout = 8 * time.Second
)

// Config is how the loop behaves.
type Config struct {
	// Strict refuses identifiers the thing model does not declare, also
	// for products without a model (--thing-model strict).
	Strict bool
	// DropBadValues answers a property post 200 and drops the values that
	// break the model, instead of answering the first one's Alink code.
	DropBadValues bool
	// PropertyHistory bounds each device's property, event and service
	// history (oldest dropped first); 0 is DefaultPropertyHistory.
	PropertyHistory int
	// MessageLog bounds the message log; 0 is DefaultMessageLog.
	MessageLog int
	// SyncTimeout bounds sync service calls; 0 is SyncTimeout.
	SyncTimeout time.Duration
	Bus         *events.Bus
	Logger      *slog.Logger
	Now         func() time.Time
}

// Transport is the device side's live connections (the MQTT broker).
type Transport interface {
	// Deliver sends a message to a device's live connection: through the
	// broker's subscriptions when the device subscribed to the topic
	// (QoS 1 is queued for an offline persistent session), written
	// directly at QoS 0 otherwise. It reports whether the device has a
	// connection.
	Deliver(accessKeyID, iotID, topic string, payload []byte, qos byte) bool
	// Direct writes a QoS 0 message to the device's connection whether or
	// not it subscribed (RRPC and broadcast requests need no
	// subscription).
	Direct(accessKeyID, iotID, topic string, payload []byte) bool
	// Publish sends a message to the topic's subscribers and returns the
	// devices it reached (connected or with a persistent session).
	Publish(topic string, payload []byte, qos byte) []Recipient
	// ExtRRPC reports whether the device's connection asked for ext RRPC
	// topics (client id ext bit 0).
	ExtRRPC(accessKeyID, iotID string) bool
}

// Recipient is a device a published message reached.
type Recipient struct {
	AccessKeyID, IotID, ProductKey, DeviceName string
}

// noTransport is the device side with the broker off.
type noTransport struct{}

func (noTransport) Deliver(string, string, string, []byte, byte) bool { return false }
func (noTransport) Direct(string, string, string, []byte) bool        { return false }
func (noTransport) Publish(string, []byte, byte) []Recipient          { return nil }
func (noTransport) ExtRRPC(string, string) bool                       { return false }

// Service is the loop. It is safe for concurrent use.
type Service struct {
	cfg Config
	st  *store.Store
	log *slog.Logger
	tr  Transport

	ids atomic.Uint64

	mu sync.Mutex
	// models caches each product's effective thing model (nil: none), by
	// account and ProductKey; writes through the Service drop entries.
	models map[string]*model
	// virtual holds the virtual devices, by account and IotId.
	virtual map[string]*virtualDevice
	// pending are RRPC waits by account, IotId and message id.
	pending map[string]chan []byte
	// sets are the items of property sets awaiting the device's
	// set_reply, by account, IotId and message id (at most maxPendingSets).
	sets map[string]json.RawMessage
	// modelGen counts forgettings of cached models, so a model read from
	// the store while one was being replaced is not cached stale.
	modelGen uint64
}

// maxPendingSets bounds the property sets kept until their reply: a
// device that never answers cannot grow the map without end.
const maxPendingSets = 10000

// model is a cached effective thing model.
type model struct {
	tsl *iot.ThingModel
}

// New builds the loop over the store; Attach names the broker.
func New(cfg Config, st *store.Store) *Service {
	if cfg.PropertyHistory == 0 {
		cfg.PropertyHistory = DefaultPropertyHistory
	}
	if cfg.MessageLog == 0 {
		cfg.MessageLog = DefaultMessageLog
	}
	if cfg.SyncTimeout == 0 {
		cfg.SyncTimeout = SyncTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Bus == nil {
		cfg.Bus = &events.Bus{}
	}
	s := &Service{cfg: cfg, st: st, log: cfg.Logger, tr: noTransport{},
		models: map[string]*model{}, virtual: map[string]*virtualDevice{}, pending: map[string]chan []byte{}, sets: map[string]json.RawMessage{}}
	// Alink ids are decimal strings of up to 10 digits; starting from the
	// clock keeps them apart from the ids of an earlier run on the same
	// --db file.
	s.ids.Store(uint64(cfg.Now().UnixMilli()/1000%1_000_000_000) + 100_000_000)
	return s
}

// Attach names the device side's transport (nil: none).
func (s *Service) Attach(t Transport) {
	if t == nil {
		t = noTransport{}
	}
	s.tr = t
}

// Reset forgets cached models, virtual devices and pending waits: the
// store was wiped or reloaded (all accounts for "", else one).
func (s *Service) Reset(accessKeyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.models {
		if accessKeyID == "" || hasAccount(k, accessKeyID) {
			delete(s.models, k)
		}
	}
	s.modelGen++
	for k := range s.virtual {
		if accessKeyID == "" || hasAccount(k, accessKeyID) {
			delete(s.virtual, k)
		}
	}
	for k, c := range s.pending {
		if accessKeyID == "" || hasAccount(k, accessKeyID) {
			close(c)
			delete(s.pending, k)
		}
	}
	for k := range s.sets {
		if accessKeyID == "" || hasAccount(k, accessKeyID) {
			delete(s.sets, k)
		}
	}
}

func key(parts ...string) string {
	k := parts[0]
	for _, p := range parts[1:] {
		k += "\x00" + p
	}
	return k
}

func hasAccount(k, accessKeyID string) bool {
	return len(k) > len(accessKeyID) && k[:len(accessKeyID)] == accessKeyID && k[len(accessKeyID)] == 0
}

// nextID is a fresh Alink message id.
func (s *Service) nextID() string { return strconv.FormatUint(s.ids.Add(1), 10) }

// nextLongID is a fresh 64-bit message id (Pub, PubBroadcast, RRpc),
// kept below 2^53 so JavaScript clients read it exactly.
func (s *Service) nextLongID() int64 { return 1_000_000_000_000_000 + int64(s.ids.Add(1)) }

// Model returns a product's effective thing model: its newest published
// version, else its draft; nil when it has neither.
func (s *Service) Model(ctx context.Context, accessKeyID, productKey string) (*iot.ThingModel, error) {
	k := key(accessKeyID, productKey)
	s.mu.Lock()
	m, ok := s.models[k]
	gen := s.modelGen
	s.mu.Unlock()
	if ok {
		return m.tsl, nil
	}
	v, err := s.st.LatestThingModel(ctx, accessKeyID, productKey)
	if errors.Is(err, iot.ErrNotFound) {
		v, err = s.st.ThingModel(ctx, accessKeyID, productKey, "")
	}
	var tsl *iot.ThingModel
	switch {
	case errors.Is(err, iot.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		parsed, err := iot.ParseThingModel(v.TSL)
		if err != nil {
			return nil, fmt.Errorf("stored thing model of %s: %w", productKey, err)
		}
		tsl = &parsed
	}
	s.mu.Lock()
	if s.modelGen == gen {
		s.models[k] = &model{tsl: tsl}
	}
	s.mu.Unlock()
	return tsl, nil
}

// Forget drops a product's cached model after its model changed.
func (s *Service) Forget(accessKeyID, productKey string) {
	s.mu.Lock()
	delete(s.models, key(accessKeyID, productKey))
	s.modelGen++
	s.mu.Unlock()
}

// ImportThingModel replaces a product's draft with a checked TSL.
func (s *Service) ImportThingModel(ctx context.Context, accessKeyID, productKey string, tsl []byte) error {
	m, err := iot.ParseThingModel(tsl)
	if err != nil {
		return err
	}
	defer s.Forget(accessKeyID, productKey)
	return s.st.SetThingModelDraft(ctx, accessKeyID, productKey, m.JSON(productKey))
}

// PublishThingModel publishes a product's draft as version.
func (s *Service) PublishThingModel(ctx context.Context, accessKeyID, productKey, version, description string) error {
	defer s.Forget(accessKeyID, productKey)
	return s.st.PublishThingModel(ctx, accessKeyID, productKey, version, description)
}

// Logger is where the loop logs causes it cannot answer with.
func (s *Service) Logger() *slog.Logger { return s.log }

// Strict reports whether undeclared identifiers are refused everywhere.
func (s *Service) Strict() bool { return s.cfg.Strict }

// ForgetModels drops every cached model (a fixture was merged in).
func (s *Service) ForgetModels() {
	s.mu.Lock()
	s.models = map[string]*model{}
	s.modelGen++
	s.mu.Unlock()
}
