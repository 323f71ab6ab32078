package actions

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/batch"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// maxApplyPageSize is QueryPageByApplyId's largest PageSize
// (docs/fidelity.md, apis §1).
const maxApplyPageSize = 50

// findProduct resolves the ProductKey parameter within the caller's account and
// instance. Another account's product, or one in another instance, answers
// as if it did not exist.
func findProduct(ctx context.Context, st *store.Store, c *pop.Call, pk string) (iot.Product, error) {
	if !account(c).HasInstance(c.InstanceID) {
		return iot.Product{}, ErrInstanceNotFound
	}
	if pk == "" {
		return iot.Product{}, ErrNullProductKey
	}
	p, err := st.Product(ctx, c.AccessKeyID, pk)
	if errors.Is(err, iot.ErrNotFound) || (err == nil && p.InstanceID != c.InstanceID) {
		return p, ErrNotExistedProduct
	}
	if err != nil {
		return p, err
	}
	return p, nil
}

// findBatch resolves the ApplyId parameter within the caller's account and
// instance; productKey, when not empty, must be the batch's product. An
// ApplyId of another account answers foreign, for the APIs whose
// documented errors include iot.common.InvalidTenant, and otherwise as if
// it did not exist.
func findBatch(ctx context.Context, st *store.Store, c *pop.Call, productKey string, foreign error) (iot.Batch, error) {
	raw := c.Params["ApplyId"]
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return iot.Batch{}, ErrInvalidFormattedApplyID
	}
	b, err := st.Batch(ctx, id)
	switch {
	case errors.Is(err, iot.ErrNotFound):
		return b, ErrDeviceApplyNotFound
	case err != nil:
		return b, err
	case b.AccessKeyID != c.AccessKeyID:
		return iot.Batch{}, foreign
	case b.InstanceID != c.InstanceID:
		return b, ErrDeviceApplyNotFound
	}
	if productKey != "" && b.ProductKey != productKey {
		return b, ErrIncorrectApplyInfo
	}
	return b, nil
}

func applyIDData(id int64) pop.Object {
	return pop.Object{{Name: "Data", Value: pop.Object{{Name: "ApplyId", Value: id}}}}
}

// batchCheckDeviceNames checks name syntax now and leaves the rest (names
// that exist already) to the worker, as the real service does.
func batchCheckDeviceNames(st *store.Store, w *batch.Worker) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProductOf(ctx, st, c, c.Params["ProductKey"], ErrInvalidTenant)
		if e != nil {
			return nil, e
		}
		var names []iot.BatchName
		// Documented: when both lists are sent, DeviceNameList wins.
		if objs := c.ObjectList("DeviceNameList"); len(objs) > 0 {
			for _, o := range objs {
				names = append(names, iot.BatchName{DeviceName: o["DeviceName"], Nickname: o["DeviceNickname"]})
			}
		} else {
			for _, n := range c.List("DeviceName") {
				names = append(names, iot.BatchName{DeviceName: n})
			}
		}
		if len(names) == 0 {
			return nil, ErrNoneDeviceNameElement
		}
		if len(names) > iot.MaxBatchNames {
			names = names[:iot.MaxBatchNames] // documented: extra names are dropped, not refused
		}
		badNames, badNicks, repeated := []string{}, []string{}, []string{}
		seen := make(map[string]int, len(names))
		for _, n := range names {
			if !iot.ValidDeviceName(n.DeviceName) {
				badNames = append(badNames, n.DeviceName)
			}
			if n.Nickname != "" && !iot.ValidNickname(n.Nickname) {
				badNicks = append(badNicks, n.Nickname)
			}
			seen[n.DeviceName]++
			if seen[n.DeviceName] == 2 {
				repeated = append(repeated, n.DeviceName)
			}
		}
		if len(badNames)+len(badNicks)+len(repeated) > 0 {
			return nil, ErrInvalidNameInNameArray.WithData(pop.Object{
				{Name: "InvalidDeviceNameList", Value: pop.Object{{Name: "InvalidDeviceName", Value: pop.Strings(badNames)}}},
				{Name: "InvalidDeviceNicknameList", Value: pop.Object{{Name: "InvalidDeviceNickname", Value: pop.Strings(badNicks)}}},
				{Name: "RepeatedDeviceNameList", Value: pop.Object{{Name: "RepeatDevieNameList", Value: pop.Strings(repeated)}}},
			})
		}
		return startBatch(ctx, st, w, c, p, iot.KindNames, iot.StatusCheck, names)
	}
}

// startBatch stores a new batch in its first transient state, timed by
// the progression policy, and hands it to the worker.
func startBatch(ctx context.Context, st *store.Store, w *batch.Worker, c *pop.Call, p iot.Product, kind, status string, names []iot.BatchName) (pop.Object, error) {
	b, err := w.Enter(status, func(due *time.Time, polls *int) (iot.Batch, error) {
		return st.CreateBatch(ctx, iot.Batch{AccessKeyID: c.AccessKeyID, InstanceID: c.InstanceID, ProductKey: p.ProductKey,
			Kind: kind, Status: status, Due: due, PollsLeft: polls}, names)
	})
	if err != nil {
		return nil, err
	}
	return applyIDData(b.ApplyID), nil
}

