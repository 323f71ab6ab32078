package emulator_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
)

// registerRandom calls BatchRegisterDevice for n devices.
func registerRandom(t *testing.T, client *iot.Client, pk string, n int64) (*iot.BatchRegisterDeviceResponse, error) {
	t.Helper()
	req := iot.CreateBatchRegisterDeviceRequest()
	req.ProductKey = pk
	req.Count = requestsInteger(n)
	return client.BatchRegisterDevice(req)
}

// looseGet sends an unsigned RPC call (loose auth) and returns status and body.
func looseGet(t *testing.T, srv *emutest.Server, params url.Values) (int, string) {
	t.Helper()
	params.Set("Version", "2018-01-20")
	params.Set("AccessKeyId", "testAccessKeyId")
	params.Set("SignatureNonce", fmt.Sprint(time.Now().UnixNano()))
	params.Set("Timestamp", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	resp, err := srv.HTTPClient().Get(srv.URL() + "/?" + params.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestFaultCount(t *testing.T) {
	t.Run("a rule with count 3 fails exactly three calls and changes no state", func(t *testing.T) {
		srv := emutest.New(t)
		client, pk := srv.NewIotClient(), srv.ProductKey()
		var created struct{ ID string }
		require.Equal(t, http.StatusOK, adminCall(t, srv, "POST", "/_emulator/faults",
			`{"action":"BatchRegisterDevice","code":"iot.system.SystemException","count":3}`, &created))
		assert.Equal(t, "f1", created.ID)

		for i := range 3 {
			resp, err := registerRandom(t, client, pk, 2)
			require.NoError(t, err, "call %d", i+1)
			assert.False(t, resp.Success, "call %d", i+1)
			assert.Equal(t, "iot.system.SystemException", resp.Code)
			assert.Equal(t, "An internal error occurred. Try again later.", resp.ErrorMessage)
			assert.Equal(t, http.StatusOK, resp.GetHttpStatus())
		}
		resp, err := registerRandom(t, client, pk, 2)
		require.NoError(t, err)
		assert.True(t, resp.Success, "the fourth call: %s", resp.Code)

		var st emulator.State
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/state", nil, &st))
		assert.Len(t, st.Accounts[0].Batches, 1, "faulted calls created nothing")

		var list struct{ Faults []emulator.Fault }
		require.Equal(t, http.StatusOK, adminCall(t, srv, "GET", "/_emulator/faults", nil, &list))
		require.Len(t, list.Faults, 1)
		f := list.Faults[0]
		assert.Equal(t, "f1", f.ID)
		assert.Equal(t, 3, f.Hits)
		require.NotNil(t, f.Remaining)
		assert.Zero(t, *f.Remaining)
	})
}

func TestFaultEnvelopes(t *testing.T) {
	t.Run("a gateway code reaches the SDK as a ServerError with its documented status", func(t *testing.T) {
		srv := emutest.New(t)
		srv.InjectFault(emutest.FaultRule{Action: "QueryPageByApplyId", Code: "Forbidden.RAM"})
		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requestsInteger(1)
		_, err := srv.NewIotClient().QueryPageByApplyId(q)
		var se *errors.ServerError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusForbidden, se.HttpStatus())
		assert.Equal(t, "Forbidden.RAM", se.ErrorCode())
		assert.Equal(t, "User is not authorized to operate on the specified resource.", se.Message())
		assert.Equal(t, "iot:QueryPageByApplyId", se.AccessDeniedDetail()["AuthAction"], "a RAM denial carries its AccessDeniedDetail")
	})
	t.Run("an unknown code with httpStatus and message is a gateway error with both", func(t *testing.T) {
		srv := emutest.New(t)
		srv.InjectFault(emutest.FaultRule{Action: "*", Code: "Custom.Outage", HTTPStatus: 503, Message: "down for maintenance"})
		_, err := registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		var se *errors.ServerError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 503, se.HttpStatus())
		assert.Equal(t, "Custom.Outage", se.ErrorCode())
		assert.Equal(t, "down for maintenance", se.Message())
	})
	t.Run("an unknown iot. code is a business error with HTTP 200", func(t *testing.T) {
		srv := emutest.New(t)
		srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: "iot.custom.Broken"})
		resp, err := registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		require.NoError(t, err)
		assert.False(t, resp.Success)
		assert.Equal(t, "iot.custom.Broken", resp.Code)
		assert.Equal(t, "Fault injected by the emulator.", resp.ErrorMessage)
	})
	t.Run("a business code follows the configured business status", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.BusinessErrorStatus = 400 }))
		srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: "iot.system.SystemException"})
		_, err := registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		var se *errors.ServerError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 400, se.HttpStatus())
		assert.Equal(t, "iot.system.SystemException", se.ErrorCode())
	})
	t.Run("a rule without code or latency answers iot.system.SystemException", func(t *testing.T) {
		srv := emutest.New(t)
		srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice"})
		resp, err := registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		require.NoError(t, err)
		assert.Equal(t, "iot.system.SystemException", resp.Code)
	})
	loose := emutest.WithConfig(func(c *emulator.Config) { c.Auth = emulator.AuthLoose })
	for _, tc := range []struct {
		name, code string
		status     int
		want       []string
	}{
		{"Throttling.User in XML is an <Error> with the throttle status and header", "Throttling.User", 400,
			[]string{"<Error>", "<Code>Throttling.User</Code>", "<Message>Request was denied due to user flow control.</Message>", "<HostId>"}},
		{"a business code in XML is the action's envelope", "iot.prod.NotExistedProduct", 200,
			[]string{"<BatchRegisterDeviceResponse>", "<Success>false</Success>", "<Code>iot.prod.NotExistedProduct</Code>", "<ErrorMessage>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := emutest.New(t, loose)
			srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: tc.code})
			status, body := looseGet(t, srv, url.Values{"Action": {"BatchRegisterDevice"}, "Format": {"XML"}, "ProductKey": {srv.ProductKey()}, "Count": {"1"}})
			assert.Equal(t, tc.status, status)
			for _, w := range tc.want {
				assert.Contains(t, body, w)
			}
		})
	}
	t.Run("Throttling.User follows --throttle-status unless the rule sets httpStatus", func(t *testing.T) {
		srv := emutest.New(t, loose, emutest.WithConfig(func(c *emulator.Config) { c.ThrottleStatus = 429 }))
		id := srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: "Throttling.User"})
		params := url.Values{"Action": {"BatchRegisterDevice"}, "Format": {"JSON"}, "ProductKey": {srv.ProductKey()}, "Count": {"1"}}
		status, body := looseGet(t, srv, params)
		assert.Equal(t, 429, status)
		assert.Contains(t, body, `"Code":"Throttling.User"`)
		require.True(t, srv.Emulator().DeleteFault(id))
		srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: "Throttling.User", HTTPStatus: 503})
		status, _ = looseGet(t, srv, params)
		assert.Equal(t, 503, status)
	})
}

