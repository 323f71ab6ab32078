package emulator_test

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
)

// The two-account fixture: account A owns a product in the public instance
// and one in its Enterprise instance; account B owns one product.
const (
	akA, secretA = "accountAKeyId", "accountASecret"
	akB, secretB = "accountBKeyId", "accountBSecret"
	instanceA    = "iot-cn-instance-a"
	pkA          = "a1ProductAa"
	pkAInst      = "a1ProductAi"
	pkB          = "a1ProductBb"
	iotIDA1      = "LampA0001FixedIotId0000100"
	iotIDAInst   = "GateA0001FixedIotId0000100"
	iotIDB1      = "MeterB001FixedIotId0000100"
)

func twoAccounts() *fixtures.Fixture {
	return &fixtures.Fixture{Accounts: []fixtures.Account{
		{
			AccessKeyID: akA, AccessKeySecret: secretA, Instances: []string{instanceA},
			Products: []fixtures.Product{
				{ProductKey: pkA, ProductName: "product_a", ProductSecret: "ProdASecret0001", Devices: []fixtures.Device{
					{DeviceName: "lamp-0001", DeviceSecret: "LampA0001SecretLampA0001Secret01", IotID: iotIDA1, Nickname: "hall_lamp"},
					{DeviceName: "lamp-0002", DeviceSecret: "LampA0002SecretLampA0002Secret02"},
				}},
				{ProductKey: pkAInst, ProductName: "product_a_inst", IotInstanceID: instanceA, NodeType: 1, Devices: []fixtures.Device{
					{DeviceName: "gate-0001", DeviceSecret: "GateA0001SecretGateA0001Secret01", IotID: iotIDAInst},
				}},
			},
		},
		{
			AccessKeyID: akB, AccessKeySecret: secretB,
			Products: []fixtures.Product{
				{ProductKey: pkB, ProductName: "product_b", Devices: []fixtures.Device{
					{DeviceName: "meter-0001", DeviceSecret: "MeterB001SecretMeterB001Secret01", IotID: iotIDB1},
				}},
			},
		},
	}}
}

