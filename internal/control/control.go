// Package control is the emulator's control plane for tests and people:
// reset, state, batch progression (advance, fail, policy), fault rules,
// the request journal, the event bus, and who may call the RPC API (the
// gateway's Credentials, with loose-auth accounts made on first use). The
// admin HTTP routes, emutest and the dashboard all drive the emulator
// through this one Go API.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/internal/batch"
	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/faults"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/journal"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// ErrInput marks a control call the caller got wrong (HTTP 400 on the
// admin API); not-found and wrong-state errors are iot.ErrNotFound and
// iot.ErrState.
var ErrInput = faults.ErrInput

// Message is an error's message without the sentinel Go wrapping adds
// ("invalid input: …", "…: not found", "…: wrong state"), for people.
func Message(err error) string {
	msg := strings.TrimPrefix(err.Error(), ErrInput.Error()+": ")
	for _, s := range []error{iot.ErrNotFound, iot.ErrState, iot.ErrConflict, ErrInput} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	return msg
}

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// Config is what the plane is built from.
type Config struct {
	// Fixtures seeds the store on start and on reset.
	Fixtures *fixtures.Fixture
	// Progression is the start-up batch timing policy, which a full reset
	// restores.
	Progression batch.Progression
	// Loose admits any AccessKeyId, each as its own account seeded with
	// the first fixture account's products (without devices).
	Loose bool
	// MaxLooseAccounts caps the accounts loose mode creates (0:
	// DefaultMaxLooseAccounts); a new AccessKeyId beyond it is refused.
	MaxLooseAccounts int
	// JournalSize is how many answered calls the journal keeps.
	JournalSize int
	// ServedActions names the RPC actions fault rules may match;
	// DefaultFaultCode answers a rule with neither code nor latency.
	ServedActions    []string
	DefaultFaultCode string
	Logger           *slog.Logger
	Now              func() time.Time
}

// Plane is the control plane.
type Plane struct {
	cfg     Config
	st      *store.Store
	worker  *batch.Worker
	faults  *faults.Set
	journal *journal.Journal
	bus     *events.Bus
	log     *slog.Logger
	// gateway forgets nonces and refills throttle buckets on a full reset.
	gateway interface{ Reset() }
	// devices is the broker, when it is on.
	devices Devices
	// things is the cloud-device loop (virtual devices, message log).
	things *things.Service
	// fxMu guards cfg.Fixtures, which LoadFixture extends.
	fxMu sync.Mutex
	// looseSeed holds one lock per AccessKeyId, so a loose account is
	// created once however many first calls race.
	looseSeed sync.Map
	// rate counts answered RPC calls for the dashboard's summary; streams
	// ends the admin API's event streams on a stop.
	rate    rateMeter
	streams stopper
}

// New builds the plane over the store, the batch worker and the bus.
func New(cfg Config, st *store.Store, w *batch.Worker, bus *events.Bus) *Plane {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Fixtures == nil {
		cfg.Fixtures = fixtures.Default()
	}
	served := make(map[string]bool, len(cfg.ServedActions))
	for _, a := range cfg.ServedActions {
		served[a] = true
	}
	return &Plane{cfg: cfg, st: st, worker: w, bus: bus, log: cfg.Logger,
		faults:  faults.NewSet(func(a string) bool { return served[a] }, cfg.DefaultFaultCode),
		journal: journal.New(cfg.JournalSize)}
}

// Devices is the device side as the control plane drives it.
type Devices interface {
	// Kick ends a device's live connection and reports whether it had one.
	Kick(accessKeyID, iotID, cause string) bool
	// KickAccount ends every device connection of an account ("" all).
	KickAccount(accessKeyID, cause string) int
}

// AttachDevices names the broker that Kick drives.
func (p *Plane) AttachDevices(d Devices) { p.devices = d }

