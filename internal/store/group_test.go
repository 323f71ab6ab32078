package store_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// devices creates n devices of a new product of account "a".
func devices(t *testing.T, st *store.Store, n int) []iot.Device {
	t.Helper()
	ctx := context.Background()
	p, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "a", ProductName: "grouped"}, 0)
	require.NoError(t, err)
	out := make([]iot.Device, n)
	for i := range out {
		out[i], err = st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: p.ProductKey, DeviceName: fmt.Sprintf("dev%03d", i)}, 0)
		require.NoError(t, err)
	}
	return out
}

func all(iotID, identifier string) iot.HistoryQuery {
	return iot.HistoryQuery{IotID: iotID, Identifier: identifier, Start: 0, End: math.MaxInt64, Limit: 1 << 20}
}

// TestGroupCommit checks the writes devices cause, which share
// transactions: each caller hears of its own write only, nothing queued is
// lost, and reads see every write queued before them.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	t.Run("posts from many devices at once are all stored", func(t *testing.T) {
		st := open(t)
		devs := devices(t, st, 50)
		var wg sync.WaitGroup
		errs := make([]error, len(devs))
		for i, d := range devs {
			wg.Go(func() {
				for k := range 20 {
					v := iot.PropertyValue{Identifier: "humidity", DataType: "int", Value: strconv.Itoa(k), Time: time.UnixMilli(int64(1000 + k))}
					if err := st.RecordProperties(ctx, d.IotID, []iot.PropertyValue{v}, 100); err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for i, d := range devs {
			require.NoError(t, errs[i])
			latest, err := st.LatestProperties(ctx, d.IotID)
			require.NoError(t, err)
			assert.Equal(t, "19", latest["humidity"].Value, d.DeviceName)
			h, err := st.PropertyHistory(ctx, all(d.IotID, "humidity"))
			require.NoError(t, err)
			assert.Len(t, h, 20, d.DeviceName)
		}
	})
	t.Run("a write that fails fails alone, and the others queued with it land", func(t *testing.T) {
		st := open(t)
		devs := devices(t, st, 40)
		gone := devs[0]
		require.NoError(t, st.DeleteDevice(ctx, "a", gone.IotID))
		var wg sync.WaitGroup
		errs := make([]error, len(devs))
		for i, d := range devs {
			wg.Go(func() {
				errs[i] = st.RecordProperties(ctx, d.IotID, []iot.PropertyValue{{Identifier: "x", DataType: "int", Value: "1", Time: time.UnixMilli(1)}}, 10)
			})
		}
		wg.Wait()
		assert.Error(t, errs[0], "the deleted device's write")
		for i, d := range devs[1:] {
			require.NoError(t, errs[i+1], d.DeviceName)
			latest, err := st.LatestProperties(ctx, d.IotID)
			require.NoError(t, err)
			assert.Equal(t, "1", latest["x"].Value, d.DeviceName)
		}
	})
	t.Run("a message logged without waiting is in the log read right after", func(t *testing.T) {
		st := open(t)
		for i := range 100 {
			st.LogMessage(iot.Message{AccessKeyID: "a", Time: time.UnixMilli(int64(i)), Direction: iot.Uplink, ProductKey: "p", DeviceName: "d",
				Topic: "/t", Payload: []byte(strconv.Itoa(i))}, 1000, func(err error) { t.Error(err) })
		}
		ms, err := st.Messages(ctx, iot.MessageFilter{}, 1000)
		require.NoError(t, err)
		require.Len(t, ms, 100)
		assert.Equal(t, "99", string(ms[len(ms)-1].Payload), "the newest last")
	})
	t.Run("the message log keeps its newest keep entries however they were grouped", func(t *testing.T) {
		st := open(t)
		for i := range 1000 {
			st.LogMessage(iot.Message{AccessKeyID: "a", Direction: iot.Uplink, Topic: "/t", Payload: []byte(strconv.Itoa(i))}, 100, func(err error) { t.Error(err) })
		}
		ms, err := st.Messages(ctx, iot.MessageFilter{}, 100)
		require.NoError(t, err)
		require.Len(t, ms, 100)
		assert.Equal(t, "900", string(ms[0].Payload), "the oldest kept")
		assert.Equal(t, "999", string(ms[99].Payload), "the newest")
	})
	t.Run("a message that cannot be stored is reported to its callback", func(t *testing.T) {
		st := open(t)
		failed := make(chan error, 1)
		st.LogMessage(iot.Message{AccessKeyID: "no-such-account", Direction: iot.Uplink, Topic: "/t", Payload: []byte{}}, 10, func(err error) { failed <- err })
		_, err := st.Messages(ctx, iot.MessageFilter{}, 10)
		require.NoError(t, err)
		select {
		case err := <-failed:
			assert.Error(t, err)
		default:
			t.Fatal("the failure was not reported by the time the log was read")
		}
	})
	t.Run("messages still queued at Close are on the file when it is opened again", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		st, err := store.Open(ctx, path, nil)
		require.NoError(t, err)
		require.NoError(t, st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "a", AccessKeySecret: "s"}}}))
		for i := range 500 {
			st.LogMessage(iot.Message{AccessKeyID: "a", Direction: iot.Uplink, Topic: "/t", Payload: []byte(strconv.Itoa(i))}, 0, func(err error) { t.Error(err) })
		}
		require.NoError(t, st.Close())
		st, err = store.Open(ctx, path, nil)
		require.NoError(t, err)
		defer st.Close()
		ms, err := st.Messages(ctx, iot.MessageFilter{}, 0)
		require.NoError(t, err)
		assert.Len(t, ms, 500)
	})
	t.Run("a message logged after Close is reported, not a panic", func(t *testing.T) {
		st, err := store.Open(ctx, store.Memory, nil)
		require.NoError(t, err)
		require.NoError(t, st.Close())
		failed := make(chan error, 1)
		st.LogMessage(iot.Message{AccessKeyID: "a"}, 10, func(err error) { failed <- err })
		assert.Error(t, <-failed)
		assert.Error(t, st.RecordProperties(ctx, "x", []iot.PropertyValue{{Identifier: "x"}}, 10))
	})
}

