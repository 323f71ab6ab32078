package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// The dashboard's reads: a summary, a device search, one device in full,
// one batch with its names; and its one write the RPC-less admin API had
// not got yet, disabling and enabling a device.

// Bounds of a dashboard device page.
const (
	defaultDevicePageSize = 50
	maxDevicePageSize     = 200
)

// rateWindow is how many seconds RequestsPerSecond averages over: long
// enough to smooth a burst, short enough to show a test starting.
const rateWindow = 10

// Summary is the dashboard's overview.
type Summary struct {
	Progression string       `json:"progression"`
	Credentials []Credential `json:"credentials"`
	Accounts    int          `json:"accounts"`
	Products    int          `json:"products"`
	// Devices counts devices by status (every status present, 0 when
	// none); DeviceTotal is their sum.
	Devices     map[string]int `json:"devices"`
	DeviceTotal int            `json:"deviceTotal"`
	// Batches counts batches by status (only the statuses some batch has).
	Batches map[string]int `json:"batches"`
	// RequestsPerSecond is the RPC calls answered per second over the
	// last ten seconds.
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	// Faults is how many fault rules are set.
	Faults int `json:"faults"`
}

// Credential is an account's key pair.
type Credential struct {
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	SecurityToken   string `json:"securityToken,omitempty"`
}

// Summary counts what the store holds and how busy the RPC API is.
func (p *Plane) Summary(ctx context.Context) (Summary, error) {
	c, err := p.st.Count(ctx)
	if err != nil {
		return Summary{}, err
	}
	accounts, err := p.st.Accounts(ctx)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Progression: p.Progression().String(), Credentials: make([]Credential, 0, len(accounts)), Accounts: c.Accounts,
		Products: c.Products, Devices: map[string]int{}, Batches: c.BatchesByStatus,
		RequestsPerSecond: p.rate.perSecond(p.cfg.Now(), rateWindow), Faults: len(p.Faults())}
	for _, a := range accounts {
		s.Credentials = append(s.Credentials, Credential{AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret, SecurityToken: a.SecurityToken})
	}
	for _, st := range []string{iot.DeviceUnactive, iot.DeviceOnline, iot.DeviceOffline, iot.DeviceDisabled} {
		s.Devices[st] = c.DevicesByStatus[st]
	}
	for _, n := range c.DevicesByStatus {
		s.DeviceTotal += n
	}
	return s, nil
}

// DeviceQuery selects devices for the dashboard; empty fields match all.
type DeviceQuery struct {
	AccessKeyID string
	ProductKey  string
	// Name matches DeviceNames and nicknames containing it, in any case.
	Name string
	// Status is UNACTIVE, ONLINE, OFFLINE or DISABLE.
	Status string
	// Page counts from 1 (0 is 1); PageSize is 1–200 (0 is 50).
	Page, PageSize int
}

// Devices searches the devices of every account, in creation order.
func (p *Plane) Devices(ctx context.Context, q DeviceQuery) (StateDevicePage, error) {
	page, size, err := paging(q.Page, q.PageSize, defaultDevicePageSize, maxDevicePageSize, "page", "pageSize")
	if err != nil {
		return StateDevicePage{}, err
	}
	switch q.Status {
	case "", iot.DeviceUnactive, iot.DeviceOnline, iot.DeviceOffline, iot.DeviceDisabled:
	default:
		return StateDevicePage{}, inputErr("status %q: want UNACTIVE, ONLINE, OFFLINE or DISABLE", q.Status)
	}
	devs, total, err := p.st.SearchDevices(ctx, store.DeviceSearch{AccessKeyID: q.AccessKeyID, ProductKey: q.ProductKey, Name: q.Name,
		Status: q.Status, Offset: pageOffset(page, size), Limit: size})
	if err != nil {
		return StateDevicePage{}, err
	}
	return devicePage(page, size, total, devs), nil
}

// paging resolves a page request: page counts from 1 (0 is 1), a size
// of 0 is def, and a size above limit is an input error naming the
// parameters.
func paging(page, size, def, limit int, pageName, sizeName string) (int, int, error) {
	if size == 0 {
		size = def
	}
	if page < 0 || size < 1 || size > limit {
		return 0, 0, inputErr("%s must be at least 1 and %s between 1 and %d", pageName, sizeName, limit)
	}
	return max(page, 1), size, nil
}

// devicePage is one page of devices as the admin API shows them.
func devicePage(page, size, total int, devs []iot.Device) StateDevicePage {
	out := StateDevicePage{Page: page, PageSize: size, Total: total, Items: make([]StateDevice, 0, len(devs))}
	for _, d := range devs {
		out.Items = append(out.Items, stateDevice(d))
	}
	return out
}

func stateDevice(d iot.Device) StateDevice {
	return StateDevice{AccessKeyID: d.AccessKeyID, ProductKey: d.ProductKey, DeviceName: d.DeviceName,
		DeviceSecret: d.DeviceSecret, DeviceID: d.DeviceID, IotID: d.IotID, Nickname: d.Nickname, Status: d.Status, ApplyID: d.ApplyID,
		Created: d.Created, Activated: optTime(d.Activated), LastOnline: optTime(d.LastOnline), IPAddress: d.IPAddress, StatusChanged: d.StatusChanged}
}

