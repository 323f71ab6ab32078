package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
)

// adminCall sends one admin API request; body is nil, a raw string, or a
// value sent as JSON. The answer is decoded into out when out is not nil.
func adminCall(t *testing.T, srv *emutest.Server, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, srv.URL()+path, rd)
	require.NoError(t, err)
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s %s", method, path)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out), "%s", data)
	}
	return resp.StatusCode
}

type adminErr struct {
	Error string `json:"error"`
}

// pageNames lists the names of the devices a batch created.
func pageNames(t *testing.T, client *iot.Client, applyID int64) []string {
	t.Helper()
	req := iot.CreateQueryPageByApplyIdRequest()
	req.ApplyId = requestsInteger(applyID)
	req.PageSize = requestsInteger(50)
	resp, err := client.QueryPageByApplyId(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	names := []string{}
	for _, d := range resp.ApplyDeviceList.ApplyDeviceInfo {
		names = append(names, d.DeviceName)
	}
	return names
}

func TestHealth(t *testing.T) {
	for _, admin := range []bool{true, false} {
		t.Run(fmt.Sprintf("GET and HEAD answer 200 and POST is refused with the admin API on=%v", admin), func(t *testing.T) {
			srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.Admin = admin }))
			var body map[string]any
			assert.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/health", nil, &body))
			assert.Equal(t, "ok", body["status"])
			assert.Equal(t, http.StatusOK, adminCall(t, srv, "HEAD", "/_emulator/health", nil, nil))
			assert.NotEqual(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/health", nil, nil))
		})
	}
}

func TestManualProgressionOverHTTP(t *testing.T) {
	t.Run("the SDK sees CHECK until an advance, then CHECK_SUCCESS; the same for CREATE", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "lamp01", "lamp02", "lamp03")

		for range 3 {
			assert.Equal(t, "CHECK", statusOf(t, client, "JSON", pk, id).Data.Status)
		}
		var b emulator.StateBatch
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", fmt.Sprintf("/_emulator/batches/%d/advance", id), nil, &b))
		assert.Equal(t, "CHECK_SUCCESS", b.Status)
		assert.Equal(t, id, b.ApplyID)
		assert.Equal(t, 3, b.Count)
		assert.Equal(t, "CHECK_SUCCESS", statusOf(t, client, "JSON", pk, id).Data.Status)

		startCreate(t, client, pk, id)
		assert.Equal(t, "CREATE", statusOf(t, client, "XML", pk, id).Data.Status)
		assert.Empty(t, pageNames(t, client, id))
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", fmt.Sprintf("/_emulator/batches/%d/advance", id), nil, &b))
		assert.Equal(t, "CREATE_SUCCESS", b.Status)
		assert.Equal(t, 3, b.Devices)
		assert.Equal(t, "CREATE_SUCCESS", statusOf(t, client, "XML", pk, id).Data.Status)
		assert.Equal(t, []string{"lamp01", "lamp02", "lamp03"}, pageNames(t, client, id))

		var e adminErr
		assert.Equal(t, http.StatusConflict, adminCall(t, srv, "POST", fmt.Sprintf("/_emulator/batches/%d/advance", id), nil, &e))
		assert.Contains(t, e.Error, "is CREATE_SUCCESS; only a batch in CHECK or CREATE")
	})
	t.Run("an unknown ApplyId is 404 and a malformed one 400", func(t *testing.T) {
		srv := emutest.New(t)
		var e adminErr
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "POST", "/_emulator/batches/4242/advance", nil, &e))
		assert.Contains(t, e.Error, "no batch with applyId 4242")
		assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "POST", "/_emulator/batches/abc/advance", nil, &e))
		assert.Contains(t, e.Error, "applyId")
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "POST", "/_emulator/batches/4242/fail", nil, &e))
	})
}

