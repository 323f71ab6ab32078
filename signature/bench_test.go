package signature_test

import (
	"net/url"
	"testing"

	"github.com/iot-emulator/iot-emulator/signature"
)

// BenchmarkV1Verify is what the gateway does per V1 call: the string to
// sign from the decoded parameters, then the HMAC and its comparison.
func BenchmarkV1Verify(b *testing.B) {
	q := signature.SignV1("GET", "testAccessKeyId", "testAccessKeySecret", map[string]string{
		"Action": "QueryBatchRegisterDeviceStatus", "Version": "2018-01-20", "Format": "JSON", "ProductKey": "a1TestProd1", "ApplyId": "1000001"})
	params := map[string][]string(url.Values(q))
	got := q.Get("Signature")
	b.ReportAllocs()
	for b.Loop() {
		if !signature.V1Verify("testAccessKeySecret", signature.V1StringToSign("GET", params), got) {
			b.Fatal("signature refused")
		}
	}
}