func TestTwoAccountsSideBySide(t *testing.T) {
	for _, format := range formats {
		t.Run("neither account can read, page, register into or delete the other's products, devices or batches in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
			a := srv.NewIotClientFor(akA, secretA)
			b := srv.NewIotClientFor(akB, secretB)

			// Each account starts a batch in its own product.
			applyA := register(t, a, pkA, []string{"batch-a-01"})
			applyB := register(t, b, pkB, []string{"batch-b-01"})

			for _, side := range []struct {
				name          string
				me            *iot.Client
				otherPK       string
				otherIotID    string
				otherDevice   string
				otherApply    int64
				myPK          string
				otherProducts int
			}{
				{"B looking at A", b, pkA, iotIDA1, "lamp-0001", applyA, pkB, 2},
				{"A looking at B", a, pkB, iotIDB1, "meter-0001", applyB, pkA, 1},
			} {
				t.Run(side.name, func(t *testing.T) {
					c := side.me
					q := queryProduct(t, c, format, side.otherPK, "")
					assert.Equal(t, "iot.common.InvalidTenant", q.Code, "QueryProduct")
					assert.Empty(t, q.Data.ProductSecret)

					l := queryProductList(t, c, format, 1, 200, "", "")
					require.True(t, l.Success)
					for _, p := range l.Data.List.ProductInfo {
						assert.NotEqual(t, side.otherPK, p.ProductKey, "QueryProductList shows only own products")
					}

					qd := iot.CreateQueryDeviceRequest()
					qd.AcceptFormat = format
					qd.ProductKey = side.otherPK
					qdr, err := c.QueryDevice(qd)
					require.NoError(t, err)
					assert.Equal(t, "iot.prod.NotExistedProduct", qdr.Code, "QueryDevice")
					assert.Empty(t, qdr.Data.DeviceInfo)

					for _, byID := range []bool{true, false} {
						dd := iot.CreateQueryDeviceDetailRequest()
						dd.AcceptFormat = format
						if byID {
							dd.IotId = side.otherIotID
						} else {
							dd.ProductKey, dd.DeviceName = side.otherPK, side.otherDevice
						}
						ddr, err := c.QueryDeviceDetail(dd)
						require.NoError(t, err)
						want := "iot.device.NotExistedDevice"
						if !byID {
							want = "iot.prod.NotExistedProduct"
						}
						assert.Equal(t, want, ddr.Code, "QueryDeviceDetail by IotId=%v", byID)
						assert.Empty(t, ddr.Data.DeviceSecret)

						di := iot.CreateQueryDeviceInfoRequest()
						di.AcceptFormat = format
						di.IotId, di.ProductKey, di.DeviceName = dd.IotId, dd.ProductKey, dd.DeviceName
						dir, err := c.QueryDeviceInfo(di)
						require.NoError(t, err)
						assert.Equal(t, want, dir.Code, "QueryDeviceInfo by IotId=%v", byID)

						del := iot.CreateDeleteDeviceRequest()
						del.AcceptFormat = format
						del.IotId, del.ProductKey, del.DeviceName = dd.IotId, dd.ProductKey, dd.DeviceName
						delr, err := c.DeleteDevice(del)
						require.NoError(t, err)
						assert.Equal(t, want, delr.Code, "DeleteDevice by IotId=%v", byID)
					}

					bq := iot.CreateBatchQueryDeviceDetailRequest()
					bq.AcceptFormat = format
					bq.ProductKey = side.otherPK
					bq.DeviceName = &[]string{side.otherDevice}
					bqr, err := c.BatchQueryDeviceDetail(bq)
					require.NoError(t, err)
					assert.Equal(t, "iot.common.AuthActionPermissionDeny", bqr.Code, "BatchQueryDeviceDetail fails as a whole")
					assert.Empty(t, bqr.Data.DataItem)

					rd := iot.CreateRegisterDeviceRequest()
					rd.AcceptFormat = format
					rd.ProductKey = side.otherPK
					rd.DeviceName = "intruder01"
					rdr, err := c.RegisterDevice(rd)
					require.NoError(t, err)
					assert.Equal(t, "iot.prod.NotExistedProduct", rdr.Code, "RegisterDevice")

					check := iot.CreateBatchCheckDeviceNamesRequest()
					check.AcceptFormat = format
					check.ProductKey = side.otherPK
					check.DeviceName = &[]string{"intruder02"}
					cr, err := c.BatchCheckDeviceNames(check)
					require.NoError(t, err)
					assert.Equal(t, "iot.common.InvalidTenant", cr.Code, "BatchCheckDeviceNames (docs/fidelity.md, errors §3 lists InvalidTenant)")

					br := iot.CreateBatchRegisterDeviceRequest()
					br.AcceptFormat = format
					br.ProductKey = side.otherPK
					br.Count = requests.NewInteger(1)
					brr, err := c.BatchRegisterDevice(br)
					require.NoError(t, err)
					assert.Equal(t, "iot.prod.NotExistedProduct", brr.Code, "BatchRegisterDevice")

					wa := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
					wa.AcceptFormat = format
					wa.ProductKey = side.myPK
					wa.ApplyId = requestsInteger(side.otherApply)
					war, err := c.BatchRegisterDeviceWithApplyId(wa)
					require.NoError(t, err)
					assert.Equal(t, "iot.device.DeviceApplyIsNotFound", war.Code, "BatchRegisterDeviceWithApplyId")

					st := iot.CreateQueryBatchRegisterDeviceStatusRequest()
					st.AcceptFormat = format
					st.ProductKey = side.myPK
					st.ApplyId = requestsInteger(side.otherApply)
					str, err := c.QueryBatchRegisterDeviceStatus(st)
					require.NoError(t, err)
					assert.Equal(t, "iot.common.InvalidTenant", str.Code, "QueryBatchRegisterDeviceStatus (docs/fidelity.md, errors §3 lists InvalidTenant)")

					pg := iot.CreateQueryPageByApplyIdRequest()
					pg.AcceptFormat = format
					pg.ApplyId = requestsInteger(side.otherApply)
					pgr, err := c.QueryPageByApplyId(pg)
					require.NoError(t, err)
					assert.Equal(t, "iot.common.InvalidTenant", pgr.Code, "QueryPageByApplyId (docs/fidelity.md, errors §3 lists InvalidTenant)")
					assert.Empty(t, pgr.ApplyDeviceList.ApplyDeviceInfo)

					dp := deleteProduct(t, c, format, side.otherPK, "")
					assert.Equal(t, "iot.common.InvalidTenant", dp.Code, "DeleteProduct")
				})
			}

			// Nothing of either account changed.
			for _, owner := range []struct {
				c       *iot.Client
				pk      string
				devices int
			}{{a, pkA, 3}, {b, pkB, 2}} {
				q := queryProduct(t, owner.c, format, owner.pk, "")
				require.True(t, q.Success, "%s: %s", q.Code, q.ErrorMessage)
				assert.Equal(t, owner.devices, q.Data.DeviceCount, "fixture devices plus the batch device of %s", owner.pk)
			}
		})
	}
}

