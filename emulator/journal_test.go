package emulator_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
)

type journalAnswer struct {
	Requests []emulator.JournalEntry `json:"requests"`
}

func actionsOf(entries []emulator.JournalEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func TestJournal(t *testing.T) {
	srv := emutest.New(t, emutest.WithFixture(adminAccounts(t)))
	a, b := srv.NewIotClientFor("akA", "secretA"), srv.NewIotClientFor("akB", "secretB")
	before := time.Now().Add(-time.Second)
	resp, err := registerRandom(t, a, "a1ProdA", 1)
	require.NoError(t, err)
	require.True(t, resp.Success)
	q := iot.CreateQueryPageByApplyIdRequest()
	q.ApplyId = requestsInteger(99)
	_, err = b.QueryPageByApplyId(q)
	require.NoError(t, err)
	_, err = srv.NewIotClientFor("akA", "wrong").QueryPageByApplyId(q)
	require.Error(t, err)

	t.Run("every call is kept oldest first with status, code and latency", func(t *testing.T) {
		var j journalAnswer
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/requests", nil, &j))
		require.Equal(t, []string{"BatchRegisterDevice", "QueryPageByApplyId", "QueryPageByApplyId"}, actionsOf(j.Requests))
		first := j.Requests[0]
		assert.Equal(t, "akA", first.AccessKeyID)
		assert.Equal(t, 200, first.Status)
		assert.Empty(t, first.Code)
		assert.GreaterOrEqual(t, first.LatencyMs, 0.0)
		assert.True(t, first.Time.After(before), first.Time)
		assert.NotEmpty(t, first.RequestID)
		assert.Equal(t, "a1ProdA", first.Params["ProductKey"])
		assert.Equal(t, "1", first.Params["Count"])
		assert.Equal(t, "***", first.Params["Signature"], "the signature is redacted")
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", j.Requests[1].Code)
		assert.Equal(t, 400, j.Requests[2].Status)
		assert.Equal(t, "SignatureDoesNotMatch", j.Requests[2].Code)
	})
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"action=QueryPageByApplyId", []string{"QueryPageByApplyId", "QueryPageByApplyId"}},
		{"code=iot.device.DeviceApplyIsNotFound", []string{"QueryPageByApplyId"}},
		{"accessKeyId=akA", []string{"BatchRegisterDevice", "QueryPageByApplyId"}},
		{"action=BatchRegisterDevice&code=SignatureDoesNotMatch", []string{}},
	} {
		t.Run("the filter "+tc.query+" selects its entries", func(t *testing.T) {
			var j journalAnswer
			require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/requests?"+tc.query, nil, &j))
			assert.Equal(t, tc.want, actionsOf(j.Requests))
		})
	}
	t.Run("DELETE clears the journal", func(t *testing.T) {
		var out map[string]int
		require.Equal(t, http.StatusOK, adminCall(t, srv, "DELETE", "/_emulator/requests", nil, &out))
		assert.Equal(t, 3, out["deleted"])
		var j journalAnswer
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/requests", nil, &j))
		assert.NotNil(t, j.Requests)
		assert.Empty(t, j.Requests)
	})
}

func TestJournalBounds(t *testing.T) {
	t.Run("the journal keeps the last JournalSize requests", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.JournalSize = 2 }))
		client := srv.NewIotClient()
		for i := range 5 {
			q := iot.CreateQueryPageByApplyIdRequest()
			q.ApplyId = requestsInteger(int64(i + 1))
			_, err := client.QueryPageByApplyId(q)
			require.NoError(t, err)
		}
		reqs := srv.Requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, "4", reqs[0].Params["ApplyId"])
		assert.Equal(t, "5", reqs[1].Params["ApplyId"])
	})
	t.Run("a journal size of 0 keeps nothing", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.JournalSize = 0 }))
		_, err := registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		require.NoError(t, err)
		assert.Empty(t, srv.Requests())
	})
	t.Run("a long name list is cut to 100 parameters, plain ones kept", func(t *testing.T) {
		srv := emutest.New(t)
		names := make([]string, 300)
		for i := range names {
			names[i] = fmt.Sprintf("bulk%04d", i)
		}
		checkNames(t, srv.NewIotClient(), srv.ProductKey(), names...)
		reqs := srv.Requests()
		require.Len(t, reqs, 1)
		p := reqs[0].Params
		assert.Len(t, p, 100)
		assert.Equal(t, srv.ProductKey(), p["ProductKey"])
		assert.Equal(t, "BatchCheckDeviceNames", p["Action"])
		assert.Equal(t, "bulk0000", p["DeviceName.1"])
		assert.Greater(t, reqs[0].ParamsOmitted, 200)
		assert.LessOrEqual(t, reqs[0].ParamsOmitted, 300)
	})
	t.Run("secret-looking parameters are redacted", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.Auth = emulator.AuthLoose }))
		looseGet(t, srv, map[string][]string{"Action": {"QueryPageByApplyId"}, "ApplyId": {"1"}, "SecurityToken": {"tok"},
			"AccessKeySecret": {"s"}, "DevicePassword": {"p"}, "Signature": {"sig"}})
		reqs := srv.Requests()
		require.Len(t, reqs, 1)
		for _, k := range []string{"SecurityToken", "AccessKeySecret", "DevicePassword", "Signature"} {
			assert.Equal(t, "***", reqs[0].Params[k], k)
		}
		assert.Equal(t, "1", reqs[0].Params["ApplyId"])
	})
}
