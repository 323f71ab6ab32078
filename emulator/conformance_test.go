package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/signature"
)

// exampleValues holds a well-formed value for every parameter an action of
// the table requires. An action that requires a parameter not listed here
// fails TestConformance, so a new action is checked as soon as it has a row.
var exampleValues = map[string]string{
	"ProductKey": "a1TestProd1", "ApplyId": "1000001", "Count": "1", "ProductName": "conformance_1",
	"NodeType": "0", "CurrentPage": "1", "PageSize": "10",
	"TopicFullName": "/a1TestProd1/dev1/user/get", "MessageContent": "aGk=", "DeviceName": "dev1",
	"RequestBase64Byte": "aGk=", "Timeout": "1000", "Items": `{"LightSwitch":1}`, "Identifier": "temperature",
	"Args": "{}", "StartTime": "1700000000000", "EndTime": "1800000000000", "Asc": "0",
	"ShadowMessage": `{"method":"update","state":{"desired":{"a":1}},"version":1}`, "Versions": `{"LightSwitch":0}`,
}

var xmlCodeRE = regexp.MustCompile(`<Code>([^<]*)</Code>`)

// TestConformance is derived from the action table: every action answers
// Missing{Param} for each required parameter left out, in both formats, and
// has at least one success and one error golden file in JSON and in XML.
func TestConformance(t *testing.T) {
	srv := emutest.New(t)
	for _, a := range emulator.Actions() {
		t.Run(a.Name+" answers Missing{Param} for each required parameter left out", func(t *testing.T) {
			for _, left := range a.Required {
				params := map[string]string{"Action": a.Name}
				for _, p := range a.Required {
					v, ok := exampleValues[p]
					require.True(t, ok, "exampleValues has no value for %s's required parameter %s", a.Name, p)
					if p != left {
						params[p] = v
					}
				}
				for _, format := range []string{"JSON", "XML"} {
					params["Format"] = format
					resp, body := signedGet(t, srv.URL(), params)
					assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s without %s in %s: %s", a.Name, left, format, body)
					assert.Equal(t, "Missing"+left, errorCode(t, format, body), "%s without %s in %s", a.Name, left, format)
				}
			}
		})
		t.Run(a.Name+" has a success and an error golden in JSON and in XML", func(t *testing.T) {
			for _, ext := range []string{"json", "xml"} {
				files, err := filepath.Glob(filepath.Join("testdata", "golden", a.Name+".*."+ext))
				require.NoError(t, err)
				var success, failure int
				for _, f := range files {
					body, err := os.ReadFile(f)
					require.NoError(t, err)
					if strings.Contains(string(body), `"Success":true`) || strings.Contains(string(body), `<Success>true</Success>`) {
						success++
					} else {
						failure++
					}
				}
				assert.Positive(t, success, "no success golden for %s in %s", a.Name, ext)
				assert.Positive(t, failure, "no error golden for %s in %s", a.Name, ext)
			}
		})
	}
}

// errorCode reads Code from a JSON or XML answer.
func errorCode(t *testing.T, format string, body []byte) string {
	t.Helper()
	if format == "JSON" {
		var v struct{ Code string }
		require.NoError(t, json.Unmarshal(body, &v), "%s", body)
		return v.Code
	}
	m := xmlCodeRE.FindSubmatch(body)
	require.NotNil(t, m, "no <Code> in %s", body)
	return string(m[1])
}

