package emutest_test

import (
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"

	"github.com/iot-emulator/iot-emulator/emutest"
)

// In a test, emutest.New(t, ...) does the same and stops the server when
// the test ends; Start is for TestMain and examples.
func Example() {
	srv, err := emutest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	client := srv.NewIotClient()
	req := iot.CreateBatchRegisterDeviceRequest()
	req.ProductKey = srv.ProductKey()
	req.Count = requests.NewInteger(2)
	resp, err := client.BatchRegisterDevice(req)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Success, resp.Data.ApplyId > 0)
	// Output: true true
}

// batchStatus asks the emulator through the SDK where a batch stands.
func batchStatus(client *iot.Client, productKey string, applyID int64) string {
	req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
	req.ProductKey = productKey
	req.ApplyId = requests.NewInteger64(applyID)
	resp, err := client.QueryBatchRegisterDeviceStatus(req)
	if err != nil {
		panic(err)
	}
	return resp.Data.Status
}

// With the manual progression a batch waits in CHECK (or CREATE) until the
// test advances it, so the client's "still checking" path runs for sure.
func ExampleServer_Advance() {
	srv, err := emutest.Start(emutest.WithProgression("manual"))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, pk := srv.NewIotClient(), srv.ProductKey()

	check := iot.CreateBatchCheckDeviceNamesRequest()
	check.ProductKey = pk
	check.DeviceName = &[]string{"light01", "light02"}
	resp, err := client.BatchCheckDeviceNames(check)
	if err != nil {
		panic(err)
	}
	id := resp.Data.ApplyId

	fmt.Println(batchStatus(client, pk, id))
	fmt.Println(batchStatus(client, pk, id))
	srv.Advance(id)
	fmt.Println(batchStatus(client, pk, id))
	// Output:
	// CHECK
	// CHECK
	// CHECK_SUCCESS
}

// Fail ends a batch in CREATE_FAILED with the names and reasons a test
// chooses; only the other names are created.
func ExampleServer_Fail() {
	srv, err := emutest.Start(emutest.WithProgression("manual"))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, pk := srv.NewIotClient(), srv.ProductKey()

	check := iot.CreateBatchCheckDeviceNamesRequest()
	check.ProductKey = pk
	check.DeviceName = &[]string{"pump01", "pump02", "pump03"}
	resp, err := client.BatchCheckDeviceNames(check)
	if err != nil {
		panic(err)
	}
	id := resp.Data.ApplyId
	srv.Advance(id) // CHECK_SUCCESS

	reg := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
	reg.ProductKey = pk
	reg.ApplyId = requests.NewInteger64(id)
	if _, err := client.BatchRegisterDeviceWithApplyId(reg); err != nil {
		panic(err)
	}
	fmt.Println(srv.Fail(id, map[string]string{"pump02": "quota exhausted"}))

	q := iot.CreateQueryBatchRegisterDeviceStatusRequest()
	q.ProductKey = pk
	q.ApplyId = requests.NewInteger64(id)
	st, err := client.QueryBatchRegisterDeviceStatus(q)
	if err != nil {
		panic(err)
	}
	fmt.Println("valid:", st.Data.ValidList.Name)
	fmt.Println("invalid:", st.Data.InvalidList.Name)
	for _, d := range st.Data.InvalidDetailList.InvalidDetailList {
		fmt.Println(d.DeviceName, "-", d.ErrorMsg)
	}
	// Output:
	// CREATE_FAILED
	// valid: [pump01 pump03]
	// invalid: [pump02]
	// pump02 - quota exhausted
}

// A fault rule with a count fails exactly that many matching calls, in
// the code's own envelope, without touching any state.
func ExampleServer_InjectFault() {
	srv, err := emutest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := srv.NewIotClient()

	srv.InjectFault(emutest.FaultRule{Action: "BatchRegisterDevice", Code: "iot.system.SystemException", Count: 2})
	for range 3 {
		req := iot.CreateBatchRegisterDeviceRequest()
		req.ProductKey = srv.ProductKey()
		req.Count = requests.NewInteger(1)
		resp, err := client.BatchRegisterDevice(req)
		if err != nil {
			panic(err)
		}
		fmt.Printf("success=%v code=%q\n", resp.Success, resp.Code)
	}
	// Output:
	// success=false code="iot.system.SystemException"
	// success=false code="iot.system.SystemException"
	// success=true code=""
}

// The journal shows what the emulator received, secrets redacted.
func ExampleServer_Requests() {
	srv, err := emutest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	q := iot.CreateQueryPageByApplyIdRequest()
	q.ApplyId = requests.NewInteger(1234567)
	if _, err := srv.NewIotClient().QueryPageByApplyId(q); err != nil {
		panic(err)
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.Action, r.Status, r.Code, r.Params["ApplyId"], r.Params["Signature"])
	}
	// Output:
	// QueryPageByApplyId 200 iot.device.DeviceApplyIsNotFound 1234567 ***
}
