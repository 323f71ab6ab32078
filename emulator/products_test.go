package emulator_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
)

// formats are the two response formats every case runs in.
var formats = []string{"JSON", "XML"}

// createProduct creates a product through the SDK and fails the test on
// anything but success.
func createProduct(t *testing.T, c *iot.Client, name, instance string) *iot.CreateProductResponse {
	t.Helper()
	req := iot.CreateCreateProductRequest()
	req.ProductName = name
	req.NodeType = requests.NewInteger(0)
	req.IotInstanceId = instance
	resp, err := c.CreateProduct(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	return resp
}

func queryProduct(t *testing.T, c *iot.Client, format, pk, instance string) *iot.QueryProductResponse {
	t.Helper()
	req := iot.CreateQueryProductRequest()
	req.AcceptFormat = format
	req.ProductKey = pk
	req.IotInstanceId = instance
	resp, err := c.QueryProduct(req)
	require.NoError(t, err)
	return resp
}

func deleteProduct(t *testing.T, c *iot.Client, format, pk, instance string) *iot.DeleteProductResponse {
	t.Helper()
	req := iot.CreateDeleteProductRequest()
	req.AcceptFormat = format
	req.ProductKey = pk
	req.IotInstanceId = instance
	resp, err := c.DeleteProduct(req)
	require.NoError(t, err)
	return resp
}

func TestCreateProduct(t *testing.T) {
	for _, format := range formats {
		t.Run("a product is created with generated credentials and reads back in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			client := srv.NewIotClient()
			req := iot.CreateCreateProductRequest()
			req.AcceptFormat = format
			req.ProductName = "Test_Light"
			req.NodeType = requests.NewInteger(1)
			req.DataFormat = requests.NewInteger(0)
			req.Description = "Product test"
			req.AliyunCommodityCode = "iothub_senior"
			req.NetType = "CELLULAR"
			req.ProtocolType = "modbus"
			resp, err := client.CreateProduct(req)
			require.NoError(t, err)
			require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
			assert.Regexp(t, `^a1[A-Za-z0-9]{9}$`, resp.ProductKey)
			assert.Equal(t, resp.ProductKey, resp.Data.ProductKey)
			assert.Regexp(t, `^[A-Za-z0-9]{16}$`, resp.Data.ProductSecret)
			assert.Equal(t, "Test_Light", resp.Data.ProductName)
			assert.Equal(t, 1, resp.Data.NodeType)
			assert.Equal(t, 0, resp.Data.DataFormat)
			assert.Equal(t, "Product test", resp.Data.Description)
			assert.Equal(t, "secret", resp.Data.AuthType)
			assert.False(t, resp.Data.Id2)
			assert.Equal(t, "modbus", resp.Data.ProtocolType)
			assert.Equal(t, "iothub_senior", resp.Data.AliyunCommodityCode)

			q := queryProduct(t, client, format, resp.ProductKey, "")
			require.True(t, q.Success, "%s: %s", q.Code, q.ErrorMessage)
			assert.Equal(t, resp.ProductKey, q.Data.ProductKey)
			assert.Equal(t, resp.Data.ProductSecret, q.Data.ProductSecret)
			assert.Equal(t, "Test_Light", q.Data.ProductName)
			assert.Equal(t, "Product test", q.Data.Description)
			assert.Equal(t, 1, q.Data.NodeType)
			assert.Equal(t, 0, q.Data.DataFormat)
			assert.Equal(t, 0, q.Data.DeviceCount)
			assert.Positive(t, q.Data.GmtCreate)
			assert.Equal(t, "secret", q.Data.AuthType)
			assert.True(t, q.Data.Owner)
			assert.Equal(t, "DEVELOPMENT_STATUS", q.Data.ProductStatus)
			assert.Equal(t, "iothub_senior", q.Data.AliyunCommodityCode)
			assert.Equal(t, 6, q.Data.NetType, "CELLULAR reads back as 6")
			assert.Equal(t, 1, q.Data.ValidateType)
			assert.Equal(t, "modbus", q.Data.ProtocolType)
		})
	}
	t.Run("defaults are Alink JSON, secret auth, basic edition and Wi-Fi", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		resp := createProduct(t, client, "plain_one", "")
		assert.Equal(t, 1, resp.Data.DataFormat)
		assert.Equal(t, "secret", resp.Data.AuthType)
		assert.Equal(t, "iothub", resp.Data.AliyunCommodityCode)
		q := queryProduct(t, client, "JSON", resp.ProductKey, "")
		assert.Equal(t, 3, q.Data.NetType)
	})
	t.Run("Id2 alone asks for id2 authentication", func(t *testing.T) {
		srv := emutest.New(t)
		req := iot.CreateCreateProductRequest()
		req.ProductName = "id2_product"
		req.NodeType = requests.NewInteger(0)
		req.Id2 = requests.NewBoolean(true)
		resp, err := srv.NewIotClient().CreateProduct(req)
		require.NoError(t, err)
		require.True(t, resp.Success)
		assert.True(t, resp.Data.Id2)
		assert.Equal(t, "id2", resp.Data.AuthType)
	})
	t.Run("the same name is allowed in another instance and in another account", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
		createProduct(t, srv.NewIotClientFor(akA, secretA), "shared_name", "")
		createProduct(t, srv.NewIotClientFor(akA, secretA), "shared_name", instanceA)
		createProduct(t, srv.NewIotClientFor(akB, secretB), "shared_name", "")
	})

	errorCases := []struct {
		name     string
		instance string
		mutate   func(*iot.CreateProductRequest)
		code     string
	}{
		{"a name already used in the instance is iot.prod.AlreadyExistedProductName", "", func(r *iot.CreateProductRequest) { r.ProductName = "taken_name" }, "iot.prod.AlreadyExistedProductName"},
		{"a three-character name is iot.prod.InvalidFormattedProductName", "", func(r *iot.CreateProductRequest) { r.ProductName = "abc" }, "iot.prod.InvalidFormattedProductName"},
		{"a name with a hyphen is iot.prod.InvalidFormattedProductName", "", func(r *iot.CreateProductRequest) { r.ProductName = "bad-name" }, "iot.prod.InvalidFormattedProductName"},
		{"sixteen Chinese characters (32 wide) is iot.prod.InvalidFormattedProductName", "", func(r *iot.CreateProductRequest) { r.ProductName = strings.Repeat("灯", 16) }, "iot.prod.InvalidFormattedProductName"},
		{"a 101-character description is iot.prod.LongProductDesc", "", func(r *iot.CreateProductRequest) { r.Description = strings.Repeat("d", 101) }, "iot.prod.LongProductDesc"},
		{"NodeType 2 is iot.prod.InvalidNodeType", "", func(r *iot.CreateProductRequest) { r.NodeType = requests.NewInteger(2) }, "iot.prod.InvalidNodeType"},
		{"a non-numeric NodeType is iot.prod.InvalidNodeType", "", func(r *iot.CreateProductRequest) { r.NodeType = "gateway" }, "iot.prod.InvalidNodeType"},
		{"an unknown AliyunCommodityCode is iot.prod.InvalidAliyunCommodityCode", "", func(r *iot.CreateProductRequest) { r.AliyunCommodityCode = "iothub_pro" }, "iot.prod.InvalidAliyunCommodityCode"},
		{"an unknown NetType is iot.check.InvalidFormattedParameter", "", func(r *iot.CreateProductRequest) { r.NetType = "5G" }, "iot.check.InvalidFormattedParameter"},
		{"DataFormat 2 is iot.check.InvalidFormattedParameter", "", func(r *iot.CreateProductRequest) { r.DataFormat = requests.NewInteger(2) }, "iot.check.InvalidFormattedParameter"},
		{"an unknown IotInstanceId is iot.system.InstanceNotFound", "iot-no-such-instance", func(*iot.CreateProductRequest) {}, "iot.system.InstanceNotFound"},
	}
	for _, tc := range errorCases {
		for _, format := range formats {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				srv := emutest.New(t)
				client := srv.NewIotClient()
				createProduct(t, client, "taken_name", "")
				req := iot.CreateCreateProductRequest()
				req.AcceptFormat = format
				req.ProductName = "fresh_name"
				req.NodeType = requests.NewInteger(0)
				req.IotInstanceId = tc.instance
				tc.mutate(req)
				resp, err := client.CreateProduct(req)
				require.NoError(t, err)
				assert.False(t, resp.Success)
				assert.Equal(t, tc.code, resp.Code)
				assert.NotEmpty(t, resp.ErrorMessage)
				assert.Empty(t, resp.ProductKey)
			})
		}
	}
	for _, format := range formats {
		t.Run("the 1,001st product of an instance is iot.prod.ProductCountExceedMax in "+format, func(t *testing.T) {
			f := &fixtures.Fixture{Accounts: []fixtures.Account{{AccessKeyID: "testAccessKeyId", AccessKeySecret: "testAccessKeySecret"}}}
			for i := range 1000 {
				f.Accounts[0].Products = append(f.Accounts[0].Products, fixtures.Product{ProductKey: fmt.Sprintf("a1Full%05d", i), ProductName: fmt.Sprintf("full_%04d", i)})
			}
			srv := emutest.New(t, emutest.WithFixture(f))
			req := iot.CreateCreateProductRequest()
			req.AcceptFormat = format
			req.ProductName = "one_too_many"
			req.NodeType = requests.NewInteger(0)
			resp, err := srv.NewIotClient().CreateProduct(req)
			require.NoError(t, err)
			assert.False(t, resp.Success)
			assert.Equal(t, "iot.prod.ProductCountExceedMax", resp.Code)
		})
	}
}

