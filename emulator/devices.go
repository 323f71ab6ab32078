package emulator

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/store"
)

// Documented limits of the device APIs (apis.md §2.5–§2.10).
const (
	maxDevicePageSize   = 50
	maxDevicePageWindow = 10_000 // CurrentPage × PageSize beyond this needs NextToken
	maxBatchQueryNames  = 100
)

// deviceQuota is the per-product device quota: Config.DeviceQuota when
// set, else the documented one (IoT Platform "Limits" page, doc 30527):
// 3,000,000 in cn-shanghai, 1,000,000 in the other regions.
func (s *Server) deviceQuota() int {
	if s.cfg.DeviceQuota > 0 {
		return s.cfg.DeviceQuota
	}
	if s.cfg.Region == "cn-shanghai" {
		return 3_000_000
	}
	return 1_000_000
}

// iotIDRE is what an IotId may look like: the generated ones are 26
// letters and digits, fixture ones follow the fixture's id rule.
var iotIDRE = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,64}$`)

// chinaTime is the zone of the Gmt* fields of the device detail APIs,
// which despite the name are China Standard Time (apis.md §2.6).
var chinaTime = time.FixedZone("CST", 8*60*60)

// The three timestamp formats of the device APIs (apis.md §2.6, §2.7).
func detailTime(t time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04:05") }
func utcTime(t time.Time) string    { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
func cookieTime(t time.Time) string { return t.UTC().Format("Mon, 02-Jan-2006 15:04:05 GMT") }

// device resolves the device a call names: IotId when given (it wins over
// ProductKey+DeviceName, apis.md §2.6), else ProductKey and DeviceName. A
// device of another account answers as if it did not exist.
func (s *Server) device(ctx context.Context, c *Call) (store.Device, store.Product, *Error) {
	if !c.Account.HasInstance(c.InstanceID) {
		return store.Device{}, store.Product{}, ErrInstanceNotFound
	}
	if id := c.Params["IotId"]; id != "" {
		if !iotIDRE.MatchString(id) {
			return store.Device{}, store.Product{}, ErrInvalidIoTID
		}
		d, err := s.st.DeviceByIotID(ctx, c.AccessKeyID, id)
		if errors.Is(err, store.ErrNotFound) {
			return d, store.Product{}, ErrNotExistedDevice
		}
		if err != nil {
			return d, store.Product{}, ErrQueryDeviceAction
		}
		p, err := s.st.Product(ctx, c.AccessKeyID, d.ProductKey)
		if err != nil {
			return d, p, ErrQueryDeviceAction
		}
		// The device exists, but in another instance of the account than
		// the one addressed: the documented code for exactly that [INFERRED trigger].
		if p.InstanceID != c.InstanceID {
			return d, p, ErrDeviceInstanceInconsistent
		}
		return d, p, nil
	}
	pk, name := c.Params["ProductKey"], c.Params["DeviceName"]
	switch {
	case pk == "":
		return store.Device{}, store.Product{}, ErrNullProductKey
	case name == "":
		return store.Device{}, store.Product{}, ErrNullDeviceName
	case !store.ValidDeviceName(name):
		return store.Device{}, store.Product{}, ErrInvalidFormattedDeviceName
	}
	p, e := s.product(ctx, c, pk)
	if e != nil {
		return store.Device{}, p, e
	}
	d, err := s.st.DeviceByName(ctx, c.AccessKeyID, p.ProductKey, name)
	if errors.Is(err, store.ErrNotFound) {
		return d, p, ErrNotExistedDevice
	}
	if err != nil {
		return d, p, ErrQueryDeviceAction
	}
	return d, p, nil
}

// registerDevice creates one device, with the caller's name or a generated
// one. It shares the device table with the batch APIs, so a name taken by
// either path is refused here.
func (s *Server) registerDevice(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.product(ctx, c, c.Params["ProductKey"])
	if e != nil {
		return nil, e
	}
	name := c.Params["DeviceName"]
	if name != "" && !store.ValidDeviceName(name) {
		return nil, ErrInvalidFormattedDeviceName
	}
	nick := c.Params["Nickname"]
	if nick != "" && !store.ValidNickname(nick) {
		// No documented code of its own for a bad nickname [INFERRED].
		return nil, ErrInvalidFormattedParameter.WithMessage("The parameter format is invalid: Nickname.")
	}
	quota := s.deviceQuota()
	var d store.Device
	var err error
	// A generated name that happens to be taken is drawn again.
	for attempt := 0; attempt < 3; attempt++ {
		d, err = s.st.CreateDeviceLimited(ctx, store.Device{AccessKeyID: c.AccessKeyID, ProductKey: p.ProductKey, DeviceName: name, Nickname: nick}, quota)
		if !errors.Is(err, store.ErrConflict) || name != "" {
			break
		}
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, ErrAlreadyExistedDeviceName
	case errors.Is(err, store.ErrLimit):
		return nil, ErrDeviceNumberExceedTenant
	case err != nil:
		return nil, ErrCreateDeviceFailed
	}
	data := Object{
		{"IotId", d.IotID},
		{"ProductKey", d.ProductKey},
		{"DeviceName", d.DeviceName},
		{"DeviceSecret", d.DeviceSecret},
		{"Nickname", d.Nickname},
	}
	// LoRaWAN devices echo their EUIs; nothing else is added, since SDK v1
	// decodes this Data into its shared struct (protocol.md §8).
	if p.NetType == "LORA" {
		data = append(data, Field{"DevEui", c.Params["DevEui"]}, Field{"JoinEui", c.Params["JoinEui"]})
	}
	return Object{{"Data", data}}, nil
}

// queryDeviceDetail reports one device with its product's details.
func (s *Server) queryDeviceDetail(c *Call) (Object, *Error) {
	d, p, e := s.device(c.ctx, c)
	if e != nil {
		return nil, e
	}
	// The emulator has no device connections, so no device is ever
	// activated or online, and a never-activated device has empty
	// activation and online times.
	return Object{{"Data", Object{
		{"IotId", d.IotID},
		{"ProductKey", d.ProductKey},
		{"ProductName", p.ProductName},
		{"DeviceName", d.DeviceName},
		{"DeviceSecret", d.DeviceSecret},
		{"Nickname", d.Nickname},
		{"FirmwareVersion", ""},
		{"Status", d.Status},
		{"IpAddress", ""},
		{"NodeType", p.NodeType},
		{"Region", s.cfg.Region},
		{"Owner", true},
		{"GmtCreate", detailTime(d.Created)},
		{"UtcCreate", utcTime(d.Created)},
		{"GmtActive", ""},
		{"UtcActive", ""},
		{"GmtOnline", ""},
		{"UtcOnline", ""},
	}}}, nil
}

// queryDeviceInfo reports a device's identity. SDK v1 decodes it into the
// shared Data struct, so exactly the five documented fields are sent.
func (s *Server) queryDeviceInfo(c *Call) (Object, *Error) {
	d, _, e := s.device(c.ctx, c)
	if e != nil {
		return nil, e
	}
	return Object{{"Data", Object{
		{"IotId", d.IotID},
		{"ProductKey", d.ProductKey},
		{"DeviceName", d.DeviceName},
		{"DeviceSecret", d.DeviceSecret},
		{"Nickname", d.Nickname},
	}}}, nil
}

// nextToken encodes where the next page starts. The real token is opaque
// too; callers only hand it back.
func nextToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func parseNextToken(tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(raw), "offset:")
	if !ok {
		return 0, false
	}
	off, err := atoiStrict(n)
	return off, err == nil && off >= 0
}

// queryDevice pages through a product's devices, newest first, with the
// paging fields at the top level (apis.md §2.7). Pages beyond
// CurrentPage × PageSize = 10,000 need the NextToken of the page before;
// without it the call is iot.common.InvalidPageParams [INFERRED code].
func (s *Server) queryDevice(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.product(ctx, c, c.Params["ProductKey"])
	if e != nil {
		return nil, e
	}
	page, size, e := paging(c, "CurrentPage", 10, maxDevicePageSize)
	if e != nil {
		return nil, e
	}
	offset := pageOffset(page, size)
	if tok := c.Params["NextToken"]; tok != "" {
		off, ok := parseNextToken(tok)
		if !ok {
			return nil, ErrInvalidPageParams
		}
		offset, page = off, off/size+1
	} else if page > maxDevicePageWindow/size { // page×size > window, without overflow
		return nil, ErrInvalidPageParams
	}
	devs, total, err := s.st.DevicePage(ctx, c.AccessKeyID, p.ProductKey, offset, size)
	if err != nil {
		return nil, ErrQueryDeviceAction
	}
	next := ""
	if offset+len(devs) < total {
		next = nextToken(offset + len(devs))
	}
	list := make(List, len(devs))
	for i, d := range devs {
		list[i] = Object{
			{"DeviceId", d.DeviceID},
			{"DeviceName", d.DeviceName},
			{"ProductKey", d.ProductKey},
			{"DeviceSecret", d.DeviceSecret},
			{"DeviceStatus", d.Status},
			{"IotId", d.IotID},
			{"Nickname", d.Nickname},
			{"GmtCreate", cookieTime(d.Created)},
			{"GmtModified", cookieTime(d.Modified)},
			{"UtcCreate", utcTime(d.Created)},
			{"UtcModified", utcTime(d.Modified)},
		}
	}
	return Object{
		{"Page", page},
		{"PageSize", size},
		{"PageCount", pageCount(total, size)},
		{"Total", total},
		{"NextToken", next},
		{"Data", Object{{"DeviceInfo", list}}},
	}, nil
}

// batchQueryDeviceDetail reports the named devices of one product that
// exist, in request order; unknown names are skipped. Documented: if a
// named device belongs to another account, the whole call fails — with
// iot.common.AuthActionPermissionDeny (errors.md §3).
func (s *Server) batchQueryDeviceDetail(c *Call) (Object, *Error) {
	ctx := c.ctx
	names := c.List("DeviceName")
	if len(names) == 0 {
		// The list is required at the gateway like any required parameter.
		return nil, missing("DeviceName")
	}
	if len(names) > maxBatchQueryNames {
		return nil, ErrTooManyDeviceNames
	}
	for _, n := range names {
		if !store.ValidDeviceName(n) {
			return nil, ErrInvalidNameInNameArray
		}
	}
	pk := c.Params["ProductKey"]
	p, e := s.product(ctx, c, pk)
	if e == ErrNotExistedProduct {
		foreign, err := s.st.DevicesElsewhere(ctx, c.AccessKeyID, pk, names)
		if err != nil {
			return nil, ErrQueryDeviceAction
		}
		if foreign {
			return nil, ErrAuthPermissionDeny
		}
	}
	if e != nil {
		return nil, e
	}
	found, err := s.st.DevicesByName(ctx, c.AccessKeyID, p.ProductKey, names)
	if err != nil {
		return nil, ErrQueryDeviceAction
	}
	list := List{}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		d, ok := found[n]
		if !ok || seen[n] {
			continue
		}
		seen[n] = true
		list = append(list, Object{
			{"ProductKey", d.ProductKey},
			{"ProductName", p.ProductName},
			{"DeviceName", d.DeviceName},
			{"Nickname", d.Nickname},
			{"DeviceSecret", d.DeviceSecret},
			{"IotId", d.IotID},
			{"Status", d.Status},
			{"FirmwareVersion", ""},
			{"NodeType", p.NodeType},
			{"Region", s.cfg.Region},
			{"GmtCreate", detailTime(d.Created)},
			{"UtcCreate", utcTime(d.Created)},
			{"GmtActive", ""}, // never activated, as in QueryDeviceDetail
			{"UtcActive", ""},
		})
	}
	return Object{{"Data", Object{{"Data", list}}}}, nil
}

// deleteDevice deletes one device, freeing its name in the product.
func (s *Server) deleteDevice(c *Call) (Object, *Error) {
	ctx := c.ctx
	d, _, e := s.device(ctx, c)
	if e != nil {
		return nil, e
	}
	err := s.st.DeleteDevice(ctx, c.AccessKeyID, d.IotID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted by a concurrent call between lookup and delete.
		return nil, ErrNotExistedDevice
	case err != nil:
		return nil, ErrDeleteDeviceFailed
	}
	return Object{}, nil
}