// queryBatchRegisterDeviceStatus reports a batch's state. Under the polls
// progression it also counts the query, and the query that uses up the
// count moves the batch on after answering with the state it saw.
func queryBatchRegisterDeviceStatus(st *store.Store, w *batch.Worker, successLists bool) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProductOf(ctx, st, c, c.Params["ProductKey"], ErrInvalidTenant)
		if e != nil {
			return nil, e
		}
		b, e := findBatch(ctx, st, c, p.ProductKey, ErrInvalidTenant)
		if e != nil {
			return nil, e
		}
		valid, invalid, details := []string{}, []string{}, pop.List{}
		// A batch without failures answers empty lists unless the row
		// lists successes, so its names are read only when they are shown.
		if b.Settled() && (b.Failure() || successLists) {
			names, err := st.BatchNames(ctx, b.ApplyID)
			if err != nil {
				return nil, err
			}
			failed := b.Failure()
			for _, n := range names {
				switch {
				case n.ErrorMsg != "":
					invalid = append(invalid, n.DeviceName)
					details = append(details, pop.Object{{Name: "DeviceName", Value: n.DeviceName}, {Name: "ErrorMsg", Value: n.ErrorMsg}, {Name: "NickName", Value: n.Nickname}})
				case failed || successLists:
					valid = append(valid, n.DeviceName)
				}
			}
		}
		out := pop.Object{{Name: "Data", Value: pop.Object{
			{Name: "Status", Value: b.Status},
			{Name: "ValidList", Value: pop.Object{{Name: "Name", Value: pop.Strings(valid)}}},
			{Name: "InvalidList", Value: pop.Object{{Name: "Name", Value: pop.Strings(invalid)}}},
			{Name: "InvalidDetailList", Value: pop.Object{{Name: "invalidDetailList", Value: details}}},
		}}}
		// The query that uses up a polls:N count moves the batch on after
		// it has seen the state it answers.
		if err := w.CountPoll(ctx, b); err != nil {
			return nil, err
		}
		return out, nil
	}
}

// batchRegisterDeviceWithApplyID submits creation of a checked batch; the
// worker creates the devices.
func batchRegisterDeviceWithApplyID(st *store.Store, w *batch.Worker, quota int) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		b, e := findBatch(ctx, st, c, p.ProductKey, ErrDeviceApplyNotFound)
		if e != nil {
			return nil, e
		}
		if b.Kind != iot.KindNames {
			return nil, ErrIncorrectApplyInfo
		}
		if p.DeviceCount+b.Count > quota {
			return nil, ErrDeviceNumberExceedTenant
		}
		b, err := w.Enter(iot.StatusCreate, func(due *time.Time, polls *int) (iot.Batch, error) {
			return st.StartCreate(ctx, b.ApplyID, due, polls)
		})
		switch {
		case errors.Is(err, iot.ErrState) && b.Status == iot.StatusCreate:
			return nil, ErrCreateTaskRunning
		case errors.Is(err, iot.ErrState):
			return nil, ErrIncorrectApplyInfo
		case err != nil:
			return nil, err
		}
		return applyIDData(b.ApplyID), nil
	}
}

// batchRegisterDevice starts a batch of Count platform-named devices.
func batchRegisterDevice(st *store.Store, w *batch.Worker, quota int) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		p, e := findProduct(ctx, st, c, c.Params["ProductKey"])
		if e != nil {
			return nil, e
		}
		n, err := pop.ParseInt(c.Params["Count"])
		switch {
		case err != nil || n <= 0:
			return nil, ErrInvalidFormattedParameter
		case n > iot.MaxBatchCount:
			return nil, ErrDeviceCountExceeded
		case p.DeviceCount+n > quota:
			return nil, ErrDeviceNumberExceedTenant
		}
		names := make([]iot.BatchName, n)
		for i := range names {
			names[i].DeviceName = iot.NewDeviceName()
		}
		return startBatch(ctx, st, w, c, p, iot.KindRandom, iot.StatusCreate, names)
	}
}

// queryPageByApplyID pages through the devices a batch created.
func queryPageByApplyID(st *store.Store) pop.Handler {
	return func(c *pop.Call) (pop.Object, error) {
		ctx := c.Context()
		if !account(c).HasInstance(c.InstanceID) {
			return nil, ErrInstanceNotFound
		}
		page, size, e := paging(c, "CurrentPage", 10, maxApplyPageSize)
		if e != nil {
			return nil, e
		}
		b, e := findBatch(ctx, st, c, "", ErrInvalidTenant)
		if e != nil {
			return nil, e
		}
		devs, total, err := st.BatchPage(ctx, b.ApplyID, pageOffset(page, size), size)
		if err != nil {
			return nil, err
		}
		// One backing array for every device's fields, pointing into devs:
		// two allocations for the page instead of five per device.
		list := make(pop.List, len(devs))
		fields := make([]pop.Field, 4*len(devs))
		for i := range devs {
			d := &devs[i]
			o := pop.Object(fields[4*i : 4*i+4 : 4*i+4])
			o[0], o[1], o[2], o[3] = pop.Field{Name: "DeviceId", Value: &d.DeviceID}, pop.Field{Name: "DeviceName", Value: &d.DeviceName},
				pop.Field{Name: "DeviceSecret", Value: &d.DeviceSecret}, pop.Field{Name: "IotId", Value: &d.IotID}
			list[i] = o
		}
		return pop.Object{
			{Name: "Page", Value: page},
			{Name: "PageSize", Value: size},
			{Name: "PageCount", Value: pageCount(total, size)},
			{Name: "Total", Value: total},
			{Name: "ApplyDeviceList", Value: pop.Object{{Name: "ApplyDeviceInfo", Value: list}}},
		}, nil
	}
}
