// Package actions is the IoT product's RPC API (Iot, 2018-01-20): the one
// action table that the gateway routes and throttles by, that --help, the
// README and the conformance tests read, and the handlers, one file per
// resource (batches.go, products.go, devices.go, status.go, things.go,
// history.go, thingmodel.go, shadow.go). A handler is made by a
// function that names its dependencies, validates the call, applies the
// domain rules of package iot through the store and returns one response
// value.
package actions

import (
	"sort"

	"github.com/iot-emulator/iot-emulator/internal/batch"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/internal/store"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// Product and Version name the API the table serves.
const (
	Product = "Iot"
	Version = "2018-01-20"
)

// Deps is what the handlers work with. Table reads no field of it until a
// handler runs, so Table(Deps{}) is enough to list the actions.
type Deps struct {
	Store  *store.Store
	Worker *batch.Worker
	// Region is reported in device details and picks the device quota.
	Region string
	// DeviceQuota overrides the region's documented device quota per
	// product when positive.
	DeviceQuota int
	// SuccessLists fills ValidList with every name in *_SUCCESS states
	// (the metadata demo) instead of leaving it empty (the documentation).
	SuccessLists bool
	// DeleteProductCascade lets DeleteProduct delete a product that still
	// has devices, with them, instead of refusing it.
	DeleteProductCascade bool
	// Connections is the device side (the MQTT broker); nil when it is off.
	Connections Connections
	// Things is the cloud-device loop: thing models, properties, services,
	// messages and shadows.
	Things *things.Service
	// WholeServiceReply makes a sync InvokeThingService answer the whole
	// Alink reply as Data.Result instead of its data [INFERRED default].
	WholeServiceReply bool
}

// Connections is the device side as the actions see it.
type Connections interface {
	// Kick ends a device's live connection, if it has one, and reports
	// whether it had.
	Kick(accessKeyID, iotID, cause string) bool
}

// noConnections is the device side when the broker is off.
type noConnections struct{}

func (noConnections) Kick(string, string, string) bool { return false }

// Table lists every action, grouped by resource. QPS limits from
// docs/fidelity.md, protocol §11; Internal is the documented error of an
// unexpected failure.
func Table(d Deps) []*pop.Action {
	st, w, conns, svc := d.Store, d.Worker, d.Connections, d.Things
	if conns == nil {
		conns = noConnections{}
	}
	quota := iot.DeviceQuota(d.Region, d.DeviceQuota)
	return []*pop.Action{
		// Batch registration (batches.go).
		{Name: "BatchCheckDeviceNames", Required: []string{"ProductKey"}, QPS: 10, Internal: ErrSystem, Handle: batchCheckDeviceNames(st, w)},
		{Name: "QueryBatchRegisterDeviceStatus", Required: []string{"ProductKey", "ApplyId"}, QPS: 30, Internal: ErrSystem, Handle: queryBatchRegisterDeviceStatus(st, w, d.SuccessLists)},
		{Name: "BatchRegisterDeviceWithApplyId", Required: []string{"ProductKey", "ApplyId"}, QPS: 500, Internal: ErrSystem, Handle: batchRegisterDeviceWithApplyID(st, w, quota)},
		{Name: "BatchRegisterDevice", Required: []string{"ProductKey", "Count"}, QPS: 10, Internal: ErrSystem, Handle: batchRegisterDevice(st, w, quota)},
		{Name: "QueryPageByApplyId", Required: []string{"ApplyId"}, QPS: 50, Internal: ErrSystem, Handle: queryPageByApplyID(st)},

		// Products (products.go).
		{Name: "CreateProduct", Required: []string{"ProductName", "NodeType"}, QPS: 50, Internal: ErrCreateProductFailed, Handle: createProduct(st)},
		{Name: "QueryProduct", Required: []string{"ProductKey"}, QPS: 50, Internal: ErrQueryProductAction, Handle: queryProduct(st)},
		{Name: "QueryProductList", Required: []string{"CurrentPage", "PageSize"}, QPS: 50, DeepQPS: 2, Internal: ErrQueryProductListAction, Handle: queryProductList(st)},
		{Name: "DeleteProduct", Required: []string{"ProductKey"}, QPS: 500, Internal: ErrSystem, Handle: deleteProduct(st, d.DeleteProductCascade)},

		// Devices (devices.go).
		{Name: "RegisterDevice", Required: []string{"ProductKey"}, QPS: 30, Internal: ErrCreateDeviceFailed, Handle: registerDevice(st, quota)},
		{Name: "QueryDeviceDetail", QPS: 50, Internal: ErrQueryDeviceAction, Handle: queryDeviceDetail(st, d.Region)},
		{Name: "QueryDeviceInfo", QPS: 500, Internal: ErrQueryDeviceAction, Handle: queryDeviceInfo(st)},
		{Name: "QueryDevice", Required: []string{"ProductKey"}, QPS: 50, DeepQPS: 2, Internal: ErrQueryDeviceAction, Handle: queryDevice(st)},
		{Name: "BatchQueryDeviceDetail", Required: []string{"ProductKey"}, QPS: 5, Internal: ErrQueryDeviceAction, Handle: batchQueryDeviceDetail(st, d.Region)},
		{Name: "DeleteDevice", QPS: 50, Internal: ErrDeleteDeviceFailed, Handle: deleteDevice(st, conns)},

		// Device status (status.go).
		{Name: "GetDeviceStatus", QPS: 500, Internal: ErrSystem, Handle: getDeviceStatus(st)},
		{Name: "BatchGetDeviceState", QPS: 50, Internal: ErrSystem, Handle: batchGetDeviceState(st)},
		{Name: "EnableThing", QPS: 500, Internal: ErrEnableDeviceFailed, Handle: enableThing(st)},
		{Name: "DisableThing", QPS: 500, Internal: ErrDisableDeviceFailed, Handle: disableThing(st, conns, svc)},
		{Name: "QueryDeviceStatistics", QPS: 50, Internal: ErrQueryDeviceStatisticsFailed, Handle: queryDeviceStatistics(st)},

		// Messaging (things.go).
		{Name: "Pub", Required: []string{"ProductKey", "TopicFullName", "MessageContent"}, QPS: 1600, Internal: ErrSystem, Handle: pub(st, svc)},
		{Name: "PubBroadcast", Required: []string{"ProductKey", "MessageContent"}, QPS: 1, Internal: ErrSystem, Handle: pubBroadcast(st, svc)},
		{Name: "RRpc", Required: []string{"ProductKey", "DeviceName", "RequestBase64Byte", "Timeout"}, QPS: 1000, Internal: ErrSystem, Handle: rRPC(st, svc)},

		// Properties and services (things.go).
		{Name: "SetDeviceProperty", Required: []string{"Items"}, QPS: 500, Internal: ErrSystem, Handle: setDeviceProperty(st, svc)},
		{Name: "SetDevicesProperty", Required: []string{"ProductKey", "Items"}, QPS: 10, Internal: ErrSystem, Handle: setDevicesProperty(st, svc)},
		{Name: "InvokeThingService", Required: []string{"Identifier", "Args"}, QPS: 500, Internal: ErrSystem, Handle: invokeThingService(st, svc, d.WholeServiceReply)},
		{Name: "InvokeThingsService", Required: []string{"ProductKey", "Identifier", "Args"}, QPS: 10, Internal: ErrSystem, Handle: invokeThingsService(st, svc)},

		// Property, event and service history (history.go).
		{Name: "QueryDevicePropertyStatus", QPS: 200, Internal: ErrSystem, Handle: queryDevicePropertyStatus(st, svc)},
		{Name: "QueryDevicePropertyData", Required: []string{"Identifier", "StartTime", "EndTime", "Asc", "PageSize"}, QPS: 50, Internal: ErrSystem, Handle: queryDevicePropertyData(st)},
		{Name: "QueryDevicePropertiesData", Required: []string{"StartTime", "EndTime", "Asc", "PageSize"}, QPS: 10, Internal: ErrSystem, Handle: queryDevicePropertiesData(st)},
		{Name: "QueryDeviceEventData", Required: []string{"StartTime", "EndTime"}, QPS: 50, Internal: ErrSystem, Handle: queryDeviceEventData(st)},
		{Name: "QueryDeviceServiceData", Required: []string{"StartTime", "EndTime"}, QPS: 50, Internal: ErrSystem, Handle: queryDeviceServiceData(st)},

		// Product and thing model (thingmodel.go).
		{Name: "UpdateProduct", Required: []string{"ProductKey", "ProductName"}, QPS: 10, Internal: ErrUpdateProductFailed, Handle: updateProduct(st)},
		{Name: "QueryThingModel", QPS: 10, Internal: ErrSystem, Handle: queryThingModel(st, false)},
		{Name: "QueryThingModelPublished", Required: []string{"ProductKey"}, QPS: 10, Internal: ErrSystem, Handle: queryThingModel(st, true)},
		{Name: "ImportThingModelTsl", Required: []string{"ProductKey"}, QPS: 5, Internal: ErrSystem, Handle: importThingModelTsl(st, svc)},
		{Name: "PublishThingModel", Required: []string{"ProductKey"}, QPS: 5, Internal: ErrSystem, Handle: publishThingModel(st, svc)},
		{Name: "GetThingModelTsl", QPS: 20, Internal: ErrSystem, Handle: getThingModelTsl(st)},

		// Shadows and desired properties (shadow.go).
		{Name: "UpdateDeviceShadow", Required: []string{"ProductKey", "DeviceName", "ShadowMessage"}, QPS: 500, Internal: ErrUpdateShadowFailed, Handle: updateDeviceShadow(st, svc)},
		{Name: "GetDeviceShadow", Required: []string{"ProductKey", "DeviceName"}, QPS: 500, Internal: ErrQueryDeviceShadow, Handle: getDeviceShadow(st, svc)},
		{Name: "SetDeviceDesiredProperty", Required: []string{"Items", "Versions"}, QPS: 50, Internal: ErrSystem, Handle: setDeviceDesiredProperty(st, svc)},
		{Name: "QueryDeviceDesiredProperty", QPS: 50, Internal: ErrSystem, Handle: queryDeviceDesiredProperty(st, svc)},
	}
}

// Names lists the served actions' names, sorted.
func Names() []string {
	var out []string
	for _, a := range Table(Deps{}) {
		out = append(out, a.Name)
	}
	sort.Strings(out)
	return out
}

// Unserved is the message for an action that Iot 2018-01-20 has but the
// emulator does not serve, "" for a name that is no Iot action at all.
func Unserved(action string) string {
	if !realActions[action] {
		return ""
	}
	return "Iot action " + action + " is real but not emulated by iot-emulator; emulated actions: GET /_emulator/actions"
}
