package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
)

// documentedQPS is docs/fidelity.md, protocol §11: per account, per API.
var documentedQPS = map[string]float64{
	"BatchCheckDeviceNames":          10,
	"QueryBatchRegisterDeviceStatus": 30,
	"BatchRegisterDeviceWithApplyId": 500,
	"BatchRegisterDevice":            10,
	"QueryPageByApplyId":             50,
	"CreateProduct":                  50,
	"QueryProduct":                   50,
	"QueryProductList":               50,
	"DeleteProduct":                  500,
	"RegisterDevice":                 30,
	"QueryDeviceDetail":              50,
	"QueryDevice":                    50,
	"DeleteDevice":                   50,
	"BatchQueryDeviceDetail":         5,
	"QueryDeviceInfo":                500,
	// docs/fidelity.md, things §0.1.
	"GetDeviceStatus":       500,
	"BatchGetDeviceState":   50,
	"EnableThing":           500,
	"DisableThing":          500,
	"QueryDeviceStatistics": 50,
	// docs/fidelity.md, things §0.1: the messaging, thing-model and shadow actions.
	"Pub": 1600, "PubBroadcast": 1, "RRpc": 1000,
	"SetDeviceProperty": 500, "SetDevicesProperty": 10, "InvokeThingService": 500, "InvokeThingsService": 10,
	"QueryDevicePropertyStatus": 200, "QueryDevicePropertyData": 50, "QueryDevicePropertiesData": 10,
	"QueryDeviceEventData": 50, "QueryDeviceServiceData": 50,
	"UpdateProduct": 10, "QueryThingModel": 10, "QueryThingModelPublished": 10, "ImportThingModelTsl": 5,
	"PublishThingModel": 5, "GetThingModelTsl": 20,
	"UpdateDeviceShadow": 500, "GetDeviceShadow": 500, "SetDeviceDesiredProperty": 50, "QueryDeviceDesiredProperty": 50,
}

func TestDefaultLimits(t *testing.T) {
	t.Run("every action is limited as documented, and the batch APIs are all there", func(t *testing.T) {
		seen := map[string]bool{}
		for _, l := range emulator.Limits(emulator.DefaultConfig()) {
			want, ok := documentedQPS[l.Action]
			if assert.True(t, ok, "%s has no documented limit", l.Action) {
				assert.Equal(t, want, l.QPS, l.Action)
			}
			seen[l.Action] = true
		}
		for _, a := range []string{"BatchCheckDeviceNames", "QueryBatchRegisterDeviceStatus", "BatchRegisterDeviceWithApplyId", "BatchRegisterDevice", "QueryPageByApplyId"} {
			assert.True(t, seen[a], a)
		}
	})
	t.Run("--qps overrides one action and --qps-scale multiplies every limit", func(t *testing.T) {
		cfg := emulator.DefaultConfig()
		cfg.QPS = map[string]float64{"BatchRegisterDevice": 3}
		cfg.QPSScale = 0.5
		got := map[string]float64{}
		for _, l := range emulator.Limits(cfg) {
			got[l.Action] = l.QPS
		}
		assert.Equal(t, 1.5, got["BatchRegisterDevice"])
		assert.Equal(t, 5.0, got["BatchCheckDeviceNames"])
	})
}