func TestFailOverHTTP(t *testing.T) {
	for _, format := range []string{"JSON", "XML"} {
		t.Run("a forced CREATE_FAILED is seen by the SDK with its lists in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithProgression("manual"))
			client, pk := srv.NewIotClient(), srv.ProductKey()
			id := checkNames(t, client, pk, "pump01", "pump02", "pump03")
			srv.Advance(id)
			startCreate(t, client, pk, id)

			var b emulator.StateBatch
			body := map[string]any{"invalid": []map[string]string{{"deviceName": "pump02", "errorMsg": "quota exhausted"}}}
			require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", fmt.Sprintf("/_emulator/batches/%d/fail", id), body, &b))
			assert.Equal(t, "CREATE_FAILED", b.Status)
			assert.Equal(t, 1, b.Failed)
			assert.Equal(t, 2, b.Devices)

			st := statusOf(t, client, format, pk, id)
			assert.Equal(t, "CREATE_FAILED", st.Data.Status)
			assert.Equal(t, []string{"pump01", "pump03"}, st.Data.ValidList.Name)
			assert.Equal(t, []string{"pump02"}, st.Data.InvalidList.Name)
			require.Len(t, st.Data.InvalidDetailList.InvalidDetailList, 1)
			assert.Equal(t, "pump02", st.Data.InvalidDetailList.InvalidDetailList[0].DeviceName)
			assert.Equal(t, "quota exhausted", st.Data.InvalidDetailList.InvalidDetailList[0].ErrorMsg)
			assert.Equal(t, []string{"pump01", "pump03"}, pageNames(t, client, id))
		})
	}
	t.Run("a batch failed in CHECK is CHECK_FAILED and cannot be registered", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "fan01", "fan02")
		var b emulator.StateBatch
		body := `{"invalid":[{"deviceName":"fan01"}]}`
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", fmt.Sprintf("/_emulator/batches/%d/fail", id), body, &b))
		assert.Equal(t, "CHECK_FAILED", b.Status)
		st := statusOf(t, client, "JSON", pk, id)
		assert.Equal(t, []string{"fan02"}, st.Data.ValidList.Name)
		assert.Equal(t, []string{"fan01"}, st.Data.InvalidList.Name)
		assert.NotEmpty(t, st.Data.InvalidDetailList.InvalidDetailList[0].ErrorMsg, "a default reason")

		req := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
		req.ProductKey = pk
		req.ApplyId = requestsInteger(id)
		rr, err := client.BatchRegisterDeviceWithApplyId(req)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.IncorrentDeviceApplyInfo", rr.Code)
	})
	t.Run("an empty body fails every name of a random batch", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		req := iot.CreateBatchRegisterDeviceRequest()
		req.ProductKey = pk
		req.Count = requestsInteger(3)
		resp, err := client.BatchRegisterDevice(req)
		require.NoError(t, err)
		id := resp.Data.ApplyId
		var b emulator.StateBatch
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", fmt.Sprintf("/_emulator/batches/%d/fail", id), nil, &b))
		assert.Equal(t, "CREATE_FAILED", b.Status)
		assert.Equal(t, 3, b.Failed)
		st := statusOf(t, client, "JSON", pk, id)
		assert.Len(t, st.Data.InvalidList.Name, 3)
		assert.Empty(t, st.Data.ValidList.Name)
		assert.Empty(t, pageNames(t, client, id))
	})
	t.Run("bad requests name what is wrong", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "fan01", "fan02")
		path := fmt.Sprintf("/_emulator/batches/%d/fail", id)
		for _, tc := range []struct {
			body   string
			status int
			want   string
		}{
			{`{"invalid":[{"deviceName":"nope01"}]}`, 400, "not names of batch"},
			{`{"invalid":[{"errorMsg":"x"}]}`, 400, "invalid[0].deviceName: required"},
			{`{"invalid":[{"name":"fan01"}]}`, 400, `unknown field "name"`},
			{`{"invalid":`, 400, "body:"},
		} {
			var e adminErr
			assert.Equal(t, tc.status, adminCall(t, srv, "POST", path, tc.body, &e), tc.body)
			assert.Contains(t, e.Error, tc.want, tc.body)
		}
		assert.Equal(t, "CHECK", statusOf(t, client, "JSON", pk, id).Data.Status, "refused requests change nothing")
		srv.Advance(id)
		var e adminErr
		assert.Equal(t, http.StatusConflict, adminCall(t, srv, "POST", path, nil, &e))
		assert.Contains(t, e.Error, "CHECK_SUCCESS")
	})
}

