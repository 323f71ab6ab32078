package emulator_test

import (
	"flag"
	"fmt"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/signature"
)

// boundedFull runs TestNothingUnbounded at the scale (100,000
// AccessKeyIds and client ids); CI runs a tenth of it.
var boundedFull = flag.Bool("bounded.full", false, "drive 100,000 AccessKeyIds and MQTT client ids (slow)")

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// TestNothingUnbounded drives many distinct AccessKeyIds in loose mode and
// many distinct MQTT client ids, and checks that what the emulator keeps
// for them is capped: counts of its internal maps, not timings. The heap
// is logged for the README.
func TestNothingUnbounded(t *testing.T) {
	n := 10_000
	if *boundedFull {
		n = 100_000
	}
	const maxLoose = 1_000
	srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) {
		c.Auth = emulator.AuthLoose
		c.Throttle = true
		c.MaxLooseAccounts = maxLoose
		c.MQTTLimits.Off = true // the per-IP login bucket would refuse the flood from one address
	}))
	client := srv.HTTPClient()
	start := heapMB()
	t.Run("distinct AccessKeyIds in loose mode make at most the account cap", func(t *testing.T) {
		refused := 0
		for i := 0; i < n; i++ {
			q := url.Values{"Action": {"QueryProductList"}, "Version": {"2018-01-20"}, "AccessKeyId": {fmt.Sprintf("hostileKey%06d", i)},
				"CurrentPage": {"1"}, "PageSize": {"10"}, "SignatureNonce": {fmt.Sprint(i)}, "Format": {"JSON"},
				"Timestamp": {time.Now().UTC().Format("2006-01-02T15:04:05Z")}}
			resp, err := client.Get(srv.URL() + "/?" + q.Encode())
			require.NoError(t, err)
			resp.Body.Close()
			if resp.StatusCode == 404 {
				refused++
			}
		}
		st, err := srv.Emulator().State(t.Context(), emulator.StateQuery{DevicePageSize: 1})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(st.Accounts), maxLoose+len(srv.Emulator().Config().Fixtures.Accounts))
		assert.Equal(t, n-maxLoose, refused, "every AccessKeyId past the cap is refused")
		t.Logf("heap after %d AccessKeyIds: %.1f MB (%.1f MB at start)", n, heapMB(), start)
	})
	t.Run("distinct MQTT client ids leave no session behind", func(t *testing.T) {
		names, secrets := newDevices(t, srv, 1)
		mqttN := n / 10
		if *boundedFull {
			mqttN = n
		}
		for i := 0; i < mqttN; i++ {
			id, user, pass := signature.DeviceCredentials(srv.ProductKey(), names[0], secrets[0], fmt.Sprintf("cid%07d", i), signature.HmacSHA256)
			conn, code, err := rawConnect(srv.MQTTAddr(), id, user, pass, 60)
			require.NoError(t, err)
			require.Equal(t, byte(0), code)
			conn.Close()
		}
		eventually(t, "every session to end", func() bool {
			_, _, _, sessions := srv.Emulator().MQTTSizes()
			return sessions == 0
		})
		logins, refused, uplink, _ := srv.Emulator().MQTTSizes()
		assert.LessOrEqual(t, logins+refused+uplink, 3, "one address, one device: one bucket each at most")
		t.Logf("heap after %d client ids: %.1f MB", mqttN, heapMB())
	})
	t.Run("the journal keeps its size", func(t *testing.T) {
		assert.LessOrEqual(t, len(srv.Requests()), max(srv.Emulator().Config().JournalSize, 1000))
	})
}
