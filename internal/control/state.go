package control

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/fixtures"
	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// Bounds of the state view's device page.
const (
	defaultStatePageSize = 100
	maxStatePageSize     = 1000
)

// defaultFailMsg is the reason of a name failed without one.
const defaultFailMsg = "Failed through the emulator's admin API."

// ResetOptions change what a full reset keeps.
type ResetOptions struct {
	// KeepConfig keeps the progression policy and the fault rules set since
	// start-up (?keep=config on the admin API).
	KeepConfig bool
}

// Reset wipes all state and reloads the fixtures, or, for one AccessKeyId,
// only that account's state (a fixture account is reloaded; a loose-auth
// account is seeded again on its next call). A full reset also forgets
// nonces, refills throttle buckets, clears the journal, removes fault
// rules and restores the start-up progression, so a suite never inherits
// a manual progression that would leave its batches waiting. Batches in
// CHECK or CREATE are deleted with the rest: the worker never settles a
// batch half across a reset.
func (p *Plane) Reset(ctx context.Context, accessKeyID string) error {
	return p.ResetWith(ctx, accessKeyID, ResetOptions{})
}

// ResetWith is Reset with options.
func (p *Plane) ResetWith(ctx context.Context, accessKeyID string, o ResetOptions) error {
	if accessKeyID == "" {
		err := p.worker.Exclusive(func() error {
			p.looseSeed.Clear()
			return p.Seed(ctx)
		})
		if err != nil {
			return err
		}
		if p.gateway != nil {
			p.gateway.Reset()
		}
		if p.devices != nil {
			p.devices.KickAccount("", "the emulator was reset")
		}
		if !o.KeepConfig {
			p.faults.Clear()
			if p.cfg.Progression.Mode != "" && p.worker.Progression() != p.cfg.Progression {
				if err := p.worker.SetProgression(ctx, p.cfg.Progression); err != nil {
					return err
				}
				p.log.Info("progression restored by the reset", "progression", p.cfg.Progression.String())
			}
		}
		p.journal.Clear()
		p.worker.Wake()
		p.log.Info("reset", "accessKeyId", "", "keepConfig", o.KeepConfig)
		p.publishReset("")
		return nil
	}
	var tmpl *fixtures.Account
	f := p.Fixtures()
	for i, a := range f.Accounts {
		if a.AccessKeyID == accessKeyID {
			tmpl = &f.Accounts[i]
		}
	}
	if tmpl == nil {
		if _, err := p.st.Account(ctx, accessKeyID); errors.Is(err, iot.ErrNotFound) {
			return fmt.Errorf("no account with accessKeyId %q: %w", accessKeyID, iot.ErrNotFound)
		} else if err != nil {
			return err
		}
	}
	err := p.worker.Exclusive(func() error {
		p.looseSeed.Delete(accessKeyID)
		var seeds []iot.Seed
		if tmpl != nil {
			seeds = append(seeds, AccountSeed(*tmpl, tmpl.AccessKeyID, tmpl.AccessKeySecret))
		}
		return p.st.Replace(ctx, accessKeyID, seeds)
	})
	if err != nil {
		return err
	}
	if p.devices != nil {
		p.devices.KickAccount(accessKeyID, "the account was reset")
	}
	p.worker.Wake()
	p.log.Info("reset", "accessKeyId", accessKeyID)
	p.publishReset(accessKeyID)
	return nil
}

func (p *Plane) publishReset(accessKeyID string) {
	if p.things != nil {
		p.things.Reset(accessKeyID)
	}
	if p.bus != nil {
		p.bus.Publish(events.Event{Time: p.cfg.Now(), Kind: events.Reset, Data: accessKeyID})
	}
}

// State is the emulator's whole state as GET /_emulator/state shows it,
// secrets included.
type State struct {
	Progression string          `json:"progression"`
	Accounts    []StateAccount  `json:"accounts"`
	Devices     StateDevicePage `json:"devices"`
}

// StateAccount is one account with its products and batches.
type StateAccount struct {
	AccessKeyID     string         `json:"accessKeyId"`
	AccessKeySecret string         `json:"accessKeySecret"`
	SecurityToken   string         `json:"securityToken"`
	Instances       []string       `json:"instances"`
	Products        []StateProduct `json:"products"`
	Batches         []StateBatch   `json:"batches"`
}

// StateProduct is one product.
type StateProduct struct {
	ProductKey          string    `json:"productKey"`
	ProductName         string    `json:"productName"`
	ProductSecret       string    `json:"productSecret"`
	IotInstanceID       string    `json:"iotInstanceId"`
	NodeType            int       `json:"nodeType"`
	DataFormat          int       `json:"dataFormat"`
	Description         string    `json:"description"`
	AuthType            string    `json:"authType"`
	AliyunCommodityCode string    `json:"aliyunCommodityCode"`
	DeviceCount         int       `json:"deviceCount"`
	DynamicRegistration bool      `json:"dynamicRegistration"`
	Created             time.Time `json:"created"`
}