func TestFaultMatching(t *testing.T) {
	t.Run(`action "*" matches every action, accessKeyId narrows to one account`, func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(adminAccounts(t)))
		a, b := srv.NewIotClientFor("akA", "secretA"), srv.NewIotClientFor("akB", "secretB")
		srv.InjectFault(emutest.FaultRule{Action: "*", AccessKeyID: "akA", Code: "iot.system.SystemException"})

		resp, err := registerRandom(t, a, "a1ProdA", 1)
		require.NoError(t, err)
		assert.Equal(t, "iot.system.SystemException", resp.Code)
		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requestsInteger(1)
		pr, err := a.QueryPageByApplyId(q)
		require.NoError(t, err)
		assert.Equal(t, "iot.system.SystemException", pr.Code)

		resp, err = registerRandom(t, b, "a1ProdB", 1)
		require.NoError(t, err)
		assert.True(t, resp.Success)
	})
	t.Run("the first matching rule with a code decides, and deleting it lets the next one speak", func(t *testing.T) {
		srv := emutest.New(t)
		first := srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: "iot.custom.First"})
		srv.InjectFault(emutest.FaultRule{Action: "*", Code: "iot.custom.Second"})
		resp, _ := registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		assert.Equal(t, "iot.custom.First", resp.Code)

		var out map[string]int
		require.Equal(t, http.StatusOK, adminCall(t, srv, "DELETE", "/_emulator/faults/"+first, nil, &out))
		assert.Equal(t, 1, out["deleted"])
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "DELETE", "/_emulator/faults/"+first, nil, &adminErr{}))
		assert.Equal(t, http.StatusNotFound, adminCall(t, srv, "GET", "/_emulator/faults/"+first, nil, &adminErr{}))
		resp, _ = registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		assert.Equal(t, "iot.custom.Second", resp.Code)

		require.Equal(t, http.StatusOK, adminCall(t, srv, "DELETE", "/_emulator/faults", nil, &out))
		assert.Equal(t, 1, out["deleted"])
		resp, _ = registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		assert.True(t, resp.Success)
	})
}

