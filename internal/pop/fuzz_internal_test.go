package pop

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// FuzzDecode: no query string, form body or content type panics decode,
// and a call it accepts stays within MaxParams parameters with its Format
// settled to JSON or XML. Seeded with the captured SDK requests.
func FuzzDecode(f *testing.F) {
	if file, err := os.Open("../../../shared/testdata/sdk-requests.jsonl"); err == nil {
		sc := bufio.NewScanner(file)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var rec struct {
				Method   string `json:"method"`
				RawQuery string `json:"raw_query"`
				Body     string `json:"body"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && len(rec.RawQuery)+len(rec.Body) < 8192 {
				f.Add(rec.Method, rec.RawQuery, rec.Body, "application/x-www-form-urlencoded")
			}
		}
		file.Close()
	}
	f.Add("POST", "DeviceName.1=a&DeviceName.3=b&DeviceName.99999999999=c", "DeviceNameList.1.DeviceName=x&%zz", "application/x-www-form-urlencoded; charset=utf-8")
	f.Add("GET", "Format=xml&Format=json&=&&", "", "")
	f.Fuzz(func(t *testing.T, method, query, body, contentType string) {
		r, err := http.NewRequest("POST", "http://h/?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		if method == "GET" || method == "POST" {
			r.Method = method
		}
		r.Header.Set("Content-Type", contentType)
		c := &Call{}
		if e := decode(r, c); e != nil {
			return
		}
		if len(c.Params) > MaxParams {
			t.Fatalf("%d parameters accepted", len(c.Params))
		}
	})
}