func TestProgressionConfig(t *testing.T) {
	t.Run("PUT changes the policy and GET reports it", func(t *testing.T) {
		srv := emutest.New(t)
		var p struct{ Progression string }
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/config/progression", nil, &p))
		assert.Equal(t, "immediate", p.Progression)
		require.Equal(t, http.StatusOK, adminCall(t, srv, "PUT", "/_emulator/config/progression", `{"progression":"polls:2"}`, &p))
		assert.Equal(t, "polls:2", p.Progression)
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/config/progression", nil, &p))
		assert.Equal(t, "polls:2", p.Progression)
	})
	t.Run("a batch held by manual settles once the policy becomes immediate", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "door01")
		require.Equal(t, http.StatusOK, adminCall(t, srv, "PUT", "/_emulator/config/progression", `{"progression":"immediate"}`, nil))
		st, _ := waitStatus(t, client, "JSON", pk, id)
		assert.Equal(t, "CHECK_SUCCESS", st.Data.Status)
	})
	for _, body := range []string{`{"progression":"sometimes"}`, `{"progression":"polls:0"}`, `{}`, ``, `{"mode":"manual"}`} {
		t.Run(fmt.Sprintf("body %q is refused with 400", body), func(t *testing.T) {
			srv := emutest.New(t)
			var e adminErr
			assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "PUT", "/_emulator/config/progression", body, &e))
			assert.NotEmpty(t, e.Error)
		})
	}
}

// adminAccounts is a fixture with accounts A and B, each with one product
// and A with one seeded device.
func adminAccounts(t *testing.T) *fixtures.Fixture {
	t.Helper()
	f, err := fixtures.Parse([]byte(`{"accounts":[
		{"accessKeyId":"akA","accessKeySecret":"secretA","products":[{"productKey":"a1ProdA","productName":"prod_a","nodeType":0,
			"devices":[{"deviceName":"seeded01","deviceSecret":"s3cr3t"}]}]},
		{"accessKeyId":"akB","accessKeySecret":"secretB","products":[{"productKey":"a1ProdB","productName":"prod_b","nodeType":0}]}]}`))
	require.NoError(t, err)
	return f
}

