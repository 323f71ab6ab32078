package emulator_test

import (
	"fmt"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
)

func TestCustomNameFlow(t *testing.T) {
	for _, format := range []string{"JSON", "XML"} {
		t.Run("the SDK checks, registers and pages through five named devices in "+format, func(t *testing.T) {
			// Manual progression makes CHECK and CREATE observable without
			// racing a timer; the delay policy is covered by the cmd tests.
			srv := emutest.New(t, emutest.WithProgression("manual"))
			client := srv.NewIotClient()
			pk := srv.ProductKey()
			names := []string{"light01", "light02", "light03", "light04", "light05"}

			check := iot.CreateBatchCheckDeviceNamesRequest()
			check.AcceptFormat = format
			check.ProductKey = pk
			check.DeviceName = &names
			resp, err := client.BatchCheckDeviceNames(check)
			require.NoError(t, err)
			require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
			applyID := resp.Data.ApplyId
			require.Positive(t, applyID)

			assert.Equal(t, "CHECK", statusOf(t, client, format, pk, applyID).Data.Status)
			srv.Advance(applyID)
			st, seen := waitStatus(t, client, format, pk, applyID)
			assert.Equal(t, []string{"CHECK_SUCCESS"}, seen)
			assert.Empty(t, st.Data.InvalidList.Name)

			reg := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
			reg.AcceptFormat = format
			reg.ProductKey = pk
			reg.ApplyId = requestsInteger(applyID)
			rr, err := client.BatchRegisterDeviceWithApplyId(reg)
			require.NoError(t, err)
			require.True(t, rr.Success, "%s: %s", rr.Code, rr.ErrorMessage)
			assert.Equal(t, applyID, rr.Data.ApplyId)

			assert.Equal(t, "CREATE", statusOf(t, client, format, pk, applyID).Data.Status)
			srv.Advance(applyID)
			_, seen = waitStatus(t, client, format, pk, applyID)
			assert.Equal(t, []string{"CREATE_SUCCESS"}, seen)

			var got []string
			for page := 1; ; page++ {
				q := iot.CreateQueryPageByApplyIdRequest()
				q.AcceptFormat = format
				q.ApplyId = requestsInteger(applyID)
				q.PageSize = requestsInteger(2)
				q.CurrentPage = requestsInteger(int64(page))
				pr, err := client.QueryPageByApplyId(q)
				require.NoError(t, err)
				require.True(t, pr.Success, "%s: %s", pr.Code, pr.ErrorMessage)
				assert.Equal(t, 5, pr.Total)
				assert.Equal(t, 3, pr.PageCount)
				assert.Equal(t, page, pr.Page)
				assert.Equal(t, 2, pr.PageSize)
				if len(pr.ApplyDeviceList.ApplyDeviceInfo) == 0 {
					break
				}
				for _, d := range pr.ApplyDeviceList.ApplyDeviceInfo {
					got = append(got, d.DeviceName)
					assert.Len(t, d.DeviceSecret, 32)
					assert.Len(t, d.DeviceId, 20)
					assert.Equal(t, d.DeviceId+"000100", d.IotId)
				}
			}
			assert.Equal(t, names, got)
		})
	}
}

func TestBatchRegisterDevice(t *testing.T) {
	t.Run("five random devices are created and paged", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		req := iot.CreateBatchRegisterDeviceRequest()
		req.ProductKey = srv.ProductKey()
		req.Count = requestsInteger(5)
		resp, err := client.BatchRegisterDevice(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		st, _ := waitStatus(t, client, "JSON", srv.ProductKey(), resp.Data.ApplyId)
		assert.Equal(t, "CREATE_SUCCESS", st.Data.Status)

		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requestsInteger(resp.Data.ApplyId)
		q.PageSize = requestsInteger(50)
		pr, err := client.QueryPageByApplyId(q)
		require.NoError(t, err)
		require.Equal(t, 5, pr.Total)
		require.Len(t, pr.ApplyDeviceList.ApplyDeviceInfo, 5)
		for _, d := range pr.ApplyDeviceList.ApplyDeviceInfo {
			assert.Regexp(t, `^[A-Za-z0-9]{20}$`, d.DeviceName)
		}
	})
	for _, tc := range []struct{ count, code string }{
		{"0", "iot.check.InvalidFormattedParameter"},
		{"-3", "iot.check.InvalidFormattedParameter"},
		{"abc", "iot.check.InvalidFormattedParameter"},
		{"10001", "iot.device.DeviceCountExceeded"},
	} {
		t.Run(fmt.Sprintf("Count %s is refused with %s", tc.count, tc.code), func(t *testing.T) {
			srv := emutest.New(t)
			req := iot.CreateBatchRegisterDeviceRequest()
			req.ProductKey = srv.ProductKey()
			req.Count = requestsIntegerString(tc.count)
			resp, err := srv.NewIotClient().BatchRegisterDevice(req)
			require.NoError(t, err)
			assert.False(t, resp.Success)
			assert.Equal(t, tc.code, resp.Code)
		})
	}
}

