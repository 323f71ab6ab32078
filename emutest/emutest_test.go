package emutest_test

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
	"github.com/iot-emulator/iot-emulator/fixtures"
)

func checkNames(t *testing.T, client *iot.Client, pk string, names ...string) int64 {
	t.Helper()
	req := iot.CreateBatchCheckDeviceNamesRequest()
	req.ProductKey = pk
	req.DeviceName = &names
	resp, err := client.BatchCheckDeviceNames(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	return resp.Data.ApplyId
}

func status(t *testing.T, client *iot.Client, pk string, applyID int64) *iot.QueryBatchRegisterDeviceStatusResponse {
	t.Helper()
	req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
	req.ProductKey = pk
	req.ApplyId = requests.NewInteger64(applyID)
	resp, err := client.QueryBatchRegisterDeviceStatus(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
	return resp
}

func createFrom(t *testing.T, client *iot.Client, pk string, applyID int64) {
	t.Helper()
	req := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
	req.ProductKey = pk
	req.ApplyId = requests.NewInteger64(applyID)
	resp, err := client.BatchRegisterDeviceWithApplyId(req)
	require.NoError(t, err)
	require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
}

func TestAdvance(t *testing.T) {
	t.Run("a manual batch is seen in CHECK by the SDK until Advance, then in CHECK_SUCCESS", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "light01", "light02")
		assert.Equal(t, "CHECK", status(t, client, pk, id).Data.Status)
		assert.Equal(t, "CHECK", status(t, client, pk, id).Data.Status)
		assert.Equal(t, "CHECK_SUCCESS", srv.Advance(id))
		assert.Equal(t, "CHECK_SUCCESS", status(t, client, pk, id).Data.Status)

		createFrom(t, client, pk, id)
		assert.Equal(t, "CREATE", status(t, client, pk, id).Data.Status)
		assert.Equal(t, "CREATE_SUCCESS", srv.Advance(id))
		assert.Equal(t, "CREATE_SUCCESS", status(t, client, pk, id).Data.Status)
	})
	t.Run("SetProgression switches a running server to manual", func(t *testing.T) {
		srv := emutest.New(t)
		srv.SetProgression("manual")
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "light01")
		assert.Equal(t, "CHECK", status(t, client, pk, id).Data.Status)
		assert.Equal(t, "CHECK_SUCCESS", srv.Advance(id))
	})
}

func TestFail(t *testing.T) {
	t.Run("a forced CREATE_FAILED is seen by the SDK with its ValidList and InvalidList", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "pump01", "pump02", "pump03")
		srv.Advance(id)
		createFrom(t, client, pk, id)
		assert.Equal(t, "CREATE_FAILED", srv.Fail(id, map[string]string{"pump01": "no quota", "pump03": ""}))

		st := status(t, client, pk, id)
		assert.Equal(t, "CREATE_FAILED", st.Data.Status)
		assert.Equal(t, []string{"pump02"}, st.Data.ValidList.Name)
		assert.Equal(t, []string{"pump01", "pump03"}, st.Data.InvalidList.Name)
		details := st.Data.InvalidDetailList.InvalidDetailList
		require.Len(t, details, 2)
		assert.Equal(t, "no quota", details[0].ErrorMsg)
		assert.NotEmpty(t, details[1].ErrorMsg)

		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requests.NewInteger64(id)
		pr, err := client.QueryPageByApplyId(q)
		require.NoError(t, err)
		assert.Equal(t, 1, pr.Total)
	})
	t.Run("a nil map fails every name in CHECK", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("manual"))
		client, pk := srv.NewIotClient(), srv.ProductKey()
		id := checkNames(t, client, pk, "pump01", "pump02")
		assert.Equal(t, "CHECK_FAILED", srv.Fail(id, nil))
		assert.Equal(t, []string{"pump01", "pump02"}, status(t, client, pk, id).Data.InvalidList.Name)
	})
}

func TestInjectFault(t *testing.T) {
	t.Run("a rule with count 3 fails exactly 3 calls and the 4th succeeds", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: "iot.system.SystemException", Count: 3})
		var got []string
		for range 4 {
			req := iot.CreateBatchRegisterDeviceRequest()
			req.ProductKey = srv.ProductKey()
			req.Count = requests.NewInteger(1)
			resp, err := client.BatchRegisterDevice(req)
			require.NoError(t, err)
			got = append(got, resp.Code)
		}
		assert.Equal(t, []string{"iot.system.SystemException", "iot.system.SystemException", "iot.system.SystemException", ""}, got)
		assert.Len(t, srv.Requests(), 4)
		srv.ClearRequests()
		assert.Empty(t, srv.Requests())
	})
	t.Run("ClearFaults lifts every rule", func(t *testing.T) {
		srv := emutest.New(t)
		srv.InjectFault(emutest.FaultRule{Action: "*", Code: "iot.system.SystemException"})
		srv.ClearFaults()
		id := checkNames(t, srv.NewIotClient(), srv.ProductKey(), "ok0001")
		assert.Positive(t, id)
	})
}

func TestReset(t *testing.T) {
	f, err := fixtures.Parse([]byte(`{"accounts":[
		{"accessKeyId":"akA","accessKeySecret":"secretA","products":[{"productKey":"a1ProdA","productName":"prod_a","nodeType":0}]},
		{"accessKeyId":"akB","accessKeySecret":"secretB","products":[{"productKey":"a1ProdB","productName":"prod_b","nodeType":0}]}]}`))
	require.NoError(t, err)

	t.Run("ResetAccount wipes one account and leaves the other", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(f), emutest.WithProgression("manual"))
		a, b := srv.NewIotClientFor("akA", "secretA"), srv.NewIotClientFor("akB", "secretB")
		idA := checkNames(t, a, "a1ProdA", "aaa01")
		idB := checkNames(t, b, "a1ProdB", "bbb01")
		srv.ResetAccount("akA")

		req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		req.ProductKey = "a1ProdA"
		req.ApplyId = requests.NewInteger64(idA)
		resp, err := a.QueryBatchRegisterDeviceStatus(req)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", resp.Code)
		assert.Equal(t, "CHECK", status(t, b, "a1ProdB", idB).Data.Status)
		assert.Equal(t, "CHECK_SUCCESS", srv.Advance(idB))
	})
	t.Run("Reset wipes both", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithFixture(f), emutest.WithProgression("manual"))
		idB := checkNames(t, srv.NewIotClientFor("akB", "secretB"), "a1ProdB", "bbb01")
		srv.Reset()
		assert.Empty(t, srv.Requests())
		_, err := srv.Emulator().Advance(t.Context(), idB)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no batch")
	})
}

func TestStartedServerHelpersPanic(t *testing.T) {
	srv, err := emutest.Start()
	require.NoError(t, err)
	defer srv.Close()
	assert.PanicsWithValue(t, "emutest: Advance: no batch with applyId 42", func() { srv.Advance(42) })
	assert.Panics(t, func() { srv.InjectFault(emutest.FaultRule{}) })
	assert.Panics(t, func() { srv.SetProgression("sometimes") })
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  emutest.Option
		want string
	}{
		{"a fixture file that does not exist is an error, not a panic", emutest.WithFixtures("no-such-file.json"), "WithFixtures"},
		{"a bad progression is an error, not a panic", emutest.WithProgression("sometimes"), "WithProgression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := emutest.Start(tc.opt)
			if srv != nil {
				srv.Close()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