func TestReset(t *testing.T) {
	t.Run("a reset of one account leaves the other untouched and reloads its fixture", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(adminAccounts(t)))
		a, b := srv.NewIotClientFor("akA", "secretA"), srv.NewIotClientFor("akB", "secretB")
		idA := register(t, a, "a1ProdA", []string{"aaa01"})
		idB := register(t, b, "a1ProdB", []string{"bbb01"})

		var out map[string]string
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/reset?accessKeyId=akA", nil, &out))
		assert.Equal(t, "akA", out["reset"])

		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requestsInteger(idA)
		pr, err := a.QueryPageByApplyId(q)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", pr.Code)
		assert.Equal(t, []string{"bbb01"}, pageNames(t, b, idB))

		var st emulator.State
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/state?accessKeyId=akA", nil, &st))
		require.Len(t, st.Accounts, 1)
		assert.Empty(t, st.Accounts[0].Batches)
		require.Len(t, st.Devices.Items, 1)
		assert.Equal(t, "seeded01", st.Devices.Items[0].DeviceName)
		assert.Equal(t, "s3cr3t", st.Devices.Items[0].DeviceSecret)

		// The reset account works again at once.
		register(t, a, "a1ProdA", []string{"aaa01"})
	})
	t.Run("a full reset wipes every account, fault rule and journal entry", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(adminAccounts(t)))
		a, b := srv.NewIotClientFor("akA", "secretA"), srv.NewIotClientFor("akB", "secretB")
		register(t, a, "a1ProdA", []string{"aaa01"})
		register(t, b, "a1ProdB", []string{"bbb01"})
		srv.InjectFault(emutest.FaultRule{Action: "QueryPageByApplyId", LatencyMs: 1})

		var out map[string]string
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/reset", nil, &out))
		assert.Equal(t, "all", out["reset"])
		var st emulator.State
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/state", nil, &st))
		require.Len(t, st.Accounts, 2)
		for _, acct := range st.Accounts {
			assert.Empty(t, acct.Batches, acct.AccessKeyID)
		}
		assert.Equal(t, 1, st.Devices.Total, "only the seeded device")
		assert.Empty(t, srv.Emulator().Faults())
		assert.Empty(t, srv.Requests())
	})
	t.Run("a batch waiting in CHECK is gone after a reset and cannot be advanced", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		id := checkNames(t, srv.NewIotClient(), srv.ProductKey(), "gone01")
		srv.Reset()
		var e adminErr
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "POST", fmt.Sprintf("/_emulator/batches/%d/advance", id), nil, &e))
		// New batches get new ApplyIds and still work.
		id2 := checkNames(t, srv.NewIotClient(), srv.ProductKey(), "gone01")
		assert.Greater(t, id2, id)
		assert.Equal(t, "CHECK_SUCCESS", srv.Advance(id2))
	})
	t.Run("an unknown account is 404", func(t *testing.T) {
		srv := emutest.New(t)
		var e adminErr
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "POST", "/_emulator/reset?accessKeyId=nobody", nil, &e))
		assert.Contains(t, e.Error, `"nobody"`)
	})
	t.Run("a loose-auth account is seeded again after its reset", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.Auth = emulator.AuthLoose }))
		client := srv.NewIotClientFor("looseOne", "anything")
		register(t, client, srv.ProductKey(), []string{"loose01"})
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/reset?accessKeyId=looseOne", nil, nil))
		register(t, client, srv.ProductKey(), []string{"loose01"})
	})
}

func TestState(t *testing.T) {
	srv := emutest.New(t, emutest.WithFixture(adminAccounts(t)))
	a := srv.NewIotClientFor("akA", "secretA")
	id := register(t, a, "a1ProdA", []string{"dev01", "dev02", "dev03"})

	t.Run("accounts, products and batches come with secrets and counts", func(t *testing.T) {
		var st emulator.State
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/state", nil, &st))
		assert.Equal(t, "immediate", st.Progression)
		require.Len(t, st.Accounts, 2)
		acct := st.Accounts[0]
		assert.Equal(t, "akA", acct.AccessKeyID)
		assert.Equal(t, "secretA", acct.AccessKeySecret)
		require.Len(t, acct.Products, 1)
		assert.Equal(t, "a1ProdA", acct.Products[0].ProductKey)
		assert.Equal(t, 4, acct.Products[0].DeviceCount)
		assert.NotEmpty(t, acct.Products[0].ProductSecret)
		require.Len(t, acct.Batches, 1)
		assert.Equal(t, emulator.StateBatch{ApplyID: id, AccessKeyID: "akA", ProductKey: "a1ProdA", Kind: "names", Status: "CREATE_SUCCESS",
			Count: 3, Devices: 3, Created: acct.Batches[0].Created, Updated: acct.Batches[0].Updated}, acct.Batches[0])
		assert.Equal(t, 4, st.Devices.Total)
	})
	t.Run("devices are paged in creation order", func(t *testing.T) {
		var st emulator.State
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/state?devicePage=2&devicePageSize=3", nil, &st))
		assert.Equal(t, emulator.StateDevicePage{Page: 2, PageSize: 3, Total: 4, Items: st.Devices.Items}, st.Devices)
		require.Len(t, st.Devices.Items, 1)
		assert.Equal(t, "dev03", st.Devices.Items[0].DeviceName)
		assert.Equal(t, id, st.Devices.Items[0].ApplyID)
		assert.Len(t, st.Devices.Items[0].DeviceSecret, 32)
	})
	t.Run("productKey narrows the devices", func(t *testing.T) {
		var st emulator.State
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/state?productKey=a1ProdB", nil, &st))
		assert.Zero(t, st.Devices.Total)
		assert.Empty(t, st.Devices.Items)
	})
	for _, q := range []string{"devicePage=0", "devicePageSize=1001", "devicePage=x"} {
		t.Run(q+" is refused with 400", func(t *testing.T) {
			var e adminErr
			assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "GET", "/_emulator/state?"+q, nil, &e))
			assert.NotEmpty(t, e.Error)
		})
	}
	t.Run("an unknown account is 404", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "GET", "/_emulator/state?accessKeyId=nobody", nil, &adminErr{}))
	})
}

