package emulator

import (
	"fmt"
	"net/http"
)

// Error is a wire error: a code, the HTTP status it is sent with and its
// message. Gateway errors travel in the POP envelope (Code/Message/HostId/
// Recommend, root <Error> in XML); business errors in the action's own
// envelope with Success=false and ErrorMessage.
type Error struct {
	Code    string
	Status  int
	Message string
	Gateway bool
	// Data, when set, is the business error's Data (BatchCheckDeviceNames
	// reports the offending names there).
	Data Object
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// WithMessage returns a copy with another message.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// WithData returns a copy carrying Data.
func (e *Error) WithData(d Object) *Error {
	c := *e
	c.Data = d
	return &c
}

func gw(code string, status int, msg string) *Error {
	return register(&Error{Code: code, Status: status, Message: msg, Gateway: true})
}

// biz errors are sent with HTTP 200 by default (protocol.md §9); the
// server's BusinessErrorStatus option overrides it at render time.
func biz(code, msg string) *Error {
	return register(&Error{Code: code, Status: http.StatusOK, Message: msg})
}

// Gateway (POP) errors, errors.md §1.
var (
	ErrMissingParam          = gw("MissingParameter", 400, "The input parameter that is mandatory for processing this request is not supplied.")
	ErrInvalidParam          = gw("InvalidParameter", 400, "Specified parameter is not valid.")
	ErrInvalidFormat         = gw("InvalidParameter.Format", 400, "Specified parameter format is not valid.")
	ErrActionNotFound        = gw("InvalidAction.NotFound", 404, "Specified api is not found, please check your url and method.")
	ErrInvalidVersion        = gw("InvalidVersion", 400, "Specified parameter Version is not valid.")
	ErrAccessKeyNotFound     = gw("InvalidAccessKeyId.NotFound", 404, "Specified access key is not found.")
	ErrAccessKeyInactive     = gw("InvalidAccessKeyId.Inactive", 400, "Specified access key is disabled.")
	ErrTimestampFormat       = gw("InvalidTimeStamp.Format", 400, "Specified time stamp or date value is not well formatted.")
	ErrTimestampExpired      = gw("InvalidTimeStamp.Expired", 400, "Specified time stamp or date value is expired.")
	ErrNonceUsed             = gw("SignatureNonceUsed", 400, "Specified signature nonce was used already.")
	ErrSignatureMethod       = gw("InvalidSignatureMethod", 400, "Specified signature method is not valid.")
	ErrUnsupportedMethod     = gw("UnsupportedHTTPMethod", 400, "Specified HTTP method is not supported.")
	ErrIncompleteSignature   = gw("IncompleteSignature", 400, "The request signature does not conform to Aliyun standards.")
	ErrSignatureMismatch     = gw("SignatureDoesNotMatch", 400, "Specified signature is not matched with our calculation.")
	ErrThrottlingUser        = gw("Throttling.User", 400, "Request was denied due to user flow control.")
	ErrThrottlingAPI         = gw("Throttling.Api", 400, "Request was denied due to api flow control.")
	ErrThrottling            = gw("Throttling", 400, "Request was denied due to request throttling.")
	ErrSecurityTokenInvalid  = gw("InvalidSecurityToken.Malformed", 400, "Specified SecurityToken is malformed.")
	ErrSecurityTokenMissing  = gw("MissingSecurityToken", 400, "SecurityToken is mandatory for this action.")
	ErrForbidden             = gw("Forbidden.RAM", 403, "User is not authorized to operate on the specified resource.")
	ErrInternal              = gw("InternalError", 500, "The request processing has failed due to some unknown error, exception or failure.")
	ErrServiceUnavailable    = gw("ServiceUnavailable", 503, "The request has failed due to a temporary failure of the server.")
	ErrRequestTooLarge       = gw("InvalidParameter.TooLarge", 400, "The request is larger than this endpoint accepts.")
	ErrContentSHA256Mismatch = gw("IncompleteSignature", 400, "The request signature does not conform to Aliyun standards. The x-acs-content-sha256 header does not match the request body.")
)

// IoT business errors, errors.md §2.
var (
	ErrSystem                     = biz("iot.system.SystemException", "An internal error occurred. Try again later.")
	ErrIllegalRequest             = biz("iot.system.IllegalRequest", "The request parameter is invalid.")
	ErrInstanceNotFound           = biz("iot.system.InstanceNotFound", "The instance ID does not exist.")
	ErrInvalidTenant              = biz("iot.common.InvalidTenant", "The tenant is invalid.")
	ErrInvalidPageParams          = biz("iot.common.InvalidPageParams", "The specified pagination size or pagination parameter is invalid.")
	ErrQueryDeviceAction          = biz("iot.common.QueryDeviceActionError", "An error occurred while querying the device.")
	ErrAuthPermissionDeny         = biz("iot.common.AuthActionPermissionDeny", "The authorization fails.")
	ErrTooManyRequest             = biz("iot.common.TooManyRequest", "Request frequency is too high")
	ErrInvalidFormattedParameter  = biz("iot.check.InvalidFormattedParameter", "The parameter format is invalid.")
	ErrNullParameter              = biz("iot.check.NullParameter", "Specify parameter is null.")
	ErrNotExistedProduct          = biz("iot.prod.NotExistedProduct", "The specified product does not exist.")
	ErrNullProductKey             = biz("iot.prod.NullProductKey", "The ProductKey is empty.")
	ErrInvalidFormattedProductKey = biz("iot.prod.InvalidFormattedProductkey", "The ProductKey format is invalid.")
	ErrAlreadyExistedProductName  = biz("iot.prod.AlreadyExistedProductName", "The product name already exists.")
	ErrInvalidFormattedProdName   = biz("iot.prod.InvalidFormattedProductName", "The product name format is invalid.")
	ErrNullProductName            = biz("iot.prod.NullProductName", "The product name cannot be empty.")
	ErrLongProductDesc            = biz("iot.prod.LongProductDesc", "The product description exceeds the maximum length.")
	ErrInvalidNodeType            = biz("iot.prod.InvalidNodeType", "The node type is invalid.")
	ErrInvalidCommodityCode       = biz("iot.prod.InvalidAliyunCommodityCode", "The AliyunCommodityCode is invalid.")
	ErrProductCountExceedMax      = biz("iot.prod.ProductCountExceedMax", "The number of products exceeds the upper limit.")
	// No documented code exists for deleting a product that still has
	// devices (searched doc 87387 and the API pages); the real service's
	// code is unknown, so the closest documented one is used [INFERRED].
	ErrProductHasDevices          = biz("iot.system.IllegalRequest", "The product still has devices. Delete its devices before deleting the product.")
	ErrInvalidFormattedDeviceName = biz("iot.device.InvalidFormattedDeviceName", "The DeviceName format is invalid.")
	ErrInvalidNameInNameArray     = biz("iot.device.InvalidFormattedDeviceNameInNameArray", "The DeviceName list contains an invalid DeviceName.")
	ErrNoneDeviceNameElement      = biz("iot.device.NoneDeviceNameElement", "The DeviceName list is empty.")
	ErrNullDeviceName             = biz("iot.device.NullDeviceName", "The DeviceName parameter cannot be empty.")
	ErrAlreadyExistedDeviceName   = biz("iot.device.AlreadyExistedDeviceName", "The DeviceName already exists.")
	ErrNotExistedDevice           = biz("iot.device.NotExistedDevice", "The device does not exist.")
	ErrInvalidIoTID               = biz("iot.device.InvalidIoTId", "The specified device ID is invalid.")
	ErrDeviceApplyNotFound        = biz("iot.device.DeviceApplyIsNotFound", "The application ID for the device does not exist.")
	ErrInvalidFormattedApplyID    = biz("iot.device.InvalidFormattedApplyId", "The ApplyId is incorrect.")
	ErrNullApplyID                = biz("iot.device.NullApplyId", "ApplyId cannot be empty.")
	ErrIncorrectApplyInfo         = biz("iot.device.IncorrentDeviceApplyInfo", "The device application information is not correct.")
	ErrCreateTaskRunning          = biz("iot.device.CreateDeviceTaskIsRunning", "The device creation task is still in progress.")
	ErrApplyManyDevicesFailed     = biz("iot.device.ApplyManyDevicesFailed", "An error occurred while creating multiple devices.")
	ErrCreateDeviceFailed         = biz("iot.device.CreateDeviceFailed", "An error occurred while creating the device.")
	ErrDeviceCountExceeded        = biz("iot.device.DeviceCountExceeded", "Number of devices requested exceeds the maximum limit.")
	ErrTooManyDeviceNames         = biz("iot.device.TooManyDeviceNamesPerRequest", "The devices you query exceed the maximum number.")
	ErrDeviceNumberExceedTenant   = biz("iot.device.DeviceNumerExceedTenant", "The device total number beyond limit.")
	ErrDeviceInstanceInconsistent = biz("iot.device.DeviceInstanceInconsistency", "The instance of devices is inconsistency.")
	ErrQueryProductAction         = biz("iot.common.QueryProductActionError", "query product info fail")
	ErrQueryProductListAction     = biz("iot.prod.QueryProductListActionError", "Failed to query the product list.")
	ErrCreateProductFailed        = biz("iot.prod.CreateProductFailed", "Failed to create the product.")
	ErrDeleteDeviceFailed         = biz("iot.device.DeleteDeviceFailed", "Failed to delete the device.")
)

// knownErrors indexes every error declared with gw or biz by code, so
// fault rules can name a code and get its documented envelope, status and
// message. The first declaration of a code wins.
var knownErrors = map[string]*Error{}

func register(e *Error) *Error {
	if _, dup := knownErrors[e.Code]; !dup {
		knownErrors[e.Code] = e
	}
	return e
}

// missing is the gateway's Missing{Param} error.
func missing(param string) *Error {
	e := *ErrMissingParam
	e.Code = "Missing" + param
	e.Message = param + " is mandatory for this action."
	return &e
}

// missingHeader is Missing{Param} for a V3 request, whose common
// parameters travel as headers: the code names the parameter, as for V1
// callers, and the message names the header that was not sent.
func missingHeader(param, header string) *Error {
	e := missing(param)
	e.Message = header + " is mandatory for this action."
	return e
}

// invalid is the gateway's Invalid{Param} error for a value of the wrong type.
func invalid(param string) *Error {
	e := *ErrInvalidParam
	e.Code = "Invalid" + param
	e.Message = "Specified parameter " + param + " is not valid."
	return &e
}
