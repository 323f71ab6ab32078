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
		sort.Strings(lists)
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