// Kick disconnects the named device (of the given account, or of any
// account with that ProductKey when accessKeyID is empty) and returns how
// many connections it ended. iot.ErrNotFound when no such device exists.
func (p *Plane) Kick(ctx context.Context, accessKeyID, productKey, deviceName string) (int, error) {
	devs, err := p.st.DevicesByLogin(ctx, productKey, deviceName)
	if err != nil {
		return 0, err
	}
	n, found := 0, false
	for _, d := range devs {
		if accessKeyID != "" && d.AccessKeyID != accessKeyID {
			continue
		}
		found = true
		if p.devices != nil && p.devices.Kick(d.AccessKeyID, d.IotID, "kicked through the control plane") {
			n++
		}
	}
	if !found {
		return 0, fmt.Errorf("no device %s/%s: %w", productKey, deviceName, iot.ErrNotFound)
	}
	return n, nil
}

// AttachGateway names the gateway whose nonces and throttle buckets a full
// reset clears (the gateway is built after the plane, from its methods).
func (p *Plane) AttachGateway(g interface{ Reset() }) { p.gateway = g }

// Seed replaces whatever the store holds with the fixtures, in one
// transaction.
func (p *Plane) Seed(ctx context.Context) error {
	// A fixture built in code (emutest.WithFixture) has not been through
	// the loader's validation yet.
	f := p.Fixtures()
	if err := f.Validate(); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	if err := p.st.Replace(ctx, "", Seeds(f)); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	return nil
}

// Fixtures is the fixture the plane seeds from.
func (p *Plane) Fixtures() *fixtures.Fixture {
	p.fxMu.Lock()
	defer p.fxMu.Unlock()
	return p.cfg.Fixtures
}

// LoadFixture applies a fixture to the running emulator idempotently:
// what is missing is created, what exists is left alone. Its accounts
// then belong to the fixture a reset reloads (an account of the same
// AccessKeyId replaced). The one-line report is logged.
func (p *Plane) LoadFixture(ctx context.Context, f *fixtures.Fixture) (store.MergeReport, error) {
	if err := f.Validate(); err != nil {
		return store.MergeReport{}, inputErr("fixture: %v", err)
	}
	r, err := p.MergeFixture(ctx, f)
	if err != nil {
		return r, err
	}
	p.fxMu.Lock()
	merged := &fixtures.Fixture{Accounts: append([]fixtures.Account(nil), p.cfg.Fixtures.Accounts...)}
	for _, a := range f.Accounts {
		replaced := false
		for i := range merged.Accounts {
			if merged.Accounts[i].AccessKeyID == a.AccessKeyID {
				merged.Accounts[i], replaced = a, true
			}
		}
		if !replaced {
			merged.Accounts = append(merged.Accounts, a)
		}
	}
	p.cfg.Fixtures = merged
	p.fxMu.Unlock()
	return r, nil
}

// MergeFixture writes a fixture into the store idempotently and logs what
// it added and kept; start-up applies the configured fixture this way to a
// store that already holds state.
func (p *Plane) MergeFixture(ctx context.Context, f *fixtures.Fixture) (store.MergeReport, error) {
	r, err := p.st.Merge(ctx, Seeds(f))
	if err != nil {
		if errors.Is(err, iot.ErrConflict) {
			return r, fmt.Errorf("fixture conflicts with the stored state: %w", errors.Join(err, ErrInput))
		}
		return r, err
	}
	if p.things != nil {
		p.things.ForgetModels()
	}
	p.log.Info("fixtures: " + r.String())
	return r, nil
}

// Intercept is the gateway's fault hook: it applies the fault rules.
func (p *Plane) Intercept(ctx context.Context, c *pop.Call) error { return p.faults.Apply(ctx, c) }

// Record is the gateway's observer: it journals the answered call and
// publishes it on the bus.
func (p *Plane) Record(r pop.Record) {
	p.rate.add(r.Time)
	p.Journal(journal.Entry{Time: r.Time, RequestID: r.RequestID, Protocol: journal.RPC, Action: r.Action, AccessKeyID: r.AccessKeyID,
		Params: r.Params, ParamsOmitted: r.ParamsOmitted, Faults: r.Faults, Status: r.Status, Code: r.Code, LatencyMs: r.LatencyMs})
}