func TestQueryProduct(t *testing.T) {
	for _, format := range formats {
		t.Run("a seeded product reports its device count and fixed secret in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
			q := queryProduct(t, srv.NewIotClientFor(akA, secretA), format, pkA, "")
			require.True(t, q.Success, "%s: %s", q.Code, q.ErrorMessage)
			assert.Equal(t, "ProdASecret0001", q.Data.ProductSecret)
			assert.Equal(t, 2, q.Data.DeviceCount)
		})
		for _, tc := range []struct{ name, ak, secret, pk, instance, code string }{
			{"an unknown key is iot.prod.NotExistedProduct", akA, secretA, "a1NoSuchProd", "", "iot.prod.NotExistedProduct"},
			{"another account's key is iot.common.InvalidTenant", akB, secretB, pkA, "", "iot.common.InvalidTenant"},
			{"a key of another instance is iot.prod.NotExistedProduct", akA, secretA, pkAInst, "", "iot.prod.NotExistedProduct"},
			{"an unknown IotInstanceId is iot.system.InstanceNotFound", akA, secretA, pkA, "iot-no-such-instance", "iot.system.InstanceNotFound"},
		} {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
				q := queryProduct(t, srv.NewIotClientFor(tc.ak, tc.secret), format, tc.pk, tc.instance)
				assert.False(t, q.Success)
				assert.Equal(t, tc.code, q.Code)
				assert.Empty(t, q.Data.ProductKey)
			})
		}
	}
}

