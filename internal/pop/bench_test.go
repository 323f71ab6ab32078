package pop_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/signature"
)

// BenchmarkGatewayAdmit is one signed V1 call through the whole gateway
// (decode, admit with signature and nonce, the handler, the JSON answer)
// without a socket; the requests are signed before the timer starts.
func BenchmarkGatewayAdmit(b *testing.B) {
	g := pop.New(pop.Config{
		Product: "Toy", Version: "2020-01-01", DefaultHost: "toy.example", VerifySignatures: true,
		Credentials: func(context.Context, string) (pop.Credential, error) {
			return pop.Credential{Secret: "toySecret"}, nil
		},
		Actions: []*pop.Action{{Name: "Echo", Required: []string{"Word"}, Handle: func(c *pop.Call) (pop.Object, error) {
			return pop.Object{{Name: "Word", Value: c.Params["Word"]}}, nil
		}}},
	})
	reqs := make([]string, b.N)
	for i := range reqs {
		reqs[i] = "/?" + signature.SignV1("GET", "toyKey", "toySecret", map[string]string{
			"Action": "Echo", "Version": "2020-01-01", "Format": "JSON", "Word": "hello", "ProductKey": "a1TestProd1", "ApplyId": "1000001"}).Encode()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, reqs[i], nil))
		if w.Code != http.StatusOK {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body)
		}
	}
}

// statusAnswer and pageAnswer are the shapes of a status poll's and a
// 50-device page's answers.
var statusAnswer = pop.Object{
	{Name: "RequestId", Value: "6A3C2B8E-8A1C-4B2A-9B1E-3F1E2D4C5B6A"}, {Name: "Success", Value: true},
	{Name: "Data", Value: pop.Object{
		{Name: "Status", Value: "CREATE_SUCCESS"},
		{Name: "ValidList", Value: pop.Object{{Name: "Name", Value: pop.Strings(nil)}}},
		{Name: "InvalidList", Value: pop.Object{{Name: "Name", Value: pop.Strings(nil)}}},
		{Name: "InvalidDetailList", Value: pop.Object{{Name: "invalidDetailList", Value: pop.List{}}}},
	}},
}

var pageAnswer = func() pop.Object {
	list := make(pop.List, 50)
	for i := range list {
		list[i] = pop.Object{{Name: "DeviceId", Value: fmt.Sprintf("Xk3q9vP2mN%010d", i)}, {Name: "DeviceName", Value: fmt.Sprintf("dev%05d", i)},
			{Name: "DeviceSecret", Value: "f3a9c1e2b4d6a8c0e2f4a6b8c0d2e4f6"}, {Name: "IotId", Value: fmt.Sprintf("Xk3q9vP2mN%010d000100", i)}}
	}
	return pop.Object{{Name: "RequestId", Value: "6A3C2B8E-8A1C-4B2A-9B1E-3F1E2D4C5B6A"}, {Name: "Success", Value: true},
		{Name: "Page", Value: 1}, {Name: "PageSize", Value: 50}, {Name: "PageCount", Value: 2}, {Name: "Total", Value: 100},
		{Name: "ApplyDeviceList", Value: pop.Object{{Name: "ApplyDeviceInfo", Value: list}}}}
}()

// BenchmarkEncode renders a status poll's and a page's answers in both
// formats.
func BenchmarkEncode(b *testing.B) {
	for _, enc := range []struct {
		format string
		encode func(pop.Object) []byte
	}{{"JSON", pop.EncodeJSON}, {"XML", func(o pop.Object) []byte { return pop.EncodeXML("QueryPageByApplyIdResponse", o) }}} {
		for _, c := range []struct {
			name string
			o    pop.Object
		}{{"status poll", statusAnswer}, {"50-device page", pageAnswer}} {
			b.Run(enc.format+" "+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					enc.encode(c.o)
				}
			})
		}
	}
}
