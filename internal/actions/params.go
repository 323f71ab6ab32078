package actions

import (
	"errors"
	"math"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/pop"
)

// account is the caller's account, as Credentials admitted it.
func account(c *pop.Call) iot.Account {
	a, _ := c.Principal.(iot.Account)
	return a
}

// paging reads CurrentPage and PageSize with their defaults and bounds;
// anything out of range is iot.common.InvalidPageParams.
func paging(c *pop.Call, pageParam string, defSize, maxSize int) (page, size int, e error) {
	page, size = 1, defSize
	if v, ok := c.Params[pageParam]; ok && v != "" {
		n, err := pop.ParseInt(v)
		if err != nil || n < 1 {
			return 0, 0, ErrInvalidPageParams
		}
		page = n
	}
	if v, ok := c.Params["PageSize"]; ok && v != "" {
		n, err := pop.ParseInt(v)
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

func isNotFound(err error) bool { return errors.Is(err, iot.ErrNotFound) }