func queryProductList(t *testing.T, c *iot.Client, format string, page, size int, code, instance string) *iot.QueryProductListResponse {
	t.Helper()
	req := iot.CreateQueryProductListRequest()
	req.AcceptFormat = format
	req.CurrentPage = requests.NewInteger(page)
	req.PageSize = requests.NewInteger(size)
	req.AliyunCommodityCode = code
	req.IotInstanceId = instance
	resp, err := c.QueryProductList(req)
	require.NoError(t, err)
	return resp
}

func TestQueryProductList(t *testing.T) {
	for _, format := range formats {
		t.Run("products page newest first with the paging fields under Data in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			client := srv.NewIotClient()
			var keys []string
			for i := range 4 {
				req := iot.CreateCreateProductRequest()
				req.ProductName = fmt.Sprintf("listed_%d", i)
				req.NodeType = requests.NewInteger(0)
				if i%2 == 1 {
					req.AliyunCommodityCode = "iothub_senior"
				}
				resp, err := client.CreateProduct(req)
				require.NoError(t, err)
				require.True(t, resp.Success)
				keys = append(keys, resp.ProductKey)
			}
			// Newest first; the fixture's default product is the oldest.
			want := []string{keys[3], keys[2], keys[1], keys[0], srv.ProductKey()}
			var got []string
			for page := 1; page <= 3; page++ {
				r := queryProductList(t, client, format, page, 2, "", "")
				require.True(t, r.Success, "%s: %s", r.Code, r.ErrorMessage)
				assert.Equal(t, page, r.Data.CurrentPage)
				assert.Equal(t, 2, r.Data.PageSize)
				assert.Equal(t, 3, r.Data.PageCount)
				assert.Equal(t, 5, r.Data.Total)
				for _, p := range r.Data.List.ProductInfo {
					got = append(got, p.ProductKey)
					assert.Positive(t, p.GmtCreate)
					assert.Equal(t, "secret", p.AuthType)
					assert.NotEmpty(t, p.ProductName)
				}
			}
			assert.Equal(t, want, got)

			senior := queryProductList(t, client, format, 1, 10, "iothub_senior", "")
			require.True(t, senior.Success)
			assert.Equal(t, 2, senior.Data.Total)
			require.Len(t, senior.Data.List.ProductInfo, 2)
			assert.Equal(t, keys[3], senior.Data.List.ProductInfo[0].ProductKey)

			beyond := queryProductList(t, client, format, 9, 10, "", "")
			require.True(t, beyond.Success)
			assert.Empty(t, beyond.Data.List.ProductInfo)
			assert.Equal(t, 5, beyond.Data.Total)
		})
		for _, tc := range []struct {
			name       string
			page, size int
			code       string
			instance   string
			want       string
		}{
			{"PageSize 201 is iot.common.InvalidPageParams", 1, 201, "", "", "iot.common.InvalidPageParams"},
			{"PageSize 0 is iot.common.InvalidPageParams", 1, 0, "", "", "iot.common.InvalidPageParams"},
			{"CurrentPage 0 is iot.common.InvalidPageParams", 0, 10, "", "", "iot.common.InvalidPageParams"},
			{"an unknown AliyunCommodityCode filter is iot.prod.InvalidAliyunCommodityCode", 1, 10, "iothub_pro", "", "iot.prod.InvalidAliyunCommodityCode"},
			{"an unknown IotInstanceId is iot.system.InstanceNotFound", 1, 10, "", "iot-no-such-instance", "iot.system.InstanceNotFound"},
		} {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				srv := emutest.New(t)
				r := queryProductList(t, srv.NewIotClient(), format, tc.page, tc.size, tc.code, tc.instance)
				assert.False(t, r.Success)
				assert.Equal(t, tc.want, r.Code)
			})
		}
	}
	t.Run("an 18-digit CurrentPage is an empty page, not the first one", func(t *testing.T) {
		srv := emutest.New(t)
		req := iot.CreateQueryProductListRequest()
		req.CurrentPage = "999999999999999999"
		req.PageSize = requests.NewInteger(200)
		r, err := srv.NewIotClient().QueryProductList(req)
		require.NoError(t, err)
		require.True(t, r.Success, "%s: %s", r.Code, r.ErrorMessage)
		assert.Empty(t, r.Data.List.ProductInfo)
		assert.Equal(t, 1, r.Data.Total)
	})
	t.Run("PageSize 200 is the largest page", func(t *testing.T) {
		srv := emutest.New(t)
		r := queryProductList(t, srv.NewIotClient(), "JSON", 1, 200, "", "")
		require.True(t, r.Success)
		assert.Equal(t, 200, r.Data.PageSize)
	})
}

