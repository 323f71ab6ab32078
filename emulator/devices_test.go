package emulator_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
)

// Timestamp shapes of the device APIs (docs/fidelity.md, apis §2.6, §2.7).
const (
	detailTimeRE = `^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`
	utcTimeRE    = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`
	cookieTimeRE = `^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} \d{2}:\d{2}:\d{2} GMT$`
)

// registerDevice registers one device through the SDK and fails the test on
// anything but success; an empty name asks for a generated one.
func registerDevice(t *testing.T, c *iot.Client, pk, name, nickname string) *iot.RegisterDeviceResponse {
	t.Helper()
	req := iot.CreateRegisterDeviceRequest()
	req.ProductKey = pk
	req.DeviceName = name
	req.Nickname = nickname
	resp, err := c.RegisterDevice(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	return resp
}

func queryDevicePage(t *testing.T, c *iot.Client, format, pk string, page, size int, token string) *iot.QueryDeviceResponse {
	t.Helper()
	req := iot.CreateQueryDeviceRequest()
	req.AcceptFormat = format
	req.ProductKey = pk
	if page > 0 {
		req.CurrentPage = requests.NewInteger(page)
	}
	if size > 0 {
		req.PageSize = requests.NewInteger(size)
	}
	req.NextToken = token
	resp, err := c.QueryDevice(req)
	require.NoError(t, err)
	return resp
}

func TestRegisterDevice(t *testing.T) {
	for _, format := range formats {
		t.Run("a named device is registered UNACTIVE with documented timestamps in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			client := srv.NewIotClient()
			req := iot.CreateRegisterDeviceRequest()
			req.AcceptFormat = format
			req.ProductKey = srv.ProductKey()
			req.DeviceName = "light:01@hall.a-b_c"
			req.Nickname = "detectors_in_beijing"
			resp, err := client.RegisterDevice(req)
			require.NoError(t, err)
			require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
			assert.Equal(t, "light:01@hall.a-b_c", resp.Data.DeviceName)
			assert.Equal(t, srv.ProductKey(), resp.Data.ProductKey)
			assert.Equal(t, "detectors_in_beijing", resp.Data.Nickname)
			assert.Regexp(t, `^[A-Za-z0-9]{32}$`, resp.Data.DeviceSecret)
			assert.Regexp(t, `^[A-Za-z0-9]{20}000100$`, resp.Data.IotId)

			dq := iot.CreateQueryDeviceDetailRequest()
			dq.AcceptFormat = format
			dq.IotId = resp.Data.IotId
			d, err := client.QueryDeviceDetail(dq)
			require.NoError(t, err)
			require.True(t, d.Success, "%s: %s", d.Code, d.ErrorMessage)
			assert.Equal(t, "UNACTIVE", d.Data.Status)
			assert.Equal(t, resp.Data.DeviceSecret, d.Data.DeviceSecret)
			assert.Equal(t, "emulator_default", d.Data.ProductName)
			assert.Equal(t, "cn-shanghai", d.Data.Region)
			assert.True(t, d.Data.Owner)
			assert.Regexp(t, detailTimeRE, d.Data.GmtCreate)
			assert.Regexp(t, utcTimeRE, d.Data.UtcCreate)
			gmt, err := time.ParseInLocation("2006-01-02 15:04:05", d.Data.GmtCreate, time.FixedZone("CST", 8*3600))
			require.NoError(t, err)
			utc, err := time.Parse("2006-01-02T15:04:05.000Z", d.Data.UtcCreate)
			require.NoError(t, err)
			assert.True(t, gmt.Equal(utc.Truncate(time.Second)), "GmtCreate is UtcCreate in UTC+8: %s vs %s", d.Data.GmtCreate, d.Data.UtcCreate)
			assert.WithinDuration(t, time.Now(), utc, time.Hour)
			for _, never := range []string{d.Data.GmtActive, d.Data.UtcActive, d.Data.GmtOnline, d.Data.UtcOnline} {
				assert.Empty(t, never, "a never-activated device has no activation or online time")
			}
		})
		t.Run("a device without a name gets a generated 20-character one in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			req := iot.CreateRegisterDeviceRequest()
			req.AcceptFormat = format
			req.ProductKey = srv.ProductKey()
			resp, err := srv.NewIotClient().RegisterDevice(req)
			require.NoError(t, err)
			require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
			assert.Regexp(t, `^[A-Za-z0-9]{20}$`, resp.Data.DeviceName)
			assert.Empty(t, resp.Data.Nickname)
		})
		t.Run("a device of a LoRaWAN product echoes its EUIs in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			client := srv.NewIotClient()
			cp := iot.CreateCreateProductRequest()
			cp.ProductName = "lora_sensors"
			cp.NodeType = requests.NewInteger(0)
			cp.NetType = "LORA"
			cpr, err := client.CreateProduct(cp)
			require.NoError(t, err)
			require.True(t, cpr.Success)
			req := iot.CreateRegisterDeviceRequest()
			req.AcceptFormat = format
			req.ProductKey = cpr.ProductKey
			req.DevEui = "0000000000000001"
			req.JoinEui = "0000000000000002"
			resp, err := client.RegisterDevice(req)
			require.NoError(t, err)
			require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
			assert.Equal(t, "0000000000000001", resp.Data.DevEui)
			assert.Equal(t, "0000000000000002", resp.Data.JoinEui)
		})
		for _, tc := range []struct {
			name, pk, device, nickname, instance, code string
		}{
			{"a name that exists is iot.device.AlreadyExistedDeviceName", "", "taken-01", "", "", "iot.device.AlreadyExistedDeviceName"},
			{"a three-character name is iot.device.InvalidFormattedDeviceName", "", "abc", "", "", "iot.device.InvalidFormattedDeviceName"},
			{"a name with a slash is iot.device.InvalidFormattedDeviceName", "", "bad/name", "", "", "iot.device.InvalidFormattedDeviceName"},
			{"a 33-character name is iot.device.InvalidFormattedDeviceName", "", strings.Repeat("n", 33), "", "", "iot.device.InvalidFormattedDeviceName"},
			{"an unknown product is iot.prod.NotExistedProduct", "a1NoSuchProd", "fresh-01", "", "", "iot.prod.NotExistedProduct"},
			{"a nickname with a hyphen is iot.check.InvalidFormattedParameter", "", "fresh-01", "bad-nick", "", "iot.check.InvalidFormattedParameter"},
			{"an unknown IotInstanceId is iot.system.InstanceNotFound", "", "fresh-01", "", "iot-no-such-instance", "iot.system.InstanceNotFound"},
		} {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				srv := emutest.New(t)
				client := srv.NewIotClient()
				registerDevice(t, client, srv.ProductKey(), "taken-01", "")
				req := iot.CreateRegisterDeviceRequest()
				req.AcceptFormat = format
				req.ProductKey = srv.ProductKey()
				if tc.pk != "" {
					req.ProductKey = tc.pk
				}
				req.DeviceName = tc.device
				req.Nickname = tc.nickname
				req.IotInstanceId = tc.instance
				resp, err := client.RegisterDevice(req)
				require.NoError(t, err)
				assert.False(t, resp.Success)
				assert.Equal(t, tc.code, resp.Code)
				assert.NotEmpty(t, resp.ErrorMessage)
				assert.Empty(t, resp.Data.IotId)
			})
		}
	}
}

// lookup names a device the three ways the device APIs accept.
type lookup struct{ iotID, pk, name, instance string }

// lookupAPIs are the APIs that address one device by IotId or
// ProductKey+DeviceName; each returns whether it succeeded, its code and
// the IotId it reported (empty for DeleteDevice).
var lookupAPIs = []struct {
	name string
	call func(t *testing.T, c *iot.Client, format string, l lookup) (bool, string, string)
}{
	{"QueryDeviceDetail", func(t *testing.T, c *iot.Client, format string, l lookup) (bool, string, string) {
		req := iot.CreateQueryDeviceDetailRequest()
		req.AcceptFormat = format
		req.IotId, req.ProductKey, req.DeviceName, req.IotInstanceId = l.iotID, l.pk, l.name, l.instance
		resp, err := c.QueryDeviceDetail(req)
		require.NoError(t, err)
		return resp.Success, resp.Code, resp.Data.IotId
	}},
	{"QueryDeviceInfo", func(t *testing.T, c *iot.Client, format string, l lookup) (bool, string, string) {
		req := iot.CreateQueryDeviceInfoRequest()
		req.AcceptFormat = format
		req.IotId, req.ProductKey, req.DeviceName, req.IotInstanceId = l.iotID, l.pk, l.name, l.instance
		resp, err := c.QueryDeviceInfo(req)
		require.NoError(t, err)
		return resp.Success, resp.Code, resp.Data.IotId
	}},
	{"DeleteDevice", func(t *testing.T, c *iot.Client, format string, l lookup) (bool, string, string) {
		req := iot.CreateDeleteDeviceRequest()
		req.AcceptFormat = format
		req.IotId, req.ProductKey, req.DeviceName, req.IotInstanceId = l.iotID, l.pk, l.name, l.instance
		resp, err := c.DeleteDevice(req)
		require.NoError(t, err)
		return resp.Success, resp.Code, ""
	}},
}

func TestDeviceLookups(t *testing.T) {
	for _, api := range lookupAPIs {
		for _, format := range formats {
			for _, tc := range []struct {
				name string
				l    lookup
			}{
				{"finds a device by IotId", lookup{iotID: iotIDA1}},
				{"finds a device by ProductKey and DeviceName", lookup{pk: pkA, name: "lamp-0001"}},
				{"lets IotId win over a ProductKey and DeviceName that name nothing", lookup{iotID: iotIDA1, pk: "a1NoSuchProd", name: "nobody"}},
				{"finds a device of an Enterprise instance with its IotInstanceId", lookup{iotID: iotIDAInst, instance: instanceA}},
			} {
				t.Run(fmt.Sprintf("%s %s in %s", api.name, tc.name, format), func(t *testing.T) {
					srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
					ok, code, iotID := api.call(t, srv.NewIotClientFor(akA, secretA), format, tc.l)
					require.True(t, ok, code)
					if api.name != "DeleteDevice" {
						assert.NotEmpty(t, iotID)
					}
				})
			}
			for _, tc := range []struct {
				name string
				l    lookup
				code string
			}{
				{"with no identifier at all is iot.prod.NullProductKey", lookup{}, "iot.prod.NullProductKey"},
				{"with a DeviceName but no ProductKey is iot.prod.NullProductKey", lookup{name: "lamp-0001"}, "iot.prod.NullProductKey"},
				{"with a ProductKey but no DeviceName is iot.device.NullDeviceName", lookup{pk: pkA}, "iot.device.NullDeviceName"},
				{"with an unknown ProductKey is iot.prod.NotExistedProduct", lookup{pk: "a1NoSuchProd", name: "lamp-0001"}, "iot.prod.NotExistedProduct"},
				{"with an unknown DeviceName is iot.device.NotExistedDevice", lookup{pk: pkA, name: "lamp-9999"}, "iot.device.NotExistedDevice"},
				{"with a malformed DeviceName is iot.device.InvalidFormattedDeviceName", lookup{pk: pkA, name: "x"}, "iot.device.InvalidFormattedDeviceName"},
				{"with an unknown IotId is iot.device.NotExistedDevice", lookup{iotID: "NoSuchDevice0000000000100"}, "iot.device.NotExistedDevice"},
				{"with a malformed IotId is iot.device.InvalidIoTId", lookup{iotID: "not an id!"}, "iot.device.InvalidIoTId"},
				{"with another account's IotId is iot.device.NotExistedDevice", lookup{iotID: iotIDB1}, "iot.device.NotExistedDevice"},
				{"with the IotId of a device in another instance is iot.device.DeviceInstanceInconsistency", lookup{iotID: iotIDAInst}, "iot.device.DeviceInstanceInconsistency"},
				{"with an unknown IotInstanceId is iot.system.InstanceNotFound", lookup{iotID: iotIDA1, instance: "iot-no-such-instance"}, "iot.system.InstanceNotFound"},
			} {
				t.Run(fmt.Sprintf("%s %s in %s", api.name, tc.name, format), func(t *testing.T) {
					srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
					ok, code, iotID := api.call(t, srv.NewIotClientFor(akA, secretA), format, tc.l)
					assert.False(t, ok)
					assert.Equal(t, tc.code, code)
					assert.Empty(t, iotID)
				})
			}
		}
	}
	t.Run("QueryDeviceInfo reports exactly the device's identity", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
		req := iot.CreateQueryDeviceInfoRequest()
		req.ProductKey, req.DeviceName = pkA, "lamp-0001"
		resp, err := srv.NewIotClientFor(akA, secretA).QueryDeviceInfo(req)
		require.NoError(t, err)
		require.True(t, resp.Success)
		assert.Equal(t, iotIDA1, resp.Data.IotId)
		assert.Equal(t, pkA, resp.Data.ProductKey)
		assert.Equal(t, "lamp-0001", resp.Data.DeviceName)
		assert.Equal(t, "LampA0001SecretLampA0001Secret01", resp.Data.DeviceSecret)
		assert.Equal(t, "hall_lamp", resp.Data.Nickname)
	})
	t.Run("a deleted device is gone and its name is free", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
		client := srv.NewIotClientFor(akA, secretA)
		del := iot.CreateDeleteDeviceRequest()
		del.ProductKey, del.DeviceName = pkA, "lamp-0001"
		dr, err := client.DeleteDevice(del)
		require.NoError(t, err)
		require.True(t, dr.Success, "%s: %s", dr.Code, dr.ErrorMessage)
		ok, code, _ := lookupAPIs[0].call(t, client, "JSON", lookup{iotID: iotIDA1})
		assert.False(t, ok)
		assert.Equal(t, "iot.device.NotExistedDevice", code)
		again := registerDevice(t, client, pkA, "lamp-0001", "")
		assert.NotEqual(t, iotIDA1, again.Data.IotId, "the new device is a new device")
	})
}

func TestQueryDevice(t *testing.T) {
	for _, format := range formats {
		t.Run("devices page newest first with NextToken in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			client := srv.NewIotClient()
			pk := srv.ProductKey()
			var names []string
			for i := range 12 {
				names = append(names, registerDevice(t, client, pk, fmt.Sprintf("paged-%02d", i), "").Data.DeviceName)
			}
			var got []string
			token := ""
			for page := 1; page <= 3; page++ {
				r := queryDevicePage(t, client, format, pk, page, 5, "")
				require.True(t, r.Success, "%s: %s", r.Code, r.ErrorMessage)
				assert.Equal(t, page, r.Page)
				assert.Equal(t, 5, r.PageSize)
				assert.Equal(t, 3, r.PageCount)
				assert.Equal(t, 12, r.Total)
				if page < 3 {
					assert.NotEmpty(t, r.NextToken, "page %d has a next page", page)
				} else {
					assert.Empty(t, r.NextToken, "the last page has no next page")
				}
				if page == 1 {
					token = r.NextToken
				}
				for _, d := range r.Data.DeviceInfo {
					got = append(got, d.DeviceName)
					assert.Equal(t, pk, d.ProductKey)
					assert.Equal(t, "UNACTIVE", d.DeviceStatus)
					assert.Regexp(t, `^[A-Za-z0-9]{20}$`, d.DeviceId)
					assert.Equal(t, d.DeviceId+"000100", d.IotId)
					assert.Len(t, d.DeviceSecret, 32)
					assert.Regexp(t, cookieTimeRE, d.GmtCreate)
					assert.Regexp(t, cookieTimeRE, d.GmtModified)
					assert.Regexp(t, utcTimeRE, d.UtcCreate)
					assert.Regexp(t, utcTimeRE, d.UtcModified)
					assert.Empty(t, d.DeviceType, "DeviceType is not returned any more")
				}
			}
			want := make([]string, len(names))
			for i, n := range names {
				want[len(names)-1-i] = n
			}
			assert.Equal(t, want, got, "newest first")

			next := queryDevicePage(t, client, format, pk, 2, 5, token)
			require.True(t, next.Success, "%s: %s", next.Code, next.ErrorMessage)
			require.Len(t, next.Data.DeviceInfo, 5)
			assert.Equal(t, want[5], next.Data.DeviceInfo[0].DeviceName, "NextToken continues after page 1")
		})
		t.Run("the defaults are page 1 of 10 in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			r := queryDevicePage(t, srv.NewIotClient(), format, srv.ProductKey(), 0, 0, "")
			require.True(t, r.Success)
			assert.Equal(t, 1, r.Page)
			assert.Equal(t, 10, r.PageSize)
			assert.Equal(t, 0, r.Total)
			assert.Empty(t, r.Data.DeviceInfo)
		})
		for _, tc := range []struct {
			name       string
			pk         string
			page, size int
			token      string
			code       string
		}{
			{"PageSize 51 is iot.common.InvalidPageParams", "", 1, 51, "", "iot.common.InvalidPageParams"},
			{"CurrentPage × PageSize over 10,000 without NextToken is iot.common.InvalidPageParams", "", 201, 50, "", "iot.common.InvalidPageParams"},
			{"a NextToken the emulator never issued is iot.common.InvalidPageParams", "", 2, 10, "not-a-token", "iot.common.InvalidPageParams"},
			{"an unknown product is iot.prod.NotExistedProduct", "a1NoSuchProd", 1, 10, "", "iot.prod.NotExistedProduct"},
		} {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				srv := emutest.New(t)
				pk := srv.ProductKey()
				if tc.pk != "" {
					pk = tc.pk
				}
				r := queryDevicePage(t, srv.NewIotClient(), format, pk, tc.page, tc.size, tc.token)
				assert.False(t, r.Success)
				assert.Equal(t, tc.code, r.Code)
			})
		}
	}
	t.Run("page 200 of 50 is still within the window", func(t *testing.T) {
		srv := emutest.New(t)
		r := queryDevicePage(t, srv.NewIotClient(), "JSON", srv.ProductKey(), 200, 50, "")
		require.True(t, r.Success, "%s: %s", r.Code, r.ErrorMessage)
		assert.Empty(t, r.Data.DeviceInfo)
	})
}

func batchQuery(t *testing.T, c *iot.Client, format, pk string, names []string) *iot.BatchQueryDeviceDetailResponse {
	t.Helper()
	req := iot.CreateBatchQueryDeviceDetailRequest()
	req.AcceptFormat = format
	req.ProductKey = pk
	req.DeviceName = &names
	resp, err := c.BatchQueryDeviceDetail(req)
	require.NoError(t, err)
	return resp
}

func TestBatchQueryDeviceDetail(t *testing.T) {
	for _, format := range formats {
		t.Run("existing devices come back in request order and unknown names are skipped in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
			r := batchQuery(t, srv.NewIotClientFor(akA, secretA), format, pkA, []string{"lamp-0002", "no-such-1", "lamp-0001", "lamp-0002"})
			require.True(t, r.Success, "%s: %s", r.Code, r.ErrorMessage)
			require.Len(t, r.Data.DataItem, 2)
			first, second := r.Data.DataItem[0], r.Data.DataItem[1]
			assert.Equal(t, "lamp-0002", first.DeviceName)
			assert.Equal(t, "lamp-0001", second.DeviceName)
			assert.Equal(t, iotIDA1, second.IotId)
			assert.Equal(t, "hall_lamp", second.Nickname)
			assert.Equal(t, "LampA0001SecretLampA0001Secret01", second.DeviceSecret)
			assert.Equal(t, pkA, second.ProductKey)
			assert.Equal(t, "product_a", second.ProductName)
			assert.Equal(t, "UNACTIVE", second.Status)
			assert.Equal(t, "cn-shanghai", second.Region)
			assert.Equal(t, 0, second.NodeType)
			assert.Regexp(t, detailTimeRE, second.GmtCreate)
			assert.Regexp(t, utcTimeRE, second.UtcCreate)
			assert.Empty(t, second.GmtActive)
			assert.Empty(t, second.UtcActive)
		})
		t.Run("only unknown names give an empty list in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
			r := batchQuery(t, srv.NewIotClientFor(akA, secretA), format, pkA, []string{"no-such-1"})
			require.True(t, r.Success, "%s: %s", r.Code, r.ErrorMessage)
			assert.Empty(t, r.Data.DataItem)
		})
		many := make([]string, 101)
		for i := range many {
			many[i] = fmt.Sprintf("name-%03d", i)
		}
		for _, tc := range []struct {
			name  string
			ak    string
			sec   string
			pk    string
			names []string
			code  string
		}{
			{"101 names is iot.device.TooManyDeviceNamesPerRequest", akA, secretA, pkA, many, "iot.device.TooManyDeviceNamesPerRequest"},
			{"a malformed name is iot.device.InvalidFormattedDeviceNameInNameArray", akA, secretA, pkA, []string{"lamp-0001", "x"}, "iot.device.InvalidFormattedDeviceNameInNameArray"},
			{"an unknown product is iot.prod.NotExistedProduct", akA, secretA, "a1NoSuchProd", []string{"lamp-0001"}, "iot.prod.NotExistedProduct"},
			{"a device of another account is iot.common.AuthActionPermissionDeny", akB, secretB, pkA, []string{"no-such-1", "lamp-0001"}, "iot.common.AuthActionPermissionDeny"},
		} {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
				r := batchQuery(t, srv.NewIotClientFor(tc.ak, tc.sec), format, tc.pk, tc.names)
				assert.False(t, r.Success)
				assert.Equal(t, tc.code, r.Code)
				assert.Empty(t, r.Data.DataItem)
			})
		}
	}
	t.Run("100 names is the largest request", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
		names := make([]string, 100)
		for i := range names {
			names[i] = fmt.Sprintf("name-%03d", i)
		}
		names[99] = "lamp-0001"
		r := batchQuery(t, srv.NewIotClientFor(akA, secretA), "JSON", pkA, names)
		require.True(t, r.Success, "%s: %s", r.Code, r.ErrorMessage)
		assert.Len(t, r.Data.DataItem, 1)
	})
	t.Run("no names at all is the gateway's MissingDeviceName", func(t *testing.T) {
		srv := emutest.New(t)
		req := iot.CreateBatchQueryDeviceDetailRequest()
		req.ProductKey = srv.ProductKey()
		_, err := srv.NewIotClient().BatchQueryDeviceDetail(req)
		var se *sdkerrors.ServerError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 400, se.HttpStatus())
		assert.Equal(t, "MissingDeviceName", se.ErrorCode())
	})
}

func TestOneDevicePopulation(t *testing.T) {
	t.Run("a name registered by RegisterDevice fails a later batch and exists once", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		pk := srv.ProductKey()
		registerDevice(t, client, pk, "shared-01", "")

		check := iot.CreateBatchCheckDeviceNamesRequest()
		check.ProductKey = pk
		check.DeviceName = &[]string{"shared-01", "batch-only-01"}
		resp, err := client.BatchCheckDeviceNames(check)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		st, _ := waitStatus(t, client, "JSON", pk, resp.Data.ApplyId)
		assert.Equal(t, "CHECK_FAILED", st.Data.Status)
		assert.Equal(t, []string{"shared-01"}, st.Data.InvalidList.Name)

		r := queryDevicePage(t, client, "JSON", pk, 1, 50, "")
		require.True(t, r.Success)
		assert.Equal(t, 1, r.Total, "exactly one device exists")
		require.Len(t, r.Data.DeviceInfo, 1)
		assert.Equal(t, "shared-01", r.Data.DeviceInfo[0].DeviceName)
	})
	t.Run("a name created by a batch is refused by RegisterDevice and exists once", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		pk := srv.ProductKey()
		register(t, client, pk, []string{"shared-02"})

		req := iot.CreateRegisterDeviceRequest()
		req.ProductKey = pk
		req.DeviceName = "shared-02"
		resp, err := client.RegisterDevice(req)
		require.NoError(t, err)
		assert.False(t, resp.Success)
		assert.Equal(t, "iot.device.AlreadyExistedDeviceName", resp.Code)

		r := queryDevicePage(t, client, "JSON", pk, 1, 50, "")
		require.True(t, r.Success)
		assert.Equal(t, 1, r.Total, "exactly one device exists")
		b := batchQuery(t, client, "JSON", pk, []string{"shared-02"})
		require.True(t, b.Success)
		assert.Len(t, b.Data.DataItem, 1)
	})
	t.Run("a name registered between a batch's check and its creation makes the creation fail for it", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		pk := srv.ProductKey()
		check := iot.CreateBatchCheckDeviceNamesRequest()
		check.ProductKey = pk
		check.DeviceName = &[]string{"race-01", "race-02"}
		resp, err := client.BatchCheckDeviceNames(check)
		require.NoError(t, err)
		require.True(t, resp.Success)
		st, _ := waitStatus(t, client, "JSON", pk, resp.Data.ApplyId)
		require.Equal(t, "CHECK_SUCCESS", st.Data.Status)

		registerDevice(t, client, pk, "race-01", "")

		reg := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
		reg.ProductKey = pk
		reg.ApplyId = requestsInteger(resp.Data.ApplyId)
		rr, err := client.BatchRegisterDeviceWithApplyId(reg)
		require.NoError(t, err)
		require.True(t, rr.Success)
		st, _ = waitStatus(t, client, "JSON", pk, resp.Data.ApplyId)
		assert.Equal(t, "CREATE_FAILED", st.Data.Status)
		assert.Equal(t, []string{"race-01"}, st.Data.InvalidList.Name)

		r := queryDevicePage(t, client, "JSON", pk, 1, 50, "")
		assert.Equal(t, 2, r.Total, "race-01 once, race-02 once")
	})
	t.Run("a random name from BatchRegisterDevice is taken for RegisterDevice", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		pk := srv.ProductKey()
		br := iot.CreateBatchRegisterDeviceRequest()
		br.ProductKey = pk
		br.Count = requests.NewInteger(1)
		brr, err := client.BatchRegisterDevice(br)
		require.NoError(t, err)
		require.True(t, brr.Success)
		st, _ := waitStatus(t, client, "JSON", pk, brr.Data.ApplyId)
		require.Equal(t, "CREATE_SUCCESS", st.Data.Status)
		r := queryDevicePage(t, client, "JSON", pk, 1, 50, "")
		require.Len(t, r.Data.DeviceInfo, 1)

		req := iot.CreateRegisterDeviceRequest()
		req.ProductKey = pk
		req.DeviceName = r.Data.DeviceInfo[0].DeviceName
		resp, err := client.RegisterDevice(req)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.AlreadyExistedDeviceName", resp.Code)
	})
	t.Run("deleting a batch-created device frees its name for RegisterDevice and for batches", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		pk := srv.ProductKey()
		register(t, client, pk, []string{"freed-01"})
		del := iot.CreateDeleteDeviceRequest()
		del.ProductKey, del.DeviceName = pk, "freed-01"
		dr, err := client.DeleteDevice(del)
		require.NoError(t, err)
		require.True(t, dr.Success, "%s: %s", dr.Code, dr.ErrorMessage)

		register(t, client, pk, []string{"freed-01"})
		del2 := iot.CreateDeleteDeviceRequest()
		del2.ProductKey, del2.DeviceName = pk, "freed-01"
		dr, err = client.DeleteDevice(del2)
		require.NoError(t, err)
		require.True(t, dr.Success)
		registerDevice(t, client, pk, "freed-01", "")
		r := queryDevicePage(t, client, "JSON", pk, 1, 50, "")
		assert.Equal(t, 1, r.Total)
	})
}

func TestRequiredParameters(t *testing.T) {
	for _, tc := range []struct {
		action  string
		missing string
		call    func(c *iot.Client) error
	}{
		{"CreateProduct", "ProductName", func(c *iot.Client) error {
			r := iot.CreateCreateProductRequest()
			r.NodeType = requests.NewInteger(0)
			_, err := c.CreateProduct(r)
			return err
		}},
		{"CreateProduct", "NodeType", func(c *iot.Client) error {
			r := iot.CreateCreateProductRequest()
			r.ProductName = "no_node_type"
			_, err := c.CreateProduct(r)
			return err
		}},
		{"QueryProduct", "ProductKey", func(c *iot.Client) error {
			_, err := c.QueryProduct(iot.CreateQueryProductRequest())
			return err
		}},
		{"QueryProductList", "CurrentPage", func(c *iot.Client) error {
			r := iot.CreateQueryProductListRequest()
			r.PageSize = requests.NewInteger(10)
			_, err := c.QueryProductList(r)
			return err
		}},
		{"QueryProductList", "PageSize", func(c *iot.Client) error {
			r := iot.CreateQueryProductListRequest()
			r.CurrentPage = requests.NewInteger(1)
			_, err := c.QueryProductList(r)
			return err
		}},
		{"DeleteProduct", "ProductKey", func(c *iot.Client) error {
			_, err := c.DeleteProduct(iot.CreateDeleteProductRequest())
			return err
		}},
		{"RegisterDevice", "ProductKey", func(c *iot.Client) error {
			_, err := c.RegisterDevice(iot.CreateRegisterDeviceRequest())
			return err
		}},
		{"QueryDevice", "ProductKey", func(c *iot.Client) error {
			_, err := c.QueryDevice(iot.CreateQueryDeviceRequest())
			return err
		}},
		{"BatchQueryDeviceDetail", "ProductKey", func(c *iot.Client) error {
			r := iot.CreateBatchQueryDeviceDetailRequest()
			r.DeviceName = &[]string{"lamp-0001"}
			_, err := c.BatchQueryDeviceDetail(r)
			return err
		}},
	} {
		t.Run(fmt.Sprintf("%s without %s is the gateway's Missing%s", tc.action, tc.missing, tc.missing), func(t *testing.T) {
			srv := emutest.New(t)
			err := tc.call(srv.NewIotClient())
			var se *sdkerrors.ServerError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, 400, se.HttpStatus())
			assert.Equal(t, "Missing"+tc.missing, se.ErrorCode())
		})
	}
}