func TestUnservedActions(t *testing.T) {
	srv := emutest.New(t)
	t.Run("a real Iot action the emulator does not serve says so", func(t *testing.T) {
		resp, body := signedGet(t, srv.URL(), map[string]string{"Action": "QueryDeviceGroupList"})
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "InvalidAction.NotFound", errorCode(t, "JSON", body))
		assert.Contains(t, string(body), "Iot action QueryDeviceGroupList is real but not emulated by iot-emulator; emulated actions: GET /_emulator/actions")
	})
	t.Run("a name that is no Iot action keeps the real message", func(t *testing.T) {
		_, body := signedGet(t, srv.URL(), map[string]string{"Action": "NoSuchAction"})
		assert.Contains(t, string(body), "Specified api is not found, please check your url and method.")
	})
	t.Run("GET /_emulator/actions lists every served action with its required parameters and QPS", func(t *testing.T) {
		var got struct {
			Actions []struct {
				Name     string
				Required []string
				QPS      float64
			}
		}
		require.Equal(t, http.StatusOK, adminCall(t, srv, http.MethodGet, "/_emulator/actions", nil, &got))
		require.Len(t, got.Actions, len(emulator.Actions()))
		for i, a := range emulator.Actions() {
			assert.Equal(t, a.Name, got.Actions[i].Name)
			assert.Equal(t, a.QPS, got.Actions[i].QPS)
		}
	})
}

func TestRPCPaths(t *testing.T) {
	srv := emutest.New(t)
	t.Run("a Domain with a trailing slash (path //) is served as /", func(t *testing.T) {
		resp, err := http.Get(srv.URL() + "//?" + signV1(t, http.MethodGet, map[string]string{"Action": "QueryProduct", "ProductKey": "a1TestProd1"}))
		_, body := readAll(t, resp, err)
		assert.Contains(t, string(body), `"Success":true`)
	})
	t.Run("another path is refused, naming it", func(t *testing.T) {
		resp, err := http.Get(srv.URL() + "/v1/iot?" + signV1(t, http.MethodGet, map[string]string{"Action": "QueryProduct", "ProductKey": "a1TestProd1"}))
		resp, body := readAll(t, resp, err)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Contains(t, string(body), "not at /v1/iot")
	})
}

func TestIndexPage(t *testing.T) {
	srv := emutest.New(t)
	get := func(path, accept string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
		require.NoError(t, err)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		resp, body := readAll(t, resp, err)
		return resp, string(body)
	}
	for _, path := range []string{"/", "/_emulator/", "/_emulator"} {
		t.Run("a browser asking for "+path+" gets the index page with the endpoints, credentials and modes", func(t *testing.T) {
			resp, body := get(path, "text/html,application/xhtml+xml")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
			for _, want := range []string{"iot-emulator", "http://" + srv.Domain(), "tcp://" + srv.MQTTAddr(), "AccessKeyId=testAccessKeyId", "batch progression", "/_emulator/state"} {
				assert.Contains(t, body, want)
			}
		})
	}
	t.Run("an RPC call on / without Accept: text/html is still an RPC call", func(t *testing.T) {
		_, body := get("/", "")
		assert.Contains(t, body, "<Code>MissingAction</Code>")
	})
	t.Run("/favicon.ico is no RPC call", func(t *testing.T) {
		resp, body := get("/favicon.ico", "image/*")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.NotContains(t, body, "InvalidAction")
	})
}

func TestRequiredCommonParameters(t *testing.T) {
	srv := emutest.New(t)
	for _, p := range []string{"SignatureMethod", "SignatureVersion"} {
		t.Run("a V1 call without "+p+" is Missing"+p+" and changes nothing", func(t *testing.T) {
			q := signature.SignV1(http.MethodGet, "testAccessKeyId", "testAccessKeySecret", map[string]string{
				"Action": "RegisterDevice", "Version": "2018-01-20", "Format": "JSON", "ProductKey": "a1TestProd1", "DeviceName": "nomethod" + p[9:12]})
			q.Del(p)
			q.Set("Signature", signature.V1Sign("testAccessKeySecret", signature.V1StringToSign(http.MethodGet, q)))
			resp, err := http.Get(srv.URL() + "/?" + q.Encode())
			resp, body := readAll(t, resp, err)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, "Missing"+p, errorCode(t, "JSON", body))
			st, err := srv.Emulator().State(context.Background(), emulator.StateQuery{AccessKeyID: "testAccessKeyId"})
			require.NoError(t, err)
			assert.Zero(t, st.Devices.Total, "nothing was registered")
		})
	}
}
