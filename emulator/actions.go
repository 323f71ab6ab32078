package emulator

import (
	"errors"
	"math"
	"sort"
	"strconv"
)

// apiVersion is the one API version this product serves.
const apiVersion = "2018-01-20"

// Action declares one RPC action: its name, the parameters the gateway
// requires (answered with Missing{Param}), its documented per-account QPS
// limit, and its handler. The router, the throttle, --help and the README
// all read this one table.
type Action struct {
	Name     string
	Required []string
	QPS      float64
	// DeepQPS, when set, is the documented lower limit for deep pages
	// (CurrentPage × PageSize ≥ 100,000), counted in a bucket of its own.
	DeepQPS float64
	Handle  func(s *Server, c *Call) (Object, *Error)
}

// actions lists every action, grouped by resource. QPS limits from
// protocol.md §11.
var actions = []*Action{
	// Batch registration (batches.go).
	{Name: "BatchCheckDeviceNames", Required: []string{"ProductKey"}, QPS: 10, Handle: (*Server).batchCheckDeviceNames},
	{Name: "QueryBatchRegisterDeviceStatus", Required: []string{"ProductKey", "ApplyId"}, QPS: 30, Handle: (*Server).queryBatchRegisterDeviceStatus},
	{Name: "BatchRegisterDeviceWithApplyId", Required: []string{"ProductKey", "ApplyId"}, QPS: 500, Handle: (*Server).batchRegisterDeviceWithApplyID},
	{Name: "BatchRegisterDevice", Required: []string{"ProductKey", "Count"}, QPS: 10, Handle: (*Server).batchRegisterDevice},
	{Name: "QueryPageByApplyId", Required: []string{"ApplyId"}, QPS: 50, Handle: (*Server).queryPageByApplyID},

	// Products and devices (products.go, devices.go).
	{Name: "CreateProduct", Required: []string{"ProductName", "NodeType"}, QPS: 50, Handle: (*Server).createProduct},
	{Name: "QueryProduct", Required: []string{"ProductKey"}, QPS: 50, Handle: (*Server).queryProduct},
	{Name: "QueryProductList", Required: []string{"CurrentPage", "PageSize"}, QPS: 50, DeepQPS: 2, Handle: (*Server).queryProductList},
	{Name: "DeleteProduct", Required: []string{"ProductKey"}, QPS: 500, Handle: (*Server).deleteProduct},
	{Name: "RegisterDevice", Required: []string{"ProductKey"}, QPS: 30, Handle: (*Server).registerDevice},
	{Name: "QueryDeviceDetail", QPS: 50, Handle: (*Server).queryDeviceDetail},
	{Name: "QueryDeviceInfo", QPS: 500, Handle: (*Server).queryDeviceInfo},
	{Name: "QueryDevice", Required: []string{"ProductKey"}, QPS: 50, DeepQPS: 2, Handle: (*Server).queryDevice},
	{Name: "BatchQueryDeviceDetail", Required: []string{"ProductKey"}, QPS: 5, Handle: (*Server).batchQueryDeviceDetail},
	{Name: "DeleteDevice", QPS: 50, Handle: (*Server).deleteDevice},
}

// actionTable indexes actions by name.
var actionTable = func() map[string]*Action {
	m := make(map[string]*Action, len(actions))
	for _, a := range actions {
		m[a.Name] = a
	}
	return m
}()

// Actions returns the action table sorted by name, for docs and --help.
func Actions() []Action {
	out := make([]Action, 0, len(actions))
	for _, a := range actions {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var errNotInteger = errors.New("not an integer")

// atoiStrict parses a decimal integer without sign tricks or spaces.
func atoiStrict(s string) (int, error) {
	if s == "" || len(s) > 18 {
		return 0, errNotInteger
	}
	for i, c := range s {
		if (c < '0' || c > '9') && !(i == 0 && c == '-' && len(s) > 1) {
			return 0, errNotInteger
		}
	}
	return strconv.Atoi(s)
}

// paging reads CurrentPage and PageSize with their defaults and bounds;
// anything out of range is iot.common.InvalidPageParams.
func paging(c *Call, pageParam string, defSize, maxSize int) (page, size int, e *Error) {
	page, size = 1, defSize
	if v, ok := c.Params[pageParam]; ok && v != "" {
		n, err := atoiStrict(v)
		if err != nil || n < 1 {
			return 0, 0, ErrInvalidPageParams
		}
		page = n
	}
	if v, ok := c.Params["PageSize"]; ok && v != "" {
		n, err := atoiStrict(v)
		if err != nil || n < 1 || n > maxSize {
			return 0, 0, ErrInvalidPageParams
		}
		size = n
	}
	return page, size, nil
}

// pageCount is ceil(total / size).
func pageCount(total, size int) int {
	if size <= 0 {
		return 0
	}
	return (total + size - 1) / size
}

// pageOffset is (page-1)×size, saturating instead of overflowing: paging
// accepts up to 18-digit page numbers, and an overflowed negative offset
// would silently serve the first page.
func pageOffset(page, size int) int {
	if size > 0 && page-1 > math.MaxInt/size {
		return math.MaxInt
	}
	return (page - 1) * size
}
