package emulator_test

import (
	"fmt"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"

	"github.com/iot-emulator/iot-emulator/emutest"
)

// BenchmarkBatchFlow10k measures the wall time of one 10,000-name batch
// through the official Go SDK with zero delays: BatchCheckDeviceNames,
// polling to CHECK_SUCCESS, BatchRegisterDeviceWithApplyId, polling to
// CREATE_SUCCESS, and every QueryPageByApplyId page (PageSize 50).
func BenchmarkBatchFlow10k(b *testing.B) {
	srv := emutest.New(b, emutest.WithProgression("immediate"))
	client := srv.NewIotClient()
	pk := srv.ProductKey()
	for i := 0; b.Loop(); i++ {
		names := make([]string, 10_000)
		for j := range names {
			names[j] = fmt.Sprintf("b%03d_dev%05d", i, j)
		}
		check := iot.CreateBatchCheckDeviceNamesRequest()
		check.ProductKey = pk
		check.DeviceName = &names
		resp, err := client.BatchCheckDeviceNames(check)
		if err != nil || !resp.Success {
			b.Fatalf("check: %v %s", err, resp.Code)
		}
		id := resp.Data.ApplyId
		poll(b, client, pk, id, "CHECK_SUCCESS")
		reg := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
		reg.ProductKey = pk
		reg.ApplyId = requestsInteger(id)
		if rr, err := client.BatchRegisterDeviceWithApplyId(reg); err != nil || !rr.Success {
			b.Fatalf("register: %v", err)
		}
		poll(b, client, pk, id, "CREATE_SUCCESS")
		got := 0
		for page := 1; got < 10_000; page++ {
			q := iot.CreateQueryPageByApplyIdRequest()
			q.ApplyId = requestsInteger(id)
			q.PageSize = requestsInteger(50)
			q.CurrentPage = requestsInteger(int64(page))
			pr, err := client.QueryPageByApplyId(q)
			if err != nil || !pr.Success || len(pr.ApplyDeviceList.ApplyDeviceInfo) == 0 {
				b.Fatalf("page %d: %v", page, err)
			}
			got += len(pr.ApplyDeviceList.ApplyDeviceInfo)
		}
	}
}

func poll(b *testing.B, client *iot.Client, pk string, id int64, want string) {
	for {
		q := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		q.ProductKey = pk
		q.ApplyId = requestsInteger(id)
		resp, err := client.QueryBatchRegisterDeviceStatus(q)
		if err != nil || !resp.Success {
			b.Fatalf("status: %v", err)
		}
		if resp.Data.Status == want {
			return
		}
		if resp.Data.Status != "CHECK" && resp.Data.Status != "CREATE" {
			b.Fatalf("status %s, want %s", resp.Data.Status, want)
		}
	}
}

// BenchmarkStatusRoundTrip is one signed SDK call (a status query), the
// unit the 10,000-name flow is quoted against in the README.
func BenchmarkStatusRoundTrip(b *testing.B) {
	srv := emutest.New(b, emutest.WithProgression("immediate"))
	client := srv.NewIotClient()
	check := iot.CreateBatchCheckDeviceNamesRequest()
	check.ProductKey = srv.ProductKey()
	check.DeviceName = &[]string{"light001"}
	resp, err := client.BatchCheckDeviceNames(check)
	if err != nil || !resp.Success {
		b.Fatalf("check: %v", err)
	}
	for b.Loop() {
		poll(b, client, srv.ProductKey(), resp.Data.ApplyId, "CHECK_SUCCESS")
	}
}