// Journal adds an entry to the journal and publishes it on the bus (kind
// "request" for RPC calls, "device" for device events).
func (p *Plane) Journal(e journal.Entry) {
	p.journal.Add(e)
	if p.bus != nil {
		kind := events.Request
		if e.Protocol == journal.MQTT {
			kind = events.Device
		}
		p.bus.Publish(events.Event{Time: e.Time, Kind: kind, Data: e})
	}
}

// Subscribe watches the event bus; Close the subscription when done.
func (p *Plane) Subscribe(buffer int) *events.Subscription { return p.bus.Subscribe(buffer) }

// Credential is the gateway's Credentials for the IoT product: the
// account of an AccessKeyId. In loose mode an unknown AccessKeyId becomes
// a new account seeded with the first fixture account's products (without
// their devices); concurrent first calls with one AccessKeyId create it once.
func (p *Plane) Credential(ctx context.Context, ak string) (pop.Credential, error) {
	a, err := p.account(ctx, ak)
	if err != nil {
		return pop.Credential{}, err
	}
	return pop.Credential{Secret: a.AccessKeySecret, SecurityToken: a.SecurityToken, Principal: a}, nil
}

func (p *Plane) account(ctx context.Context, ak string) (iot.Account, error) {
	// Seeding writes an account with its products in one transaction, so
	// an account found here is never half made.
	a, err := p.st.Account(ctx, ak)
	if err == nil || !errors.Is(err, iot.ErrNotFound) {
		return a, err
	}
	if !p.cfg.Loose || ak == "" {
		return a, pop.ErrAccessKeyNotFound
	}
	// One lock per AccessKeyId, and a second look under it: the store may
	// have been reset since the lock was made, so the lock only orders the
	// creators and the store stays the source of truth.
	muAny, _ := p.looseSeed.LoadOrStore(ak, &sync.Mutex{})
	mu := muAny.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	// The lock is needed only until the account exists: later callers
	// find it in the store, so the map holds only creations in flight.
	defer p.looseSeed.Delete(ak)
	if a, err = p.st.Account(ctx, ak); err == nil {
		return a, nil
	}
	if err := p.looseRoom(ctx); err != nil {
		return a, err
	}
	if err := p.st.Add(ctx, []iot.Seed{AccountSeed(p.looseTemplate(), ak, "")}); err != nil {
		return a, fmt.Errorf("loose account %s: %w", ak, err)
	}
	if a, err = p.st.Account(ctx, ak); err != nil {
		return a, err
	}
	p.log.Info("loose account created", "accessKeyId", ak)
	return a, nil
}

// DefaultMaxLooseAccounts caps the accounts loose mode makes when
// Config.MaxLooseAccounts is 0.
const DefaultMaxLooseAccounts = 10_000

// ErrLooseAccountsFull refuses a new loose-mode AccessKeyId once the cap
// is reached: existing accounts keep working, a reset frees the room.
// Refusing (not evicting) keeps every account a client already uses.
var ErrLooseAccountsFull = pop.ErrAccessKeyNotFound.WithMessage("%s The emulator's loose-mode account limit is reached; reset the emulator (POST /_emulator/reset) to free it.", pop.ErrAccessKeyNotFound.Message)

// looseRoom reports ErrLooseAccountsFull when the store holds the
// fixture's accounts plus the loose cap.
func (p *Plane) looseRoom(ctx context.Context) error {
	max := p.cfg.MaxLooseAccounts
	if max <= 0 {
		max = DefaultMaxLooseAccounts
	}
	n, err := p.st.AccountCount(ctx)
	if err != nil {
		return err
	}
	if n >= max+len(p.Fixtures().Accounts) {
		return ErrLooseAccountsFull
	}
	return nil
}

