package emulator

import (
	"context"
	"errors"
	"strconv"

	"github.com/iot-emulator/iot-emulator/store"
)

// Documented limits of the batch APIs (apis.md §1).
const (
	maxBatchNames    = 10_000
	maxBatchCount    = 10_000
	maxApplyPageSize = 50
)

// product resolves the ProductKey parameter within the caller's account and
// instance. Another account's product, or one in another instance, answers
// as if it did not exist.
func (s *Server) product(ctx context.Context, c *Call, pk string) (store.Product, *Error) {
	if !c.Account.HasInstance(c.InstanceID) {
		return store.Product{}, ErrInstanceNotFound
	}
	if pk == "" {
		return store.Product{}, ErrNullProductKey
	}
	p, err := s.st.Product(ctx, c.AccessKeyID, pk)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.InstanceID != c.InstanceID) {
		return p, ErrNotExistedProduct
	}
	if err != nil {
		return p, ErrSystem
	}
	return p, nil
}

// batch resolves the ApplyId parameter within the caller's account and
// instance; productKey, when not empty, must be the batch's product. An
// ApplyId of another account answers foreign, for the APIs whose
// documented errors include iot.common.InvalidTenant, and otherwise as if
// it did not exist.
func (s *Server) batch(ctx context.Context, c *Call, productKey string, foreign *Error) (store.Batch, *Error) {
	raw := c.Params["ApplyId"]
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return store.Batch{}, ErrInvalidFormattedApplyID
	}
	b, err := s.st.Batch(ctx, "", id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return b, ErrDeviceApplyNotFound
	case err != nil:
		return b, ErrSystem
	case b.AccessKeyID != c.AccessKeyID:
		return store.Batch{}, foreign
	case b.InstanceID != c.InstanceID:
		return b, ErrDeviceApplyNotFound
	}
	if productKey != "" && b.ProductKey != productKey {
		return b, ErrIncorrectApplyInfo
	}
	return b, nil
}

func applyIDData(id int64) Object {
	return Object{{"Data", Object{{"ApplyId", id}}}}
}

// batchCheckDeviceNames checks name syntax now and leaves the rest (names
// that exist already) to the worker, as the real service does.
func (s *Server) batchCheckDeviceNames(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.productOf(ctx, c, c.Params["ProductKey"], ErrInvalidTenant)
	if e != nil {
		return nil, e
	}
	var names []store.BatchName
	// Documented: when both lists are sent, DeviceNameList wins.
	if objs := c.ObjectList("DeviceNameList"); len(objs) > 0 {
		for _, o := range objs {
			names = append(names, store.BatchName{DeviceName: o["DeviceName"], Nickname: o["DeviceNickname"]})
		}
	} else {
		for _, n := range c.List("DeviceName") {
			names = append(names, store.BatchName{DeviceName: n})
		}
	}
	if len(names) == 0 {
		return nil, ErrNoneDeviceNameElement
	}
	if len(names) > maxBatchNames {
		names = names[:maxBatchNames] // documented: extra names are dropped, not refused
	}
	badNames, badNicks, repeated := []string{}, []string{}, []string{}
	seen := make(map[string]int, len(names))
	for _, n := range names {
		if !store.ValidDeviceName(n.DeviceName) {
			badNames = append(badNames, n.DeviceName)
		}
		if n.Nickname != "" && !store.ValidNickname(n.Nickname) {
			badNicks = append(badNicks, n.Nickname)
		}
		seen[n.DeviceName]++
		if seen[n.DeviceName] == 2 {
			repeated = append(repeated, n.DeviceName)
		}
	}
	if len(badNames)+len(badNicks)+len(repeated) > 0 {
		return nil, ErrInvalidNameInNameArray.WithData(Object{
			{"InvalidDeviceNameList", Object{{"InvalidDeviceName", Strings(badNames)}}},
			{"InvalidDeviceNicknameList", Object{{"InvalidDeviceNickname", Strings(badNicks)}}},
			{"RepeatedDeviceNameList", Object{{"RepeatDevieNameList", Strings(repeated)}}},
		})
	}
	return s.startBatch(ctx, c, p, store.KindNames, store.StatusCheck, names)
}

// startBatch stores a new batch in its first transient state, timed by
// the progression policy, and hands it to the worker.
func (s *Server) startBatch(ctx context.Context, c *Call, p store.Product, kind, status string, names []store.BatchName) (Object, *Error) {
	s.sched.RLock()
	defer s.sched.RUnlock()
	due, polls := s.schedule(status)
	b, err := s.st.CreateBatch(ctx, store.Batch{AccessKeyID: c.AccessKeyID, InstanceID: c.InstanceID, ProductKey: p.ProductKey,
		Kind: kind, Status: status, Due: due, PollsLeft: polls}, names)
	if err != nil {
		return nil, ErrSystem
	}
	s.worker.wake()
	return applyIDData(b.ApplyID), nil
}

