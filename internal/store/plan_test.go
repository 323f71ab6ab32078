package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueryPlans checks that the queries a million devices must not slow
// down use an index, read from SQLite's own plan, not from timings.
func TestQueryPlans(t *testing.T) {
	st := openWithProduct(t, ":memory:")
	for _, c := range []struct{ what, query, index string }{
		{"start-up's OfflineAll", `UPDATE devices SET status='OFFLINE', status_ms=0 WHERE status='ONLINE'`, "devices_online"},
		{"a QueryDevice page", `SELECT seq FROM devices WHERE access_key_id='ak' AND product_key='a1Prod' ORDER BY created_ms DESC, seq DESC LIMIT 50 OFFSET 9950`, "devices_page"},
		{"a QueryDevice page from a bound, within its created_ms", `SELECT seq FROM devices WHERE access_key_id='ak' AND product_key='a1Prod' AND created_ms=5 AND seq<=9 ORDER BY created_ms DESC, seq DESC LIMIT 51`,
			"devices_page (access_key_id=? AND product_key=? AND created_ms=? AND seq<?)"},
		{"a QueryDevice page from a bound, older devices", `SELECT seq FROM devices WHERE access_key_id='ak' AND product_key='a1Prod' AND created_ms<5 ORDER BY created_ms DESC, seq DESC LIMIT 51`,
			"devices_page (access_key_id=? AND product_key=? AND created_ms<?)"},
		{"a QueryPageByApplyId page", `SELECT seq FROM devices WHERE apply_id=1 AND seq>=5 ORDER BY seq LIMIT 50`, "devices_apply"},
		{"a device login's lookup", `SELECT seq FROM devices WHERE access_key_id IN (SELECT access_key_id FROM accounts) AND product_key='a1Prod' AND device_name='d' ORDER BY seq`,
			"sqlite_autoindex_devices_2 (access_key_id=? AND product_key=? AND device_name=?)"},
	} {
		t.Run(c.what+" uses "+c.index, func(t *testing.T) {
			plan, err := st.Plan(context.Background(), c.query)
			require.NoError(t, err)
			assert.Contains(t, plan, c.index)
		})
	}
}