// StateBatch is one batch (ApplyId) with its counts.
type StateBatch struct {
	ApplyID       int64  `json:"applyId"`
	AccessKeyID   string `json:"accessKeyId"`
	IotInstanceID string `json:"iotInstanceId"`
	ProductKey    string `json:"productKey"`
	// Kind is "names" (BatchCheckDeviceNames) or "random" (BatchRegisterDevice).
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// Count is the number of names; Failed how many failed; Devices how
	// many devices the batch created.
	Count   int `json:"count"`
	Failed  int `json:"failed"`
	Devices int `json:"devices"`
	// Due is when the worker settles a batch in CHECK or CREATE; nil when
	// it waits for an advance or for polls.
	Due *time.Time `json:"due"`
	// PollsLeft counts the status queries still to come under polls:N.
	PollsLeft *int `json:"pollsLeft"`
	// Waiting says what a batch in CHECK or CREATE waits for: "manual" (an
	// advance or fail), "polls" (status queries) or "time" (its due time).
	Waiting string    `json:"waiting,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// StateDevicePage is one page of devices, in creation order.
type StateDevicePage struct {
	Page     int           `json:"page"`
	PageSize int           `json:"pageSize"`
	Total    int           `json:"total"`
	Items    []StateDevice `json:"items"`
}

// StateDevice is one device, secret included.
type StateDevice struct {
	AccessKeyID  string    `json:"accessKeyId"`
	ProductKey   string    `json:"productKey"`
	DeviceName   string    `json:"deviceName"`
	DeviceSecret string    `json:"deviceSecret"`
	DeviceID     string    `json:"deviceId"`
	IotID        string    `json:"iotId"`
	Nickname     string    `json:"nickname"`
	Status       string    `json:"status"`
	ApplyID      int64     `json:"applyId"`
	Created      time.Time `json:"created"`
	// Activated and LastOnline are the first and the latest login (nil:
	// never), IPAddress where the latest came from.
	Activated     *time.Time `json:"activated"`
	LastOnline    *time.Time `json:"lastOnline"`
	IPAddress     string     `json:"ipAddress"`
	StatusChanged time.Time  `json:"statusChanged"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// StateQuery narrows State: one account, one product's devices, a device page.
type StateQuery struct {
	AccessKeyID string
	ProductKey  string
	// DevicePage counts from 1 (0 is 1); DevicePageSize is 1–1000 (0 is 100).
	DevicePage     int
	DevicePageSize int
}

func stateBatch(b iot.Batch) StateBatch {
	return StateBatch{ApplyID: b.ApplyID, AccessKeyID: b.AccessKeyID, IotInstanceID: b.InstanceID, ProductKey: b.ProductKey,
		Kind: b.Kind, Status: b.Status, Count: b.Count, Failed: b.Failed, Devices: b.Devices, Due: b.Due, PollsLeft: b.PollsLeft,
		Created: b.Created, Updated: b.Updated, Waiting: waiting(b)}
}

// Held is what the store holds, as the banner and the index page show it.
type Held struct {
	// Credentials are "AccessKeyId=… AccessKeySecret=…", one per account.
	Credentials []string
	// ProductKeys are every account's product keys, each once.
	ProductKeys []string
}

// Held reads the accounts and product keys the store holds: not what a
// fixture says, since a kept --db may hold more or other secrets. Unlike
// State it reads no batches or devices.
func (p *Plane) Held(ctx context.Context) (Held, error) {
	var h Held
	accounts, err := p.st.Accounts(ctx)
	if err != nil {
		return h, err
	}
	seen := map[string]bool{}
	for _, a := range accounts {
		h.Credentials = append(h.Credentials, "AccessKeyId="+a.AccessKeyID+" AccessKeySecret="+a.AccessKeySecret)
		products, err := p.st.Products(ctx, a.AccessKeyID)
		if err != nil {
			return h, err
		}
		for _, pr := range products {
			if !seen[pr.ProductKey] {
				seen[pr.ProductKey] = true
				h.ProductKeys = append(h.ProductKeys, pr.ProductKey)
			}
		}
	}
	return h, nil
}

// State returns the state q selects.
func (p *Plane) State(ctx context.Context, q StateQuery) (State, error) {
	page, size, err := paging(q.DevicePage, q.DevicePageSize, defaultStatePageSize, maxStatePageSize, "devicePage", "devicePageSize")
	if err != nil {
		return State{}, err
	}
	var accounts []iot.Account
	if q.AccessKeyID != "" {
		a, err := p.st.Account(ctx, q.AccessKeyID)
		if errors.Is(err, iot.ErrNotFound) {
			return State{}, fmt.Errorf("no account with accessKeyId %q: %w", q.AccessKeyID, iot.ErrNotFound)
		}
		if err != nil {
			return State{}, err
		}
		accounts = []iot.Account{a}
	} else if accounts, err = p.st.Accounts(ctx); err != nil {
		return State{}, err
	}
	out := State{Progression: p.Progression().String(), Accounts: make([]StateAccount, 0, len(accounts))}
	for _, a := range accounts {
		sa := StateAccount{AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret, SecurityToken: a.SecurityToken,
			Instances: append([]string{}, a.Instances...), Products: []StateProduct{}, Batches: []StateBatch{}}
		products, err := p.st.Products(ctx, a.AccessKeyID)
		if err != nil {
			return State{}, err
		}
		for _, pr := range products {
			sa.Products = append(sa.Products, StateProduct{ProductKey: pr.ProductKey, ProductName: pr.ProductName, ProductSecret: pr.ProductSecret,
				IotInstanceID: pr.InstanceID, NodeType: pr.NodeType, DataFormat: pr.DataFormat, Description: pr.Description, AuthType: pr.AuthType,
				AliyunCommodityCode: pr.AliyunCommodityCode, DeviceCount: pr.DeviceCount, DynamicRegistration: pr.DynamicRegister, Created: pr.Created})
		}
		batches, err := p.st.Batches(ctx, a.AccessKeyID)
		if err != nil {
			return State{}, err
		}
		for _, b := range batches {
			sa.Batches = append(sa.Batches, stateBatch(b))
		}
		out.Accounts = append(out.Accounts, sa)
	}
	devs, total, err := p.st.DumpDevices(ctx, q.AccessKeyID, q.ProductKey, pageOffset(page, size), size)
	if err != nil {
		return State{}, err
	}
	out.Devices = devicePage(page, size, total, devs)
	return out, nil
}

// Advance settles a batch in CHECK or CREATE now, whatever the progression:
// CHECK becomes CHECK_SUCCESS (or CHECK_FAILED for names that exist by
// now), CREATE creates the devices. Errors wrap iot.ErrNotFound for an
// unknown ApplyId and iot.ErrState for a batch in any other state.
func (p *Plane) Advance(ctx context.Context, applyID int64) (StateBatch, error) {
	return p.settleNow(ctx, applyID, nil)
}

// Fail settles a batch in CHECK or CREATE as failed: the names in invalid
// (name → reason; an empty reason gets a default one) fail and make the
// InvalidList, the rest the ValidList; in CREATE only the valid names are
// created. An empty invalid fails every name. Errors as for Advance; a name
// that is not in the batch is an input error.
func (p *Plane) Fail(ctx context.Context, applyID int64, invalid map[string]string) (StateBatch, error) {
	b, err := p.st.Batch(ctx, applyID)
	if errors.Is(err, iot.ErrNotFound) {
		return StateBatch{}, noBatch(applyID)
	}
	if err != nil {
		return StateBatch{}, err
	}
	if !b.Transient() {
		return StateBatch{}, notTransient(b)
	}
	names, err := p.st.BatchNames(ctx, applyID)
	if err != nil {
		return StateBatch{}, err
	}
	forced := make(map[string]string, max(len(invalid), len(names)))
	if len(invalid) == 0 {
		for _, n := range names {
			forced[n.DeviceName] = defaultFailMsg
		}
	} else {
		in := make(map[string]bool, len(names))
		for _, n := range names {
			in[n.DeviceName] = true
		}
		var unknown []string
		for name, msg := range invalid {
			if !in[name] {
				unknown = append(unknown, name)
			}
			if msg == "" {
				msg = defaultFailMsg
			}
			forced[name] = msg
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return StateBatch{}, inputErr("not names of batch %d: %s", applyID, strings.Join(unknown, ", "))
		}
	}
	return p.settleNow(ctx, applyID, forced)
}

func noBatch(applyID int64) error {
	return fmt.Errorf("no batch with applyId %d: %w", applyID, iot.ErrNotFound)
}

func notTransient(b iot.Batch) error {
	return fmt.Errorf("batch %d is %s; only a batch in CHECK or CREATE can be advanced or failed: %w", b.ApplyID, b.Status, iot.ErrState)
}

func (p *Plane) settleNow(ctx context.Context, applyID int64, forced map[string]string) (StateBatch, error) {
	b, err := p.worker.Settle(ctx, applyID, forced)
	switch {
	case errors.Is(err, iot.ErrNotFound):
		return StateBatch{}, noBatch(applyID)
	case errors.Is(err, iot.ErrState):
		cur, gerr := p.st.Batch(ctx, applyID)
		if gerr != nil {
			return StateBatch{}, noBatch(applyID)
		}
		return StateBatch{}, notTransient(cur)
	case err != nil:
		return StateBatch{}, err
	}
	return stateBatch(b), nil
}

// pageOffset is (page-1)×size, saturating instead of overflowing.
func pageOffset(page, size int) int {
	if size > 0 && page-1 > math.MaxInt/size {
		return math.MaxInt
	}
	return (page - 1) * size
}

// waiting is what a transient batch waits for.
func waiting(b iot.Batch) string {
	switch {
	case !b.Transient():
		return ""
	case b.PollsLeft != nil:
		return "polls"
	case b.Due == nil:
		return "manual"
	}
	return "time"
}