// burst fires n BatchRegisterDevice calls at once from ak and sorts the
// answers by code ("" for success).
func burst(t *testing.T, g *gateway, ak, secret string, n int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := g.newV3("BatchRegisterDevice", "ProductKey", testPK, "Count", "1").sign(g, ak, secret).request(t, g)
			<-start
			r := do(t, req)
			var body struct{ Code string }
			json.Unmarshal(r.body, &body)
			if r.status != http.StatusOK && body.Code == "" {
				body.Code = "HTTP " + strconv.Itoa(r.status)
			}
			if body.Code == "Throttling.User" {
				assert.Equal(t, http.StatusBadRequest, r.status)
				assert.Regexp(t, `^Limit:\d+,Remain:0,TimeLeft:\d+,Reset:\d+$`, r.header.Get("x-ratelimit-user-api"))
			}
			mu.Lock()
			codes[body.Code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

func batchCount(t *testing.T, g *gateway, ak string) int {
	t.Helper()
	st, err := g.Emulator().State(context.Background(), emulator.StateQuery{AccessKeyID: ak})
	require.NoError(t, err)
	require.Len(t, st.Accounts, 1)
	return len(st.Accounts[0].Batches)
}

func TestThrottling(t *testing.T) {
	const n, k = 4, 6
	t.Run("N+k concurrent calls within one second against a limit of N give k Throttling.User and change nothing", func(t *testing.T) {
		g := newGateway(t, qps("BatchRegisterDevice", n))
		codes := burst(t, g, testAK, testSecret, n+k)
		assert.Equal(t, map[string]int{"": n, "Throttling.User": k}, codes, "no other error")
		assert.Equal(t, codes[""], batchCount(t, g, testAK), "only admitted calls created batches")
	})
	t.Run("the same burst through the Go SDK", func(t *testing.T) {
		g := newGateway(t, qps("BatchRegisterDevice", n))
		var mu sync.Mutex
		ok, throttled := 0, 0
		var wg sync.WaitGroup
		for i := 0; i < n+k; i++ {
			// One client each: an SDK client is not safe for concurrent
			// use (its timeout fields race).
			client := g.NewIotClient()
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := iot.CreateBatchRegisterDeviceRequest()
				req.ProductKey, req.Count = testPK, requestsInteger(1)
				resp, err := client.BatchRegisterDevice(req)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					se := sdkError(t, err)
					assert.Equal(t, 400, se.HttpStatus())
					assert.Equal(t, "Throttling.User", se.ErrorCode())
					assert.Equal(t, "Request was denied due to user flow control.", se.Message())
					throttled++
					return
				}
				assert.True(t, resp.Success, resp.Code)
				ok++
			}()
		}
		wg.Wait()
		assert.GreaterOrEqual(t, throttled, k)
		assert.Equal(t, n+k, ok+throttled)
		assert.Equal(t, ok, batchCount(t, g, testAK))
	})
	t.Run("the bucket refills at N per second", func(t *testing.T) {
		g := newGateway(t, qps("BatchRegisterDevice", n))
		require.Equal(t, map[string]int{"": n}, burst(t, g, testAK, testSecret, n))
		r := do(t, g.newV3("BatchRegisterDevice", "ProductKey", testPK, "Count", "1").sign(g, testAK, testSecret).request(t, g))
		assert.Equal(t, "Throttling.User", r.gatewayError(t, "JSON").Code)
		assert.Equal(t, "Limit:4,Remain:0,TimeLeft:250,Reset:1000", r.header.Get("x-ratelimit-user-api"))
		g.clock.Advance(250 * time.Millisecond)
		assert.Equal(t, map[string]int{"": 1, "Throttling.User": 1}, burst(t, g, testAK, testSecret, 2))
		g.clock.Advance(time.Second)
		assert.Equal(t, map[string]int{"": n, "Throttling.User": 1}, burst(t, g, testAK, testSecret, n+1), "never more than a burst of N")
	})
	t.Run("the TimeLeft hint parses the way the Tea SDKs parse it", func(t *testing.T) {
		g := newGateway(t, qps("BatchRegisterDevice", 3))
		burst(t, g, testAK, testSecret, 3)
		r := do(t, g.newV3("BatchRegisterDevice", "ProductKey", testPK, "Count", "1").sign(g, testAK, testSecret).request(t, g))
		assert.Equal(t, int64(334), teaTimeLeft(r.header.Get("x-ratelimit-user-api")), "ms until one token, rounded up")
	})
	t.Run("accounts and actions have buckets of their own", func(t *testing.T) {
		g := newGateway(t, qps("BatchRegisterDevice", n))
		require.Equal(t, map[string]int{"": n, "Throttling.User": 1}, burst(t, g, testAK, testSecret, n+1))
		assert.Equal(t, map[string]int{"": n}, burst(t, g, otherAK, otherSecret, n), "another account")
		do(t, g.newV3("BatchCheckDeviceNames", "ProductKey", testPK, "DeviceName.1", "light01").sign(g, testAK, testSecret).request(t, g)).success(t)
	})
	t.Run("--throttle off admits every call", func(t *testing.T) {
		g := newGateway(t, qps("BatchRegisterDevice", 1), func(c *emulator.Config) { c.Throttle = false })
		assert.Equal(t, map[string]int{"": 5}, burst(t, g, testAK, testSecret, 5))
	})
	t.Run("--qps Action=0 makes the action unlimited", func(t *testing.T) {
		g := newGateway(t, qps("BatchRegisterDevice", 0))
		assert.Equal(t, map[string]int{"": 12}, burst(t, g, testAK, testSecret, 12))
	})
	t.Run("--qps-scale lowers the documented limit", func(t *testing.T) {
		g := newGateway(t, func(c *emulator.Config) { c.Throttle, c.QPSScale = true, 0.2 })
		assert.Equal(t, map[string]int{"": 2, "Throttling.User": 3}, burst(t, g, testAK, testSecret, 5), "10 QPS × 0.2")
	})
	t.Run("the documented default applies with throttling on", func(t *testing.T) {
		g := newGateway(t, func(c *emulator.Config) { c.Throttle = true })
		assert.Equal(t, map[string]int{"": 10, "Throttling.User": 2}, burst(t, g, testAK, testSecret, 12))
	})
	t.Run("a throttled XML caller gets an XML error", func(t *testing.T) {
		g := newGateway(t, qps("QueryPageByApplyId", 1))
		send := func() reply {
			return do(t, g.newV1(testAK, "QueryPageByApplyId", "ApplyId", "1", "Format", "XML").sign(testSecret).request(t, g))
		}
		send().admitted(t)
		r := send()
		assert.Equal(t, "Throttling.User", r.gatewayError(t, "XML").Code)
		assert.Equal(t, http.StatusBadRequest, r.status)
	})
}

// teaTimeLeft is darabonba-openapi's getTimeLeft: split on ',' then ':',
// no trimming, integer milliseconds; -1 when absent or unparsable.
func teaTimeLeft(header string) int64 {
	for _, pair := range strings.Split(header, ",") {
		kv := strings.Split(pair, ":")
		if len(kv) == 2 && kv[0] == "TimeLeft" {
			n, err := strconv.ParseInt(kv[1], 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
