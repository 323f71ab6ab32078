package actions

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// Documented limits of the device APIs (docs/fidelity.md, apis §2.5–§2.10).
const (
	maxDevicePageSize   = 50
	maxDevicePageWindow = 10_000 // CurrentPage × PageSize beyond this needs NextToken
	maxBatchQueryNames  = 100
)

// chinaTime is the zone of the Gmt* fields of the device detail APIs,
// which despite the name are China Standard Time (docs/fidelity.md, apis §2.6).
var chinaTime = time.FixedZone("CST", 8*60*60)

// The three timestamp formats of the device APIs (docs/fidelity.md, apis §2.6, §2.7).
func detailTime(t time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04:05") }
func utcTime(t time.Time) string    { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
func cookieTime(t time.Time) string { return t.UTC().Format("Mon, 02-Jan-2006 15:04:05 GMT") }

// optTime formats a time that may never have happened: empty when zero.
func optTime(format func(time.Time) string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return format(t)
}

// device resolves the device a call names: IotId when given (it wins over
// ProductKey+DeviceName, docs/fidelity.md, apis §2.6), else ProductKey and DeviceName. A
// device of another account answers as if it did not exist.
func findDevice(ctx context.Context, st *store.Store, c *pop.Call) (iot.Device, iot.Product, error) {
	if !account(c).HasInstance(c.InstanceID) {
		return iot.Device{}, iot.Product{}, ErrInstanceNotFound
	}
	if id := c.Params["IotId"]; id != "" {
		if !iot.ValidIotID(id) {
			return iot.Device{}, iot.Product{}, ErrInvalidIoTID
		}
		d, err := st.DeviceByIotID(ctx, c.AccessKeyID, id)
		if errors.Is(err, iot.ErrNotFound) {
			return d, iot.Product{}, ErrNotExistedDevice
		}
		if err != nil {
			return d, iot.Product{}, err
		}
		p, err := st.Product(ctx, c.AccessKeyID, d.ProductKey)
		if errors.Is(err, iot.ErrNotFound) {
			// Its product was deleted, with it, since the device was read.
			return d, p, ErrNotExistedDevice
		}
		if err != nil {
			return d, p, err
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
		return iot.Device{}, iot.Product{}, ErrNullProductKey
	case name == "":
		return iot.Device{}, iot.Product{}, ErrNullDeviceName
	case !iot.ValidDeviceName(name):
		return iot.Device{}, iot.Product{}, ErrInvalidFormattedDeviceName
	}
	p, e := findProduct(ctx, st, c, pk)
	if e != nil {
		return iot.Device{}, p, e
	}
	d, err := st.DeviceByName(ctx, c.AccessKeyID, p.ProductKey, name)
	if errors.Is(err, iot.ErrNotFound) {
		return d, p, ErrNotExistedDevice
	}
	if err != nil {
		return d, p, err
	}
	return d, p, nil
}

// registerDevice creates one device, with the caller's name or a generated
// one. It shares the device table with the batch APIs, so a name taken by
// either path is refused here.
func registerDevice(st *store.Store, quota int) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		name := c.Params["DeviceName"]
		if name != "" && !iot.ValidDeviceName(name) {
			return nil, ErrInvalidFormattedDeviceName
		}
		nick := c.Params["Nickname"]
		if nick != "" && !iot.ValidNickname(nick) {
			// No documented code of its own for a bad nickname [INFERRED].
			return nil, ErrInvalidFormattedParameter.WithMessage("The parameter format is invalid: Nickname.")
		}
		quota := quota
		var d iot.Device
		var err error
		// A generated name that happens to be taken is drawn again.
		for attempt := 0; attempt < 3; attempt++ {
			d, err = st.CreateDevice(ctx, iot.Device{AccessKeyID: c.AccessKeyID, ProductKey: p.ProductKey, DeviceName: name, Nickname: nick}, quota)
			if !errors.Is(err, iot.ErrConflict) || name != "" {
				break
			}
		}
		switch {
		case errors.Is(err, iot.ErrConflict):
			return nil, ErrAlreadyExistedDeviceName
		case errors.Is(err, iot.ErrLimit):
			return nil, ErrDeviceNumberExceedTenant
		case err != nil:
			return nil, err
		}
		data := pop.Object{
			{Name: "IotId", Value: d.IotID},
			{Name: "ProductKey", Value: d.ProductKey},
			{Name: "DeviceName", Value: d.DeviceName},
			{Name: "DeviceSecret", Value: d.DeviceSecret},
			{Name: "Nickname", Value: d.Nickname},
		}
		// LoRaWAN devices echo their EUIs; nothing else is added, since SDK v1
		// decodes this Data into its shared struct (docs/fidelity.md, protocol §8).
		if p.NetType == "LORA" {
			data = append(data, pop.Field{Name: "DevEui", Value: c.Params["DevEui"]}, pop.Field{Name: "JoinEui", Value: c.Params["JoinEui"]})
		}
		return pop.Object{{Name: "Data", Value: data}}, nil
	}
}

// queryDeviceDetail reports one device with its product's details.
func queryDeviceDetail(st *store.Store, region string) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		d, p, e := findDevice(c.Context(), st, c)
		if e != nil {
			return nil, e
		}
		// A device that never logged in has empty activation and online
		// times (docs/fidelity.md, devices §6.2).
		return pop.Object{{Name: "Data", Value: pop.Object{
			{Name: "IotId", Value: d.IotID},
			{Name: "ProductKey", Value: d.ProductKey},
			{Name: "ProductName", Value: p.ProductName},
			{Name: "DeviceName", Value: d.DeviceName},
			{Name: "DeviceSecret", Value: d.DeviceSecret},
			{Name: "Nickname", Value: d.Nickname},
			{Name: "FirmwareVersion", Value: ""},
			{Name: "Status", Value: d.Status},
			{Name: "IpAddress", Value: d.IPAddress},
			{Name: "NodeType", Value: p.NodeType},
			{Name: "Region", Value: region},
			{Name: "Owner", Value: true},
			{Name: "GmtCreate", Value: detailTime(d.Created)},
			{Name: "UtcCreate", Value: utcTime(d.Created)},
			{Name: "GmtActive", Value: optTime(detailTime, d.Activated)},
			{Name: "UtcActive", Value: optTime(utcTime, d.Activated)},
			{Name: "GmtOnline", Value: optTime(detailTime, d.LastOnline)},
			{Name: "UtcOnline", Value: optTime(utcTime, d.LastOnline)},
		}}}, nil
	}
}

