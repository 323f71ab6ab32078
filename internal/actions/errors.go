package actions

import "github.com/iot-emulator/iot-emulator/internal/pop"

// IoT business errors, docs/fidelity.md, errors §2.
var (
	ErrSystem                     = pop.BusinessError("iot.system.SystemException", "An internal error occurred. Try again later.")
	ErrIllegalRequest             = pop.BusinessError("iot.system.IllegalRequest", "The request parameter is invalid.")
	ErrInstanceNotFound           = pop.BusinessError("iot.system.InstanceNotFound", "The instance ID does not exist.")
	ErrInvalidTenant              = pop.BusinessError("iot.common.InvalidTenant", "The tenant is invalid.")
	ErrInvalidPageParams          = pop.BusinessError("iot.common.InvalidPageParams", "The specified pagination size or pagination parameter is invalid.")
	ErrQueryDeviceAction          = pop.BusinessError("iot.common.QueryDeviceActionError", "An error occurred while querying the device.")
	ErrAuthPermissionDeny         = pop.BusinessError("iot.common.AuthActionPermissionDeny", "The authorization fails.")
	ErrTooManyRequest             = pop.BusinessError("iot.common.TooManyRequest", "Request frequency is too high")
	ErrInvalidFormattedParameter  = pop.BusinessError("iot.check.InvalidFormattedParameter", "The parameter format is invalid.")
	ErrNullParameter              = pop.BusinessError("iot.check.NullParameter", "Specify parameter is null.")
	ErrNotExistedProduct          = pop.BusinessError("iot.prod.NotExistedProduct", "The specified product does not exist.")
	ErrNullProductKey             = pop.BusinessError("iot.prod.NullProductKey", "The ProductKey is empty.")
	ErrInvalidFormattedProductKey = pop.BusinessError("iot.prod.InvalidFormattedProductkey", "The ProductKey format is invalid.")
	ErrAlreadyExistedProductName  = pop.BusinessError("iot.prod.AlreadyExistedProductName", "The product name already exists.")
	ErrInvalidFormattedProdName   = pop.BusinessError("iot.prod.InvalidFormattedProductName", "The product name format is invalid.")
	ErrNullProductName            = pop.BusinessError("iot.prod.NullProductName", "The product name cannot be empty.")
	ErrLongProductDesc            = pop.BusinessError("iot.prod.LongProductDesc", "The product description exceeds the maximum length.")
	ErrInvalidNodeType            = pop.BusinessError("iot.prod.InvalidNodeType", "The node type is invalid.")
	ErrInvalidCommodityCode       = pop.BusinessError("iot.prod.InvalidAliyunCommodityCode", "The AliyunCommodityCode is invalid.")
	ErrProductCountExceedMax      = pop.BusinessError("iot.prod.ProductCountExceedMax", "The number of products exceeds the upper limit.")
	// No documented code exists for deleting a product that still has
	// devices (searched doc 87387 and the API pages); the real service's
	// code is unknown, so the closest documented one is used [INFERRED].
	ErrProductHasDevices          = pop.BusinessError("iot.system.IllegalRequest", "The product still has devices. Delete its devices before deleting the product.")
	ErrInvalidFormattedDeviceName = pop.BusinessError("iot.device.InvalidFormattedDeviceName", "The DeviceName format is invalid.")
	ErrInvalidNameInNameArray     = pop.BusinessError("iot.device.InvalidFormattedDeviceNameInNameArray", "The DeviceName list contains an invalid DeviceName.")
	ErrNoneDeviceNameElement      = pop.BusinessError("iot.device.NoneDeviceNameElement", "The DeviceName list is empty.")
	ErrNullDeviceName             = pop.BusinessError("iot.device.NullDeviceName", "The DeviceName parameter cannot be empty.")
	ErrAlreadyExistedDeviceName   = pop.BusinessError("iot.device.AlreadyExistedDeviceName", "The DeviceName already exists.")
	ErrNotExistedDevice           = pop.BusinessError("iot.device.NotExistedDevice", "The device does not exist.")
	ErrInvalidIoTID               = pop.BusinessError("iot.device.InvalidIoTId", "The specified device ID is invalid.")
	ErrDeviceApplyNotFound        = pop.BusinessError("iot.device.DeviceApplyIsNotFound", "The application ID for the device does not exist.")
	ErrInvalidFormattedApplyID    = pop.BusinessError("iot.device.InvalidFormattedApplyId", "The ApplyId is incorrect.")
	ErrNullApplyID                = pop.BusinessError("iot.device.NullApplyId", "ApplyId cannot be empty.")
	ErrIncorrectApplyInfo         = pop.BusinessError("iot.device.IncorrentDeviceApplyInfo", "The device application information is not correct.")
	ErrCreateTaskRunning          = pop.BusinessError("iot.device.CreateDeviceTaskIsRunning", "The device creation task is still in progress.")
	ErrApplyManyDevicesFailed     = pop.BusinessError("iot.device.ApplyManyDevicesFailed", "An error occurred while creating multiple devices.")
	ErrCreateDeviceFailed         = pop.BusinessError("iot.device.CreateDeviceFailed", "An error occurred while creating the device.")
	ErrDeviceCountExceeded        = pop.BusinessError("iot.device.DeviceCountExceeded", "Number of devices requested exceeds the maximum limit.")
	ErrTooManyDeviceNames         = pop.BusinessError("iot.device.TooManyDeviceNamesPerRequest", "The devices you query exceed the maximum number.")
	ErrDeviceNumberExceedTenant   = pop.BusinessError("iot.device.DeviceNumerExceedTenant", "The device total number beyond limit.")
	ErrDeviceInstanceInconsistent = pop.BusinessError("iot.device.DeviceInstanceInconsistency", "The instance of devices is inconsistency.")
	ErrQueryProductAction         = pop.BusinessError("iot.common.QueryProductActionError", "query product info fail")
	ErrQueryProductListAction     = pop.BusinessError("iot.prod.QueryProductListActionError", "Failed to query the product list.")
	ErrCreateProductFailed        = pop.BusinessError("iot.prod.CreateProductFailed", "Failed to create the product.")
	ErrDeleteDeviceFailed         = pop.BusinessError("iot.device.DeleteDeviceFailed", "Failed to delete the device.")
	// The failure codes of the status actions are documented (doc 87387);
	// their messages are not [INFERRED].
	ErrEnableDeviceFailed          = pop.BusinessError("iot.device.EnableDeviceFailed", "Failed to enable the device.")
	ErrDisableDeviceFailed         = pop.BusinessError("iot.device.DisableDeviceFailed", "Failed to disable the device.")
	ErrQueryDeviceStatisticsFailed = pop.BusinessError("iot.device.QueryDeviceStatisticsFailed", "Failed to query device statistics.")
)