func TestAdminRouting(t *testing.T) {
	srv := emutest.New(t)
	t.Run("an unknown admin path is a JSON 404 and a wrong method a JSON 405", func(t *testing.T) {
		var e adminErr
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "GET", "/_emulator/nothing", nil, &e))
		assert.Contains(t, e.Error, "/_emulator/nothing")
		assert.Equal(t, http.StatusMethodNotAllowed, adminCall(t, srv, "GET", "/_emulator/reset", nil, &e))
	})
	t.Run("the RPC path never reaches the admin API", func(t *testing.T) {
		srv.InjectFault(emutest.FaultRule{Action: "*", Code: "Throttling.User"})
		for _, action := range []string{"reset", "/_emulator/reset", "faults"} {
			resp, err := srv.HTTPClient().PostForm(srv.URL()+"/", url.Values{"Action": {action}, "Format": {"JSON"}})
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.NotEqual(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, string(body), `"Code":"Missing`, action)
		}
		assert.Len(t, srv.Emulator().Faults(), 1, "the rule is still there")
	})
}

func TestAdminOff(t *testing.T) {
	srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.Admin = false }))
	assert.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/health", nil, nil))
	for _, ep := range []struct{ method, path string }{
		{"POST", "/_emulator/reset"},
		{"GET", "/_emulator/state"},
		{"GET", "/_emulator/config/progression"},
		{"PUT", "/_emulator/config/progression"},
		{"POST", "/_emulator/batches/1000001/advance"},
		{"POST", "/_emulator/batches/1000001/fail"},
		{"GET", "/_emulator/faults"},
		{"POST", "/_emulator/faults"},
		{"DELETE", "/_emulator/faults"},
		{"DELETE", "/_emulator/faults/f1"},
		{"GET", "/_emulator/requests"},
		{"DELETE", "/_emulator/requests"},
	} {
		t.Run(ep.method+" "+ep.path+" is 404 with --admin off", func(t *testing.T) {
			var e adminErr
			assert.Equal(t, http.StatusNotFound, adminCall(t, srv, ep.method, ep.path, `{"action":"*"}`, &e))
			assert.Contains(t, e.Error, "--admin off")
		})
	}
}

// eventually polls cond until it holds; the deadline is a hang guard, not a
// timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestResetRestoresConfig(t *testing.T) {
	t.Run("a full reset restores the start-up progression and removes fault rules", func(t *testing.T) {
		srv := emutest.New(t)
		srv.SetProgression("manual")
		srv.InjectFault(emutest.FaultRule{Action: "QueryProduct", LatencyMs: 1})
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/reset", nil, nil))
		var p struct{ Progression string }
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/config/progression", nil, &p))
		assert.Equal(t, "immediate", p.Progression, "emutest starts on immediate")
		assert.Empty(t, srv.Emulator().Faults())
	})
	t.Run("keep=config keeps the progression and the fault rules", func(t *testing.T) {
		srv := emutest.New(t)
		srv.SetProgression("manual")
		srv.InjectFault(emutest.FaultRule{Action: "QueryProduct", LatencyMs: 1})
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/reset?keep=config", nil, nil))
		var p struct{ Progression string }
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/config/progression", nil, &p))
		assert.Equal(t, "manual", p.Progression)
		assert.Len(t, srv.Emulator().Faults(), 1)
		var e adminErr
		assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "POST", "/_emulator/reset?keep=everything", nil, &e))
	})
	t.Run("a batch waiting for a manual advance says so in the state view and, once, in the log", func(t *testing.T) {
		logs := &syncWriter{}
		srv := emutest.New(t, emutest.WithProgression("manual"), emutest.WithConfig(func(c *emulator.Config) {
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		}))
		id := checkNames(t, srv.NewIotClient(), srv.ProductKey(), "waits01")
		statusOf(t, srv.NewIotClient(), "JSON", srv.ProductKey(), id)
		var st struct {
			Accounts []struct {
				Batches []struct {
					ApplyID int64 `json:"applyId"`
					Waiting string
				}
			}
		}
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/state", nil, &st))
		require.Len(t, st.Accounts[0].Batches, 1)
		assert.Equal(t, "manual", st.Accounts[0].Batches[0].Waiting)
		want := fmt.Sprintf("batch %d waits for POST /_emulator/batches/%d/advance", id, id)
		assert.Equal(t, 1, strings.Count(logs.String(), want), logs.String())
	})
}

