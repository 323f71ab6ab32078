package pop

import (
	"fmt"
	"net/http"
	"sync"
)

// Error is a wire error: a code, the HTTP status it is sent with and its
// message. Gateway errors travel in the POP envelope (Code/Message/HostId/
// Recommend, root <Error> in XML); business errors in the action's own
// envelope with Success=false and ErrorMessage. Errors compare by code
// (errors.Is), so a copy with another message is still the same error.
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

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

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

// GatewayError declares a gateway (POP) error and registers it by code.
func GatewayError(code string, status int, msg string) *Error {
	return register(&Error{Code: code, Status: status, Message: msg, Gateway: true})
}

// BusinessError declares a product's business error, sent with HTTP 200
// by default (docs/fidelity.md, protocol §9; the gateway's
// BusinessErrorStatus overrides it), and registers it by code.
func BusinessError(code, msg string) *Error {
	return register(&Error{Code: code, Status: http.StatusOK, Message: msg})
}

// Gateway (POP) errors (docs/fidelity.md, errors §1).
var (
	ErrMissingParam          = GatewayError("MissingParameter", 400, "The input parameter that is mandatory for processing this request is not supplied.")
	ErrInvalidParam          = GatewayError("InvalidParameter", 400, "Specified parameter is not valid.")
	ErrInvalidFormat         = GatewayError("InvalidParameter.Format", 400, "Specified parameter format is not valid.")
	ErrActionNotFound        = GatewayError("InvalidAction.NotFound", 404, "Specified api is not found, please check your url and method.")
	ErrInvalidVersion        = GatewayError("InvalidVersion", 400, "Specified parameter Version is not valid.")
	ErrAccessKeyNotFound     = GatewayError("InvalidAccessKeyId.NotFound", 404, "Specified access key is not found.")
	ErrAccessKeyInactive     = GatewayError("InvalidAccessKeyId.Inactive", 400, "Specified access key is disabled.")
	ErrTimestampFormat       = GatewayError("InvalidTimeStamp.Format", 400, "Specified time stamp or date value is not well formatted.")
	ErrTimestampExpired      = GatewayError("InvalidTimeStamp.Expired", 400, "Specified time stamp or date value is expired.")
	ErrNonceUsed             = GatewayError("SignatureNonceUsed", 400, "Specified signature nonce was used already.")
	ErrSignatureMethod       = GatewayError("InvalidSignatureMethod", 400, "Specified signature method is not valid.")
	ErrUnsupportedMethod     = GatewayError("UnsupportedHTTPMethod", 400, "Specified HTTP method is not supported.")
	ErrIncompleteSignature   = GatewayError("IncompleteSignature", 400, "The request signature does not conform to Aliyun standards.")
	ErrSignatureMismatch     = GatewayError("SignatureDoesNotMatch", 400, "Specified signature is not matched with our calculation.")
	ErrThrottlingUser        = GatewayError("Throttling.User", 400, "Request was denied due to user flow control.")
	ErrThrottlingAPI         = GatewayError("Throttling.Api", 400, "Request was denied due to api flow control.")
	ErrThrottling            = GatewayError("Throttling", 400, "Request was denied due to request throttling.")
	ErrSecurityTokenInvalid  = GatewayError("InvalidSecurityToken.Malformed", 400, "Specified SecurityToken is malformed.")
	ErrSecurityTokenMissing  = GatewayError("MissingSecurityToken", 400, "SecurityToken is mandatory for this action.")
	ErrForbidden             = GatewayError("Forbidden.RAM", 403, "User is not authorized to operate on the specified resource.")
	ErrInternal              = GatewayError("InternalError", 500, "The request processing has failed due to some unknown error, exception or failure.")
	ErrServiceUnavailable    = GatewayError("ServiceUnavailable", 503, "The request has failed due to a temporary failure of the server.")
	ErrRequestTooLarge       = GatewayError("InvalidParameter.TooLarge", 400, "The request is larger than this endpoint accepts.")
	ErrContentSHA256Mismatch = GatewayError("IncompleteSignature", 400, "The request signature does not conform to Aliyun standards. The x-acs-content-sha256 header does not match the request body.")
)

// known indexes every declared error by code, so fault rules can name a
// code and get its documented envelope, status and message. The first
// declaration of a code wins.
var known sync.Map

func register(e *Error) *Error {
	known.LoadOrStore(e.Code, e)
	return e
}

// Known returns a copy of the error declared with this code.
func Known(code string) (Error, bool) {
	v, ok := known.Load(code)
	if !ok {
		return Error{}, false
	}
	return *v.(*Error), true
}

// Missing is the gateway's Missing{Param} error.
func Missing(param string) *Error {
	e := *ErrMissingParam
	e.Code = "Missing" + param
	e.Message = param + " is mandatory for this action."
	return &e
}

// missingHeader is Missing{Param} for a V3 request, whose common
// parameters travel as headers: the code names the parameter, as for V1
// callers, and the message names the header that was not sent.
func missingHeader(param, header string) *Error {
	e := Missing(param)
	e.Message = header + " is mandatory for this action."
	return e
}

// Invalid is the gateway's Invalid{Param} error for a value of the wrong type.
func Invalid(param string) *Error {
	e := *ErrInvalidParam
	e.Code = "Invalid" + param
	e.Message = "Specified parameter " + param + " is not valid."
	return &e
}