// queryBatchRegisterDeviceStatus reports a batch's state. Under the polls
// progression it also counts the query, and the query that uses up the
// count moves the batch on after answering with the state it saw.
func (s *Server) queryBatchRegisterDeviceStatus(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.productOf(ctx, c, c.Params["ProductKey"], ErrInvalidTenant)
	if e != nil {
		return nil, e
	}
	b, e := s.batch(ctx, c, p.ProductKey, ErrInvalidTenant)
	if e != nil {
		return nil, e
	}
	valid, invalid, details := []string{}, []string{}, List{}
	switch b.Status {
	case store.StatusCheckFailed, store.StatusCreateFailed, store.StatusCheckSuccess, store.StatusCreateSuccess:
		names, err := s.st.BatchNames(ctx, b.ApplyID)
		if err != nil {
			return nil, ErrSystem
		}
		failed := b.Status == store.StatusCheckFailed || b.Status == store.StatusCreateFailed
		for _, n := range names {
			switch {
			case n.ErrorMsg != "":
				invalid = append(invalid, n.DeviceName)
				details = append(details, Object{{"DeviceName", n.DeviceName}, {"ErrorMsg", n.ErrorMsg}, {"NickName", n.Nickname}})
			case failed || s.cfg.SuccessLists:
				valid = append(valid, n.DeviceName)
			}
		}
	}
	out := Object{{"Data", Object{
		{"Status", b.Status},
		{"ValidList", Object{{"Name", Strings(valid)}}},
		{"InvalidList", Object{{"Name", Strings(invalid)}}},
		{"InvalidDetailList", Object{{"invalidDetailList", details}}},
	}}}
	if b.Transient() && b.PollsLeft != nil {
		if done, err := s.st.CountPoll(ctx, b.ApplyID); err == nil && done {
			// Detached: once the count is used up, the batch moves on even
			// if this client leaves before the answer.
			s.worker.settle(context.WithoutCancel(ctx), b.ApplyID, nil)
		}
	}
	return out, nil
}

// batchRegisterDeviceWithApplyID submits creation of a checked batch; the
// worker creates the devices.
func (s *Server) batchRegisterDeviceWithApplyID(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.product(ctx, c, c.Params["ProductKey"])
	if e != nil {
		return nil, e
	}
	b, e := s.batch(ctx, c, p.ProductKey, ErrDeviceApplyNotFound)
	if e != nil {
		return nil, e
	}
	if b.Kind != store.KindNames {
		return nil, ErrIncorrectApplyInfo
	}
	if p.DeviceCount+b.Count > s.deviceQuota() {
		return nil, ErrDeviceNumberExceedTenant
	}
	s.sched.RLock()
	due, polls := s.schedule(store.StatusCreate)
	b, err := s.st.StartCreate(ctx, b.ApplyID, due, polls)
	s.sched.RUnlock()
	switch {
	case errors.Is(err, store.ErrState) && b.Status == store.StatusCreate:
		return nil, ErrCreateTaskRunning
	case errors.Is(err, store.ErrState):
		return nil, ErrIncorrectApplyInfo
	case err != nil:
		return nil, ErrSystem
	}
	s.worker.wake()
	return applyIDData(b.ApplyID), nil
}

// batchRegisterDevice starts a batch of Count platform-named devices.
func (s *Server) batchRegisterDevice(c *Call) (Object, *Error) {
	ctx := c.ctx
	p, e := s.product(ctx, c, c.Params["ProductKey"])
	if e != nil {
		return nil, e
	}
	n, err := atoiStrict(c.Params["Count"])
	switch {
	case err != nil || n <= 0:
		return nil, ErrInvalidFormattedParameter
	case n > maxBatchCount:
		return nil, ErrDeviceCountExceeded
	case p.DeviceCount+n > s.deviceQuota():
		return nil, ErrDeviceNumberExceedTenant
	}
	names := make([]store.BatchName, n)
	for i := range names {
		names[i].DeviceName = store.NewDeviceName()
	}
	return s.startBatch(ctx, c, p, store.KindRandom, store.StatusCreate, names)
}

// queryPageByApplyID pages through the devices a batch created.
func (s *Server) queryPageByApplyID(c *Call) (Object, *Error) {
	ctx := c.ctx
	if !c.Account.HasInstance(c.InstanceID) {
		return nil, ErrInstanceNotFound
	}
	page, size, e := paging(c, "CurrentPage", 10, maxApplyPageSize)
	if e != nil {
		return nil, e
	}
	b, e := s.batch(ctx, c, "", ErrInvalidTenant)
	if e != nil {
		return nil, e
	}
	devs, total, err := s.st.BatchDevices(ctx, b.ApplyID, pageOffset(page, size), size)
	if err != nil {
		return nil, ErrSystem
	}
	list := make(List, len(devs))
	for i, d := range devs {
		list[i] = Object{{"DeviceId", d.DeviceID}, {"DeviceName", d.DeviceName}, {"DeviceSecret", d.DeviceSecret}, {"IotId", d.IotID}}
	}
	return Object{
		{"Page", page},
		{"PageSize", size},
		{"PageCount", pageCount(total, size)},
		{"Total", total},
		{"ApplyDeviceList", Object{{"ApplyDeviceInfo", list}}},
	}, nil
}