// TestHistoryBound checks that every history table keeps exactly a
// device's newest keep rows, however many were written and in what sizes.
func TestHistoryBound(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	devs := devices(t, st, 2)
	d, other := devs[0], devs[1]
	t.Run("property history keeps the newest keep points of a device", func(t *testing.T) {
		for k := range 30 {
			vals := []iot.PropertyValue{{Identifier: "a", DataType: "int", Value: strconv.Itoa(k), Time: time.UnixMilli(int64(k + 1))}}
			if k%3 == 0 {
				vals = append(vals, iot.PropertyValue{Identifier: "b", DataType: "int", Value: strconv.Itoa(k), Time: time.UnixMilli(int64(k + 1))})
			}
			require.NoError(t, st.RecordProperties(ctx, d.IotID, vals, 7))
		}
		require.NoError(t, st.RecordProperties(ctx, other.IotID, []iot.PropertyValue{{Identifier: "a", DataType: "int", Value: "0", Time: time.UnixMilli(1)}}, 7))
		a, err := st.PropertyHistory(ctx, all(d.IotID, "a"))
		require.NoError(t, err)
		b, err := st.PropertyHistory(ctx, all(d.IotID, "b"))
		require.NoError(t, err)
		assert.Equal(t, 7, len(a)+len(b), "points of the device")
		require.NotEmpty(t, a)
		assert.Equal(t, "29", a[0].Value, "the newest point is kept")
		o, err := st.PropertyHistory(ctx, all(other.IotID, "a"))
		require.NoError(t, err)
		assert.Len(t, o, 1, "another device's points are its own")
	})
	t.Run("a smaller bound on the next write trims down to it", func(t *testing.T) {
		require.NoError(t, st.RecordProperties(ctx, d.IotID, []iot.PropertyValue{{Identifier: "a", DataType: "int", Value: "30", Time: time.UnixMilli(31)}}, 3))
		a, err := st.PropertyHistory(ctx, all(d.IotID, "a"))
		require.NoError(t, err)
		b, err := st.PropertyHistory(ctx, all(d.IotID, "b"))
		require.NoError(t, err)
		assert.Equal(t, 3, len(a)+len(b))
	})
	t.Run("event history keeps the newest keep events", func(t *testing.T) {
		for k := range 12 {
			require.NoError(t, st.RecordEvent(ctx, iot.EventRecord{IotID: d.IotID, Identifier: "alarm", EventType: "alert", OutputData: "{}", Time: time.UnixMilli(int64(k + 1))}, 5))
		}
		ev, err := st.EventHistory(ctx, all(d.IotID, ""))
		require.NoError(t, err)
		assert.Len(t, ev, 5)
	})
	t.Run("service history keeps the newest keep calls", func(t *testing.T) {
		for k := range 12 {
			require.NoError(t, st.RecordServiceCall(ctx, iot.ServiceRecord{IotID: d.IotID, Identifier: "reboot", MessageID: strconv.Itoa(k), InputData: "{}", Time: time.UnixMilli(int64(k + 1))}, 4))
		}
		sv, err := st.ServiceHistory(ctx, all(d.IotID, ""))
		require.NoError(t, err)
		assert.Len(t, sv, 4)
	})
	t.Run("a deleted device's counts go with it, and a device created in its place starts from none", func(t *testing.T) {
		require.NoError(t, st.DeleteDevice(ctx, "a", d.IotID))
		again, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "a", ProductKey: d.ProductKey, DeviceName: d.DeviceName}, 0)
		require.NoError(t, err)
		for k := range 3 {
			require.NoError(t, st.RecordProperties(ctx, again.IotID, []iot.PropertyValue{{Identifier: "a", DataType: "int", Value: strconv.Itoa(k), Time: time.UnixMilli(int64(k + 1))}}, 3))
		}
		a, err := st.PropertyHistory(ctx, all(again.IotID, "a"))
		require.NoError(t, err)
		assert.Len(t, a, 3)
	})
}