// firePattern makes n calls against a fresh server with rule and returns
// which ones were faulted.
func firePattern(t *testing.T, rule emutest.FaultRule, n int) string {
	t.Helper()
	srv := emutest.New(t)
	srv.InjectFault(rule)
	client := srv.NewIotClient()
	var b strings.Builder
	for range n {
		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requestsInteger(1)
		_, err := client.QueryPageByApplyId(q)
		if err != nil {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestFaultProbability(t *testing.T) {
	t.Run("the same seed faults the same calls in every run", func(t *testing.T) {
		rule := emutest.FaultRule{Action: "QueryPageByApplyId", Code: "Throttling.User", Probability: 0.3, Seed: 7}
		first := firePattern(t, rule, 30)
		assert.Equal(t, first, firePattern(t, rule, 30))
		assert.Contains(t, first, "x")
		assert.Contains(t, first, ".")
	})
	t.Run("count bounds the faults a probability rule injects", func(t *testing.T) {
		rule := emutest.FaultRule{Action: "QueryPageByApplyId", Code: "Throttling.User", Probability: 0.5, Seed: 1, Count: 2}
		assert.Equal(t, 2, strings.Count(firePattern(t, rule, 30), "x"))
	})
}

func TestFaultLatency(t *testing.T) {
	t.Run("a latency rule delays the answer and lets the call succeed", func(t *testing.T) {
		srv := emutest.New(t)
		srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", LatencyMs: 40})
		resp, err := registerRandom(t, srv.NewIotClient(), srv.ProductKey(), 1)
		require.NoError(t, err)
		assert.True(t, resp.Success)
		reqs := srv.Emulator().Requests(emulator.JournalFilter{Action: "BatchRegisterDevice"})
		require.Len(t, reqs, 1)
		assert.GreaterOrEqual(t, reqs[0].LatencyMs, 40.0, "a lower bound: the answer waited at least the latency")
	})
	t.Run("a client that gives up ends the wait and the call changes nothing", func(t *testing.T) {
		srv := emutest.New(t)
		srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", LatencyMs: 600000})
		client := srv.NewIotClient()
		client.SetReadTimeout(100 * time.Millisecond)
		_, err := registerRandom(t, client, srv.ProductKey(), 1)
		require.Error(t, err)
		eventually(t, "the abandoned call is journaled", func() bool {
			return len(srv.Emulator().Requests(emulator.JournalFilter{Code: "ServiceUnavailable"})) == 1
		})
		st, err := srv.Emulator().State(t.Context(), emulator.StateQuery{})
		require.NoError(t, err)
		assert.Empty(t, st.Accounts[0].Batches)
	})
}

func TestFaultValidation(t *testing.T) {
	srv := emutest.New(t)
	for _, tc := range []struct{ body, want string }{
		{`{}`, "action: required"},
		{``, "action: required"},
		{`{"action":"NoSuchAction"}`, `"NoSuchAction" is not an action`},
		{`{"action":"*","code":"bad code!"}`, "code:"},
		{`{"action":"*","httpStatus":700}`, "httpStatus"},
		{`{"action":"*","count":-1}`, "count"},
		{`{"action":"*","probability":1.5}`, "probability"},
		{`{"action":"*","latencyMs":-5}`, "latencyMs"},
		{`{"action":"*","latencyMs":600001}`, "latencyMs"},
		{`{"action":"*","probabilty":0.5}`, `unknown field "probabilty"`},
		{`{"action":"*","count":"3"}`, "count"},
		{`[]`, "body:"},
	} {
		t.Run(fmt.Sprintf("%s is refused with 400", tc.body), func(t *testing.T) {
			var e adminErr
			assert.Equal(t, http.StatusBadRequest, adminCall(t, srv, "POST", "/_emulator/faults", tc.body, &e))
			assert.Contains(t, e.Error, tc.want)
		})
	}
	assert.Empty(t, srv.Emulator().Faults())
}

func TestFaultsInTheJournal(t *testing.T) {
	srv := emutest.New(t)
	id := srv.InjectFault(emutest.FaultRule{Action: "QueryProduct", Code: "iot.system.SystemException", Count: 1})
	_, body := signedGet(t, srv.URL(), map[string]string{"Action": "QueryProduct", "ProductKey": "a1TestProd1"})
	require.Contains(t, string(body), "SystemException")
	_, _ = signedGet(t, srv.URL(), map[string]string{"Action": "QueryProduct", "ProductKey": "a1TestProd1"})
	entries := srv.Requests()
	require.Len(t, entries, 2)
	assert.Equal(t, []string{id}, entries[0].Faults, "the faulted call names its rule")
	assert.Empty(t, entries[1].Faults)
}