// DeviceDetail is one device as the dashboard's device page shows it.
type DeviceDetail struct {
	StateDevice
	ProductName string `json:"productName"`
	// Virtual is how the device behaves when it is virtual; nil when not.
	Virtual *things.VirtualConfig `json:"virtual"`
	// Properties are its latest reported values.
	Properties []PropertyView `json:"properties"`
}

// Device returns one device (of the given account, or the first account
// that has it) with its product's name, virtual settings and latest
// properties.
func (p *Plane) Device(ctx context.Context, accessKeyID, productKey, deviceName string) (DeviceDetail, error) {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return DeviceDetail{}, err
	}
	out := DeviceDetail{StateDevice: stateDevice(d)}
	pr, err := p.st.Product(ctx, d.AccessKeyID, d.ProductKey)
	if err != nil {
		return out, err
	}
	out.ProductName = pr.ProductName
	if p.things != nil {
		if v, ok := p.things.Virtual(d); ok {
			out.Virtual = &v
		}
	}
	if out.Properties, err = p.Properties(ctx, d.AccessKeyID, productKey, deviceName); err != nil {
		return out, err
	}
	return out, nil
}

// SetDeviceEnabled disables a device, as DisableThing does (its
// connection ends, a virtual device stops being one, and it cannot log in
// until enabled), or enables it, as EnableThing does.
func (p *Plane) SetDeviceEnabled(ctx context.Context, accessKeyID, productKey, deviceName string, enabled bool) (StateDevice, error) {
	d, err := p.device(ctx, accessKeyID, productKey, deviceName)
	if err != nil {
		return StateDevice{}, err
	}
	ev := iot.Enable
	if !enabled {
		ev = iot.Disable
		if p.things != nil {
			if _, err := p.things.RemoveVirtual(ctx, d); err != nil {
				return StateDevice{}, err
			}
		}
	}
	// Disabled before the kick, so a login racing it is refused.
	if d, err = p.st.ApplyDeviceEvent(ctx, d.AccessKeyID, d.IotID, ev, ""); err != nil {
		return StateDevice{}, err
	}
	if !enabled && p.devices != nil {
		p.devices.Kick(d.AccessKeyID, d.IotID, "device disabled through the control plane")
	}
	p.log.Info("device "+map[bool]string{true: "enabled", false: "disabled"}[enabled], "productKey", productKey, "deviceName", deviceName)
	return stateDevice(d), nil
}

// BatchDetail is one batch with its names.
type BatchDetail struct {
	StateBatch
	Names []BatchNameView `json:"names"`
}

// BatchNameView is one name of a batch; ErrorMsg is why it failed.
type BatchNameView struct {
	DeviceName string `json:"deviceName"`
	Nickname   string `json:"nickname,omitempty"`
	ErrorMsg   string `json:"errorMsg,omitempty"`
}

// Batch returns one batch with its names in submission order.
func (p *Plane) Batch(ctx context.Context, applyID int64) (BatchDetail, error) {
	b, err := p.st.Batch(ctx, applyID)
	if errors.Is(err, iot.ErrNotFound) {
		return BatchDetail{}, noBatch(applyID)
	}
	if err != nil {
		return BatchDetail{}, err
	}
	names, err := p.st.BatchNames(ctx, applyID)
	if err != nil {
		return BatchDetail{}, err
	}
	out := BatchDetail{StateBatch: stateBatch(b), Names: make([]BatchNameView, len(names))}
	for i, n := range names {
		out.Names[i] = BatchNameView{DeviceName: n.DeviceName, Nickname: n.Nickname, ErrorMsg: n.ErrorMsg}
	}
	return out, nil
}

// BatchView is a batch as the admin API shows it (the event stream's
// batch events carry it).
func BatchView(b iot.Batch) StateBatch { return stateBatch(b) }

// StopStreams ends the event streams of the admin API: a stop does not
// wait on a browser that would keep one open for ever.
func (p *Plane) StopStreams() { p.streams.stop() }

// StreamsStopped is closed once StopStreams has been called.
func (p *Plane) StreamsStopped() <-chan struct{} { return p.streams.done() }

// stopper is a channel closed once; the zero value is ready.
type stopper struct {
	mu     sync.Mutex
	ch     chan struct{}
	closed bool
}

func (s *stopper) done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chanLocked()
}

func (s *stopper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.chanLocked(); !s.closed {
		s.closed = true
		close(ch)
	}
}

func (s *stopper) chanLocked() chan struct{} {
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// rateMeter counts answered RPC calls per second of the clock, in a ring
// of the last minute's seconds; the zero value is ready.
type rateMeter struct {
	mu    sync.Mutex
	sec   [60]int64
	count [60]int
}

func (m *rateMeter) add(t time.Time) {
	sec := t.Unix()
	i := int(uint64(sec) % uint64(len(m.sec)))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sec[i] != sec {
		m.sec[i], m.count[i] = sec, 0
	}
	m.count[i]++
}

// perSecond averages the calls of the window seconds up to now.
func (m *rateMeter) perSecond(now time.Time, window int) float64 {
	if window < 1 || window > len(m.sec) {
		panic(fmt.Sprintf("rate window %d outside 1..%d", window, len(m.sec)))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	total := 0
	for sec := now.Unix() - int64(window) + 1; sec <= now.Unix(); sec++ {
		if i := int(uint64(sec) % uint64(len(m.sec))); m.sec[i] == sec {
			total += m.count[i]
		}
	}
	return float64(total) / float64(window)
}