func TestLoadFixtures(t *testing.T) {
	srv := emutest.New(t)
	body := `{"accounts":[{"accessKeyId":"lateKeyId","accessKeySecret":"lateSecret","products":[{"productKey":"a1LateProd","productName":"late_product","devices":[{"deviceName":"late-01"}]}]},
		{"accessKeyId":"testAccessKeyId","accessKeySecret":"ignoredSecret","products":[{"productKey":"a1TestProd1","productName":"emulator_default"},{"productKey":"a1Second","productName":"second_product"}]}]}`
	t.Run("POST /_emulator/fixtures adds what is missing and keeps what exists", func(t *testing.T) {
		var r map[string]int
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/fixtures", body, &r))
		assert.Equal(t, map[string]int{"accountsAdded": 1, "productsAdded": 2, "devicesAdded": 1, "accountsKept": 1, "productsKept": 1, "devicesKept": 0}, r)
		_, resp := signedGet(t, srv.URL(), map[string]string{"Action": "QueryProduct", "ProductKey": "a1Second"})
		assert.Contains(t, string(resp), `"Success":true`, "the existing account got the new product and kept its secret")
	})
	t.Run("loading it again adds nothing", func(t *testing.T) {
		var r map[string]int
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/fixtures", body, &r))
		assert.Zero(t, r["accountsAdded"]+r["productsAdded"]+r["devicesAdded"])
	})
	t.Run("a reset reloads the loaded accounts", func(t *testing.T) {
		srv.Reset()
		st, err := srv.Emulator().State(context.Background(), emulator.StateQuery{AccessKeyID: "lateKeyId"})
		require.NoError(t, err)
		assert.Len(t, st.Accounts, 1)
	})
	t.Run("a bad fixture is a 400 naming the field", func(t *testing.T) {
		var e adminErr
		assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "POST", "/_emulator/fixtures", `{"accounts":[{"accessKeyId":""}]}`, &e))
		assert.Contains(t, e.Error, "accessKeyId")
	})
}

func TestAdminErrorsReadWell(t *testing.T) {
	srv := emutest.New(t)
	t.Run("an error says what is wrong without Go's wrapping words", func(t *testing.T) {
		var e adminErr
		require.Equal(t, http.StatusNotFound, adminCall(t, srv, "POST", "/_emulator/batches/999/advance", nil, &e))
		assert.Equal(t, "no batch with applyId 999", e.Error)
		require.Equal(t, http.StatusBadRequest, adminCall(t, srv, "POST", "/_emulator/batches/x/advance", nil, &e))
		assert.NotContains(t, e.Error, "invalid input")
	})
	t.Run("a 405 names the allowed methods, in the Allow header too", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPatch, srv.URL()+"/_emulator/reset", nil)
		require.NoError(t, err)
		resp, err := srv.HTTPClient().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, "POST", resp.Header.Get("Allow"))
	})
	t.Run("JSON is not HTML-escaped", func(t *testing.T) {
		_, body := signedGet(t, srv.URL(), map[string]string{"Action": "QueryProduct", "ProductKey": "a1TestProd1", "Extra": "a&b<c>"})
		_ = body
		resp, err := srv.HTTPClient().Get(srv.URL() + "/_emulator/requests")
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, string(raw), `a&b<c>`)
	})
}