// queryDeviceInfo reports a device's identity. SDK v1 decodes it into the
// shared Data struct, so exactly the five documented fields are sent.
func queryDeviceInfo(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		d, _, e := findDevice(c.Context(), st, c)
		if e != nil {
			return nil, e
		}
		return pop.Object{{Name: "Data", Value: pop.Object{
			{Name: "IotId", Value: d.IotID},
			{Name: "ProductKey", Value: d.ProductKey},
			{Name: "DeviceName", Value: d.DeviceName},
			{Name: "DeviceSecret", Value: d.DeviceSecret},
			{Name: "Nickname", Value: d.Nickname},
		}}}, nil
	}
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
	off, err := pop.ParseInt(n)
	return off, err == nil && off >= 0
}

// queryDevice pages through a product's devices, newest first, with the
// paging fields at the top level (docs/fidelity.md, apis §2.7). Pages beyond
// CurrentPage × PageSize = 10,000 need the NextToken of the page before;
// without it the call is iot.common.InvalidPageParams [INFERRED code].
func queryDevice(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
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
		devs, total, err := st.DevicePage(ctx, c.AccessKeyID, p.ProductKey, offset, size)
		if err != nil {
			return nil, err
		}
		next := ""
		if offset+len(devs) < total {
			next = nextToken(offset + len(devs))
		}
		list := make(pop.List, len(devs))
		for i, d := range devs {
			list[i] = pop.Object{
				{Name: "DeviceId", Value: d.DeviceID},
				{Name: "DeviceName", Value: d.DeviceName},
				{Name: "ProductKey", Value: d.ProductKey},
				{Name: "DeviceSecret", Value: d.DeviceSecret},
				{Name: "DeviceStatus", Value: d.Status},
				{Name: "IotId", Value: d.IotID},
				{Name: "Nickname", Value: d.Nickname},
				{Name: "GmtCreate", Value: cookieTime(d.Created)},
				{Name: "GmtModified", Value: cookieTime(d.Modified)},
				{Name: "UtcCreate", Value: utcTime(d.Created)},
				{Name: "UtcModified", Value: utcTime(d.Modified)},
			}
		}
		return pop.Object{
			{Name: "Page", Value: page},
			{Name: "PageSize", Value: size},
			{Name: "PageCount", Value: pageCount(total, size)},
			{Name: "Total", Value: total},
			{Name: "NextToken", Value: next},
			{Name: "Data", Value: pop.Object{{Name: "DeviceInfo", Value: list}}},
		}, nil
	}
}