func TestDeleteProduct(t *testing.T) {
	for _, format := range formats {
		t.Run("an empty product is deleted and its key stops working in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			client := srv.NewIotClient()
			pk := createProduct(t, client, "short_lived", "").ProductKey
			d := deleteProduct(t, client, format, pk, "")
			require.True(t, d.Success, "%s: %s", d.Code, d.ErrorMessage)
			assert.Empty(t, d.Code)
			q := queryProduct(t, client, format, pk, "")
			assert.Equal(t, "iot.prod.NotExistedProduct", q.Code)
			again := deleteProduct(t, client, format, pk, "")
			assert.Equal(t, "iot.prod.NotExistedProduct", again.Code)
			// The name is free again.
			createProduct(t, client, "short_lived", "")
		})
		t.Run("a product with devices is refused until its devices are deleted in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			client := srv.NewIotClient()
			pk := createProduct(t, client, "with_devices", "").ProductKey
			dev := registerDevice(t, client, pk, "dev-0001", "")
			refused := deleteProduct(t, client, format, pk, "")
			assert.False(t, refused.Success)
			assert.Equal(t, "iot.system.IllegalRequest", refused.Code)
			assert.Contains(t, refused.ErrorMessage, "devices")
			q := queryProduct(t, client, format, pk, "")
			require.True(t, q.Success, "the refused product is still there")
			assert.Equal(t, 1, q.Data.DeviceCount)

			del := iot.CreateDeleteDeviceRequest()
			del.IotId = dev.Data.IotId
			dr, err := client.DeleteDevice(del)
			require.NoError(t, err)
			require.True(t, dr.Success)
			ok := deleteProduct(t, client, format, pk, "")
			assert.True(t, ok.Success, "%s: %s", ok.Code, ok.ErrorMessage)
		})
		t.Run("with the cascade switch a product is deleted with its devices in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithConfig(func(c *emulatorConfig) { c.DeleteProductCascade = true }))
			client := srv.NewIotClient()
			pk := createProduct(t, client, "cascading", "").ProductKey
			dev := registerDevice(t, client, pk, "dev-0001", "")
			d := deleteProduct(t, client, format, pk, "")
			require.True(t, d.Success, "%s: %s", d.Code, d.ErrorMessage)
			q := iot.CreateQueryDeviceInfoRequest()
			q.IotId = dev.Data.IotId
			qr, err := client.QueryDeviceInfo(q)
			require.NoError(t, err)
			assert.Equal(t, "iot.device.NotExistedDevice", qr.Code)
		})
		t.Run("deleting a product deletes its batches in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithProgression("manual"))
			client := srv.NewIotClient()
			pk := createProduct(t, client, "batched", "").ProductKey
			check := iot.CreateBatchCheckDeviceNamesRequest()
			check.ProductKey = pk
			check.DeviceName = &[]string{"pending01"}
			cr, err := client.BatchCheckDeviceNames(check)
			require.NoError(t, err)
			require.True(t, cr.Success)
			d := deleteProduct(t, client, format, pk, "")
			require.True(t, d.Success, "%s: %s", d.Code, d.ErrorMessage)
			p := iot.CreateQueryPageByApplyIdRequest()
			p.ApplyId = requestsInteger(cr.Data.ApplyId)
			pr, err := client.QueryPageByApplyId(p)
			require.NoError(t, err)
			assert.Equal(t, "iot.device.DeviceApplyIsNotFound", pr.Code)
		})
		for _, tc := range []struct{ name, ak, secret, pk, instance, code string }{
			{"an unknown key is iot.prod.NotExistedProduct", akA, secretA, "a1NoSuchProd", "", "iot.prod.NotExistedProduct"},
			{"another account's key is iot.common.InvalidTenant", akB, secretB, pkA, "", "iot.common.InvalidTenant"},
			{"an unknown IotInstanceId is iot.system.InstanceNotFound", akA, secretA, pkA, "iot-no-such-instance", "iot.system.InstanceNotFound"},
		} {
			t.Run(tc.name+" in "+format, func(t *testing.T) {
				srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
				d := deleteProduct(t, srv.NewIotClientFor(tc.ak, tc.secret), format, tc.pk, tc.instance)
				assert.False(t, d.Success)
				assert.Equal(t, tc.code, d.Code)
			})
		}
	}
}