// looseTemplate is a deep copy of the first fixture account without
// devices, secrets or token, so seeding never aliases the fixture.
func (p *Plane) looseTemplate() fixtures.Account {
	f := p.Fixtures()
	if len(f.Accounts) == 0 {
		return fixtures.Account{}
	}
	src := f.Accounts[0]
	t := fixtures.Account{Instances: append([]string(nil), src.Instances...)}
	for _, pr := range src.Products {
		pr.Devices = nil
		pr.ProductSecret = ""
		t.Products = append(t.Products, pr)
	}
	return t
}

// Seeds turns a fixture into the store's seeds, one per account.
func Seeds(f *fixtures.Fixture) []iot.Seed {
	out := make([]iot.Seed, len(f.Accounts))
	for i, a := range f.Accounts {
		out[i] = AccountSeed(a, a.AccessKeyID, a.AccessKeySecret)
	}
	return out
}

// AccountSeed turns one fixture account into a seed under the given key
// pair; loose-auth mode uses it to give a new AccessKeyId the default
// products.
func AccountSeed(a fixtures.Account, accessKeyID, secret string) iot.Seed {
	sd := iot.Seed{Account: iot.Account{AccessKeyID: accessKeyID, AccessKeySecret: secret, SecurityToken: a.SecurityToken, Instances: a.Instances}}
	for _, p := range a.Products {
		df := 1
		if p.DataFormat != nil {
			df = *p.DataFormat
		}
		sd.Products = append(sd.Products, iot.Product{InstanceID: p.IotInstanceID, ProductKey: p.ProductKey,
			ProductName: p.ProductName, ProductSecret: p.ProductSecret, NodeType: p.NodeType, DataFormat: df, Description: p.Description,
			AuthType: p.AuthType, Id2: p.AuthType == "id2", AliyunCommodityCode: p.AliyunCommodityCode, NetType: p.NetType,
			ProtocolType: p.ProtocolType, CategoryKey: p.CategoryKey, ValidateType: 1, DynamicRegister: p.DynamicRegistration,
			ThingModel: seedThingModel(p)})
		for _, d := range p.Devices {
			sd.Devices = append(sd.Devices, iot.Device{ProductKey: p.ProductKey, DeviceName: d.DeviceName,
				DeviceSecret: d.DeviceSecret, Nickname: d.Nickname, IotID: d.IotID, DeviceID: d.DeviceID})
		}
	}
	return sd
}

// --- faults and journal ---

// AddFault adds a fault rule and returns its id.
func (p *Plane) AddFault(r faults.Rule) (string, error) {
	id, err := p.faults.Add(r)
	if err == nil {
		p.log.Info("fault rule added", "id", id, "action", r.Action, "code", r.Code, "count", r.Count,
			"probability", r.Probability, "latencyMs", r.LatencyMs)
	}
	return id, err
}

// Faults lists the fault rules in the order they apply.
func (p *Plane) Faults() []faults.Fault { return p.faults.List() }

// StopFaultSleeps ends the injected latencies in progress (shutdown).
func (p *Plane) StopFaultSleeps() { p.faults.Stop() }

// DeleteFault removes one rule and reports whether it existed.
func (p *Plane) DeleteFault(id string) bool { return p.faults.Remove(id) }

// ClearFaults removes every rule and returns how many there were.
func (p *Plane) ClearFaults() int { return p.faults.Clear() }

// Requests returns the journal's matching entries, oldest first.
func (p *Plane) Requests(f journal.Filter) []journal.Entry { return p.journal.List(f) }

// ClearRequests empties the journal and returns how many entries it held.
func (p *Plane) ClearRequests() int { return p.journal.Clear() }

// --- progression ---

// Progression returns the batch timing policy in force.
func (p *Plane) Progression() batch.Progression { return p.worker.Progression() }

// SetProgression changes the policy for new batches and reschedules the
// ones already waiting, so switching from manual to immediate frees them.
func (p *Plane) SetProgression(ctx context.Context, pr batch.Progression) error {
	if err := p.worker.SetProgression(ctx, pr); err != nil {
		return err
	}
	p.log.Info("progression set", "progression", pr.String())
	return nil
}