// batchQueryDeviceDetail reports the named devices of one product that
// exist, in request order; unknown names are skipped. Documented: if a
// named device belongs to another account, the whole call fails — with
// iot.common.AuthActionPermissionDeny (docs/fidelity.md, errors §3).
func batchQueryDeviceDetail(st *store.Store, region string) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		names := c.List("DeviceName")
		if len(names) == 0 {
			// The list is required at the gateway like any required parameter.
			return nil, pop.Missing("DeviceName")
		}
		if len(names) > maxBatchQueryNames {
			return nil, ErrTooManyDeviceNames
		}
		for _, n := range names {
			if !iot.ValidDeviceName(n) {
				return nil, ErrInvalidNameInNameArray
			}
		}
		pk := c.Params["ProductKey"]
		p, e := findProduct(ctx, st, c, pk)
		if errors.Is(e, ErrNotExistedProduct) {
			foreign, err := st.DevicesElsewhere(ctx, c.AccessKeyID, pk, names)
			if err != nil {
				return nil, err
			}
			if foreign {
				return nil, ErrAuthPermissionDeny
			}
		}
		if e != nil {
			return nil, e
		}
		found, err := st.DevicesByName(ctx, c.AccessKeyID, p.ProductKey, names)
		if err != nil {
			return nil, err
		}
		list := pop.List{}
		seen := make(map[string]bool, len(names))
		for _, n := range names {
			d, ok := found[n]
			if !ok || seen[n] {
				continue
			}
			seen[n] = true
			list = append(list, pop.Object{
				{Name: "ProductKey", Value: d.ProductKey},
				{Name: "ProductName", Value: p.ProductName},
				{Name: "DeviceName", Value: d.DeviceName},
				{Name: "Nickname", Value: d.Nickname},
				{Name: "DeviceSecret", Value: d.DeviceSecret},
				{Name: "IotId", Value: d.IotID},
				{Name: "Status", Value: d.Status},
				{Name: "FirmwareVersion", Value: ""},
				{Name: "NodeType", Value: p.NodeType},
				{Name: "Region", Value: region},
				{Name: "GmtCreate", Value: detailTime(d.Created)},
				{Name: "UtcCreate", Value: utcTime(d.Created)},
				{Name: "GmtActive", Value: optTime(detailTime, d.Activated)},
				{Name: "UtcActive", Value: optTime(utcTime, d.Activated)},
			})
		}
		return pop.Object{{Name: "Data", Value: pop.Object{{Name: "Data", Value: list}}}}, nil
	}
}

// deleteDevice deletes one device, freeing its name in the product.
func deleteDevice(st *store.Store, conns Connections) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		d, _, e := findDevice(ctx, st, c)
		if e != nil {
			return nil, e
		}
		err := st.DeleteDevice(ctx, c.AccessKeyID, d.IotID)
		switch {
		case errors.Is(err, iot.ErrNotFound):
			// Deleted by a concurrent call between lookup and delete.
			return nil, ErrNotExistedDevice
		case err != nil:
			return nil, err
		}
		conns.Kick(d.AccessKeyID, d.IotID, "device deleted")
		return pop.Object{}, nil
	}
}