// goldenNow is the frozen clock of the golden tests, so timestamps in the
// pinned bodies are exact.
var goldenNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestProductsAndDevicesGolden(t *testing.T) {
	// The two-account fixture plus an empty product for DeleteProduct.
	fixture := func() *fixtures.Fixture {
		f := twoAccounts()
		f.Accounts[0].Products = append(f.Accounts[0].Products, fixtures.Product{ProductKey: "a1EmptyProd", ProductName: "empty_product"})
		return f
	}
	cases := []struct {
		action string
		kind   string // success or error
		params map[string]string
	}{
		{"CreateProduct", "success", map[string]string{"ProductName": "golden_light", "NodeType": "0", "Description": "Golden product", "AliyunCommodityCode": "iothub_senior"}},
		{"CreateProduct", "error", map[string]string{"ProductName": "abc", "NodeType": "0"}},
		{"QueryProduct", "success", map[string]string{"ProductKey": pkA}},
		{"QueryProduct", "error", map[string]string{"ProductKey": "a1NoSuchProd"}},
		{"QueryProductList", "success", map[string]string{"CurrentPage": "1", "PageSize": "10"}},
		{"QueryProductList", "error", map[string]string{"CurrentPage": "1", "PageSize": "201"}},
		{"DeleteProduct", "success", map[string]string{"ProductKey": "a1EmptyProd"}},
		{"DeleteProduct", "error", map[string]string{"ProductKey": pkA}},
		{"RegisterDevice", "success", map[string]string{"ProductKey": pkA, "DeviceName": "golden-01", "Nickname": "golden_nick"}},
		{"RegisterDevice", "error", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-0001"}},
		{"QueryDeviceDetail", "success", map[string]string{"IotId": iotIDA1}},
		{"QueryDeviceDetail", "error", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-9999"}},
		{"QueryDeviceInfo", "success", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-0001"}},
		{"QueryDeviceInfo", "error", map[string]string{"ProductKey": pkA}},
		{"QueryDevice", "success", map[string]string{"ProductKey": pkA, "PageSize": "1"}},
		{"QueryDevice", "error", map[string]string{"ProductKey": pkA, "PageSize": "51"}},
		{"BatchQueryDeviceDetail", "success", map[string]string{"ProductKey": pkA, "DeviceName.1": "lamp-0001", "DeviceName.2": "no-such-1", "DeviceName.3": "lamp-0002"}},
		{"BatchQueryDeviceDetail", "error", map[string]string{"ProductKey": pkA, "DeviceName.1": "lamp-0001", "AccessKeyId": akB}},
		{"DeleteDevice", "success", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-0002"}},
		{"DeleteDevice", "error", map[string]string{"IotId": "not an id!"}},
		{"GetDeviceStatus", "success", map[string]string{"IotId": iotIDA1}},
		{"GetDeviceStatus", "error", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-9999"}},
		{"BatchGetDeviceState", "success", map[string]string{"ProductKey": pkA, "DeviceName.1": "lamp-0001", "DeviceName.2": "no-such-1"}},
		{"BatchGetDeviceState", "error", map[string]string{"ProductKey": pkA}},
		{"EnableThing", "success", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-0001"}},
		{"EnableThing", "error", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-9999"}},
		{"DisableThing", "success", map[string]string{"ProductKey": pkA, "DeviceName": "lamp-0001"}},
		{"DisableThing", "error", map[string]string{"IotId": "not an id!"}},
		{"QueryDeviceStatistics", "success", map[string]string{"ProductKey": pkA}},
		{"QueryDeviceStatistics", "error", map[string]string{"ProductKey": "a1NoSuchProd"}},
	}
	for _, tc := range cases {
		for _, format := range formats {
			name := tc.action + "." + tc.kind + "." + strings.ToLower(format)
			t.Run(name+" matches its golden file", func(t *testing.T) {
				srv := emutest.New(t, emutest.WithFixture(fixture()), emutest.WithConfig(func(c *emulatorConfig) {
					c.Now = func() time.Time { return goldenNow }
				}))
				params := map[string]string{"Action": tc.action, "Format": format, "AccessKeyId": akA, "Timestamp": goldenNow.Format(time.RFC3339)}
				for k, v := range tc.params {
					params[k] = v
				}
				resp, body := signedGet(t, srv.URL(), params)
				assert.Equal(t, 200, resp.StatusCode, "business errors travel with HTTP 200")
				if tc.kind == "success" {
					assert.Contains(t, string(body), map[string]string{"JSON": `"Success":true`, "XML": `<Success>true</Success>`}[format])
				} else {
					assert.Contains(t, string(body), map[string]string{"JSON": `"Success":false`, "XML": `<Success>false</Success>`}[format])
				}
				checkGolden(t, name, body)
			})
		}
	}
}
