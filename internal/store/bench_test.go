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
// 10,000-device batch.
func BenchmarkPageRead(b *testing.B) {
	st := benchStore(b)
	id := settled(b, st, 0, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		devs, _, err := st.BatchPage(ctx, id, 9_000, 50)
		if err != nil || len(devs) != 50 {
			b.Fatal(err, len(devs))
		}
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

// BenchmarkPropertyPost is the store's share of one property post: the
// latest values and the history of two properties.
func BenchmarkPropertyPost(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	d, err := st.CreateDevice(ctx, iot.Device{AccessKeyID: "ak", ProductKey: "a1Prod", DeviceName: "dev1"}, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		vals := []iot.PropertyValue{{Identifier: "temperature", DataType: "float", Value: fmt.Sprint(20 + i%10), Time: time.UnixMilli(int64(i))},
			{Identifier: "humidity", DataType: "int", Value: fmt.Sprint(i % 100), Time: time.UnixMilli(int64(i))}}
		if err := st.RecordProperties(ctx, d.IotID, vals, benchKeep); err != nil {
			b.Fatal(err)
		}
	}
}

var benchKeep = 100
