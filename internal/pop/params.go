package pop

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// MaxRecordParams bounds the parameters a Record keeps.
const MaxRecordParams = 100

// redacted replaces the value of a secret parameter.
const redacted = "***"

func secretParam(k string) bool {
	switch k {
	case "Signature", "AccessKeySecret", "SecurityToken":
		return true
	}
	l := strings.ToLower(k)
	return strings.Contains(l, "secret") || strings.Contains(l, "password")
}

// RedactParams copies the call's parameters, redacted and bounded: plain
// parameters first, then repeat-list elements (keys with a ".") in key order.
func RedactParams(p map[string]string) (map[string]string, int) {
	out := make(map[string]string, min(len(p), MaxRecordParams))
	var lists []string
	for k, v := range p {
		if strings.Contains(k, ".") {
			lists = append(lists, k)
			continue
		}
		if secretParam(k) {
			v = redacted
		}
		out[k] = v
	}
	omitted := 0
	if len(out)+len(lists) > MaxRecordParams {
		// DeviceName.2 before DeviceName.10: the first elements are kept.
		sort.Slice(lists, func(i, j int) bool { return listLess(lists[i], lists[j]) })
	}
	for _, k := range lists {
		if len(out) >= MaxRecordParams {
			omitted++
			continue
		}
		v := p[k]
		if secretParam(k) {
			v = redacted
		}
		out[k] = v
	}
	return out, omitted
}

// listLess orders repeat-list keys (Name.N, Name.N.Field) by name, then
// by their numeric indexes.
func listLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			return an < bn
		}
		return as[i] < bs[i]
	}
	return len(as) < len(bs)
}

var errNotInteger = errors.New("not an integer")

// ParseInt parses a decimal integer strictly: digits with an optional
// leading '-', no '+', spaces or more than 18 characters.
func ParseInt(s string) (int, error) {
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