func TestInstanceIsolation(t *testing.T) {
	for _, format := range formats {
		t.Run("a product of an Enterprise instance is only reachable with its IotInstanceId in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
			a := srv.NewIotClientFor(akA, secretA)

			assert.Equal(t, "iot.prod.NotExistedProduct", queryProduct(t, a, format, pkAInst, "").Code)
			q := queryProduct(t, a, format, pkAInst, instanceA)
			require.True(t, q.Success, "%s: %s", q.Code, q.ErrorMessage)
			assert.Equal(t, 1, q.Data.NodeType)

			pub := queryProductList(t, a, format, 1, 10, "", "")
			require.True(t, pub.Success)
			require.Len(t, pub.Data.List.ProductInfo, 1)
			assert.Equal(t, pkA, pub.Data.List.ProductInfo[0].ProductKey)
			inst := queryProductList(t, a, format, 1, 10, "", instanceA)
			require.True(t, inst.Success)
			require.Len(t, inst.Data.List.ProductInfo, 1)
			assert.Equal(t, pkAInst, inst.Data.List.ProductInfo[0].ProductKey)

			dd := iot.CreateQueryDeviceDetailRequest()
			dd.AcceptFormat = format
			dd.IotId = iotIDAInst
			ddr, err := a.QueryDeviceDetail(dd)
			require.NoError(t, err)
			assert.Equal(t, "iot.device.DeviceInstanceInconsistency", ddr.Code, "the device is in another instance than the one addressed")
			dd.IotInstanceId = instanceA
			ddr, err = a.QueryDeviceDetail(dd)
			require.NoError(t, err)
			require.True(t, ddr.Success, "%s: %s", ddr.Code, ddr.ErrorMessage)
			assert.Equal(t, "gate-0001", ddr.Data.DeviceName)
			assert.Equal(t, "product_a_inst", ddr.Data.ProductName)
		})
		t.Run("an IotInstanceId another account declared is iot.system.InstanceNotFound in "+format, func(t *testing.T) {
			srv := emutest.New(t, emutest.WithFixture(twoAccounts()))
			b := srv.NewIotClientFor(akB, secretB)
			q := queryProduct(t, b, format, pkAInst, instanceA)
			assert.Equal(t, "iot.system.InstanceNotFound", q.Code)
			l := queryProductList(t, b, format, 1, 10, "", instanceA)
			assert.Equal(t, "iot.system.InstanceNotFound", l.Code)
		})
	}
}