func TestCheckFailsForExistingName(t *testing.T) {
	t.Run("a name created by an earlier batch fails the next check with a reason", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClient()
		pk := srv.ProductKey()
		register(t, client, pk, []string{"taken01"})

		check := iot.CreateBatchCheckDeviceNamesRequest()
		check.ProductKey = pk
		check.DeviceName = &[]string{"free0001", "taken01"}
		resp, err := client.BatchCheckDeviceNames(check)
		require.NoError(t, err)
		require.True(t, resp.Success)
		st, _ := waitStatus(t, client, "JSON", pk, resp.Data.ApplyId)
		assert.Equal(t, "CHECK_FAILED", st.Data.Status)
		assert.Equal(t, []string{"free0001"}, st.Data.ValidList.Name)
		assert.Equal(t, []string{"taken01"}, st.Data.InvalidList.Name)
		require.Len(t, st.Data.InvalidDetailList.InvalidDetailList, 1)
		assert.Equal(t, "taken01", st.Data.InvalidDetailList.InvalidDetailList[0].DeviceName)
		assert.NotEmpty(t, st.Data.InvalidDetailList.InvalidDetailList[0].ErrorMsg)

		reg := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
		reg.ProductKey = pk
		reg.ApplyId = requestsInteger(resp.Data.ApplyId)
		rr, err := client.BatchRegisterDeviceWithApplyId(reg)
		require.NoError(t, err)
		assert.False(t, rr.Success)
		assert.Equal(t, "iot.device.IncorrentDeviceApplyInfo", rr.Code)
	})
}

func TestCheckRejectsBadNames(t *testing.T) {
	for _, format := range []string{"JSON", "XML"} {
		t.Run("invalid, repeated and badly nicknamed names are listed in "+format, func(t *testing.T) {
			srv := emutest.New(t)
			check := iot.CreateBatchCheckDeviceNamesRequest()
			check.AcceptFormat = format
			check.ProductKey = srv.ProductKey()
			check.DeviceNameList = &[]iot.BatchCheckDeviceNamesDeviceNameList{
				{DeviceName: "ab"}, {DeviceName: "bad#name"}, {DeviceName: "good01"}, {DeviceName: "good01"},
				{DeviceName: "nick01", DeviceNickname: "x"},
			}
			resp, err := srv.NewIotClient().BatchCheckDeviceNames(check)
			require.NoError(t, err)
			assert.False(t, resp.Success)
			assert.Equal(t, "iot.device.InvalidFormattedDeviceNameInNameArray", resp.Code)
			assert.Equal(t, []string{"ab", "bad#name"}, resp.Data.InvalidDeviceNameList.InvalidDeviceName)
			assert.Equal(t, []string{"good01"}, resp.Data.RepeatedDeviceNameList.RepeatDevieNameList)
			assert.Equal(t, []string{"x"}, resp.Data.InvalidDeviceNicknameList.InvalidDeviceNickname)
			assert.Zero(t, resp.Data.ApplyId)
		})
	}
	t.Run("an empty list is iot.device.NoneDeviceNameElement", func(t *testing.T) {
		srv := emutest.New(t)
		check := iot.CreateBatchCheckDeviceNamesRequest()
		check.ProductKey = srv.ProductKey()
		resp, err := srv.NewIotClient().BatchCheckDeviceNames(check)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.NoneDeviceNameElement", resp.Code)
	})
}

func TestUnknownThings(t *testing.T) {
	srv := emutest.New(t)
	client := srv.NewIotClient()
	t.Run("an unknown product is iot.prod.NotExistedProduct", func(t *testing.T) {
		check := iot.CreateBatchCheckDeviceNamesRequest()
		check.ProductKey = "a1NoSuchProd"
		check.DeviceName = &[]string{"light01"}
		resp, err := client.BatchCheckDeviceNames(check)
		require.NoError(t, err)
		assert.False(t, resp.Success)
		assert.Equal(t, "iot.prod.NotExistedProduct", resp.Code)
	})
	t.Run("an unknown ApplyId is iot.device.DeviceApplyIsNotFound in every batch API", func(t *testing.T) {
		q := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		q.ProductKey = srv.ProductKey()
		q.ApplyId = requestsInteger(987654321)
		qr, err := client.QueryBatchRegisterDeviceStatus(q)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", qr.Code)

		p := iot.CreateQueryPageByApplyIdRequest()
		p.ApplyId = requestsInteger(987654321)
		pr, err := client.QueryPageByApplyId(p)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", pr.Code)

		r := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
		r.ProductKey = srv.ProductKey()
		r.ApplyId = requestsInteger(987654321)
		rr, err := client.BatchRegisterDeviceWithApplyId(r)
		require.NoError(t, err)
		assert.Equal(t, "iot.device.DeviceApplyIsNotFound", rr.Code)
	})
	t.Run("a PageSize over 50 is iot.common.InvalidPageParams", func(t *testing.T) {
		p := iot.CreateQueryPageByApplyIdRequest()
		p.ApplyId = requestsInteger(1)
		p.PageSize = requestsInteger(51)
		pr, err := client.QueryPageByApplyId(p)
		require.NoError(t, err)
		assert.Equal(t, "iot.common.InvalidPageParams", pr.Code)
	})
}

func TestWrongSecret(t *testing.T) {
	t.Run("the SDK reports SignatureDoesNotMatch and recognises the string to sign", func(t *testing.T) {
		srv := emutest.New(t)
		ak, _ := srv.Credentials()
		client := srv.NewIotClientFor(ak, "wrongSecret")
		q := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		q.ProductKey = srv.ProductKey()
		q.ApplyId = requestsInteger(1)
		_, err := client.QueryBatchRegisterDeviceStatus(q)
		var se *errors.ServerError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 400, se.HttpStatus())
		assert.Equal(t, "SignatureDoesNotMatch", se.ErrorCode())
		assert.Contains(t, se.Message(), "server string to sign is:POST&%2F&")
		assert.Contains(t, se.Recommend(), "InvalidAccessKeySecret")
	})
	t.Run("an unknown AccessKeyId is InvalidAccessKeyId.NotFound with HTTP 404", func(t *testing.T) {
		srv := emutest.New(t)
		client := srv.NewIotClientFor("nobody", "x")
		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requestsInteger(1)
		_, err := client.QueryPageByApplyId(q)
		var se *errors.ServerError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 404, se.HttpStatus())
		assert.Equal(t, "InvalidAccessKeyId.NotFound", se.ErrorCode())
	})
}
