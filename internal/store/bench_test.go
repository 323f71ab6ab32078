package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Memory, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Add(ctx, []iot.Seed{{Account: iot.Account{AccessKeyID: "ak", AccessKeySecret: "secret"}}}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateProduct(ctx, iot.Product{AccessKeyID: "ak", ProductKey: "a1Prod", ProductName: "prod_one"}, 0); err != nil {
		b.Fatal(err)
	}
	return st
}

// settled creates a batch of n names and settles it, returning its ApplyId.
func settled(b *testing.B, st *store.Store, run, n int) int64 {
	ctx := context.Background()
	names := make([]iot.BatchName, n)
	for i := range names {
		names[i].DeviceName = fmt.Sprintf("r%03d_dev%05d", run, i)
	}
	bt, err := st.CreateBatch(ctx, iot.Batch{AccessKeyID: "ak", ProductKey: "a1Prod", Kind: iot.KindNames, Status: iot.StatusCreate}, names)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Settle(ctx, bt.ApplyID, nil, 0); err != nil {
		b.Fatal(err)
	}
	return bt.ApplyID
}

// BenchmarkSettle10k stores a 10,000-name batch and creates its devices:
// the store's share of the 10,000-device flow.
func BenchmarkSettle10k(b *testing.B) {
	st := benchStore(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		settled(b, st, i, 10_000)
	}
}

// BenchmarkStatusPoll is the store's share of a status poll: the account,
// the product and the batch, all served from the cache.
func BenchmarkStatusPoll(b *testing.B) {
	st := benchStore(b)
	id := settled(b, st, 0, 10)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Account(ctx, "ak"); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Product(ctx, "ak", "a1Prod"); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Batch(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPageRead is one QueryPageByApplyId page (50 devices) deep in a
// 10,000-device batch: read from SQL, and read again (from the cache).
func BenchmarkPageRead(b *testing.B) {
	st := benchStore(b)
	id := settled(b, st, 0, 10_000)
	ctx := context.Background()
	readTwice(b, st, func() (int, error) {
		devs, _, err := st.BatchPage(ctx, id, 9_000, 50)
		return len(devs), err
	})
}

// readTwice runs read, which must return 50 devices, as "first read" with
// nothing cached and as "read again" with what it cached.
func readTwice(b *testing.B, st *store.Store, read func() (int, error)) {
	for _, again := range []bool{false, true} {
		name := "first read"
		if again {
			name = "read again"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !again {
					store.DropCache(st)
				}
				if n, err := read(); err != nil || n != 50 {
					b.Fatal(err, n)
				}
			}
		})
	}
}

// BenchmarkDevicePage is QueryDevice's first page of a 10,000-device product.
func BenchmarkDevicePage(b *testing.B) {
	st := benchStore(b)
	settled(b, st, 0, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if devs, _, err := st.DevicePage(ctx, "ak", "a1Prod", 0, 50); err != nil || len(devs) != 50 {
			b.Fatal(err, len(devs))
		}
	}
}

// BenchmarkDeviceDeepPage is QueryDevice's deepest page the API allows
// (offset 9,950) of a 20,000-device product: stepping over 9,950 devices
// (first read), and from the bound the first read left (read again).
func BenchmarkDeviceDeepPage(b *testing.B) {
	st := benchStore(b)
	settled(b, st, 0, 10_000)
	settled(b, st, 1, 10_000)
	ctx := context.Background()
	readTwice(b, st, func() (int, error) {
		devs, _, err := st.DevicePage(ctx, "ak", "a1Prod", 9_950, 50)
		return len(devs), err
	})
}

// BenchmarkPropertyPost is the store's share of one property post: the
// latest values and the history of two properties, and the post's two
// message-log lines; with a history bound of 100, with one of 10,000 that
// the device has filled (the trim used to walk the bound on every post),
// and from 256 devices at once (their writes share transactions).
func BenchmarkPropertyPost(b *testing.B) {
	ctx := context.Background()
	post := func(b *testing.B, st *store.Store, d iot.Device, i, keep int) {
		vals := []iot.PropertyValue{{Identifier: "temperature", DataType: "float", Value: fmt.Sprint(20 + i%10), Time: time.UnixMilli(int64(i))},
			{Identifier: "humidity", DataType: "int", Value: fmt.Sprint(i % 100), Time: time.UnixMilli(int64(i))}}
		m := iot.Message{AccessKeyID: "ak", Direction: iot.Uplink, ProductKey: d.ProductKey, DeviceName: d.DeviceName, Topic: "/sys/a1Prod/" + d.DeviceName + "/thing/event/property/post",
			Payload: []byte(`{"id":"1","version":"1.0","params":{"humidity":3},"method":"thing.event.property.post"}`), MessageID: "1"}
		st.LogMessage(m, 10000, func(err error) { b.Error(err) })
		if err := st.RecordProperties(ctx, d.IotID, vals, keep); err != nil {
			b.Fatal(err)
		}
		m.Direction, m.Topic = iot.Downlink, m.Topic+"_reply"
		st.LogMessage(m, 10000, func(err error) { b.Error(err) })
	}
	device := func(b *testing.B, st *store.Store, name string) iot.Device {
		d, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "ak", ProductKey: "a1Prod", DeviceName: name}, 0)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	for _, keep := range []int{100, 10000} {
		b.Run(fmt.Sprintf("one device, history bound %d, filled", keep), func(b *testing.B) {
			st := benchStore(b)
			d := device(b, st, "dev1")
			for i := range keep / 2 {
				post(b, st, d, i, keep)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				post(b, st, d, i, keep)
			}
		})
	}
	b.Run("256 devices at once", func(b *testing.B) {
		st := benchStore(b)
		devs := make(chan iot.Device, 256)
		for i := range 256 {
			devs <- device(b, st, fmt.Sprintf("dev%03d", i))
		}
		b.ReportAllocs()
		b.SetParallelism(128) // 256 goroutines on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			d := <-devs
			for i := 0; pb.Next(); i++ {
				post(b, st, d, i, 100)
			}
		})
	})
}
