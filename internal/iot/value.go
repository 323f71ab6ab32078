package iot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Alink codes of devices.md §8.8 that value checks return. They are the
// codes the platform puts in a device reply, so the MQTT side can hand them
// on without translating.
const (
	CodeParamsType = 6305 // the value has the wrong JSON type (also array size)
	CodeInt        = 6306
	CodeFloat      = 6307
	CodeBool       = 6308
	CodeEnum       = 6309
	CodeText       = 6310
	CodeDate       = 6311
	CodeStruct     = 6312
	CodeDouble     = 6322
)

// Documented defaults and ceilings of data types (things.md §8.4); a spec
// that leaves a limit out gets the ceiling.
const (
	MaxTextLength   = 10240
	MaxArraySize    = 512
	MaxStructFields = 50
	MaxEnumItems    = 100
)

// ValueError is a value that breaks its data type; Code is the Alink code of
// devices.md §8.8 (6306 int, 6307 float, 6308 bool, 6309 enum, 6310
// text/string, 6311 date, 6312 struct, 6322 double, 6305 wrong JSON
// type/array) and Message names the identifier (when the check knew it)
// and why.
type ValueError struct {
	Code    int
	Message string
}

// Error is the message alone: the code travels separately in Alink replies.
func (e *ValueError) Error() string { return e.Message }

func valueErr(code int, format string, args ...any) *ValueError {
	return &ValueError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// prefixed puts a path element in front of a nested error's message, so a
// bad struct member or array item says where it is.
func prefixed(err error, prefix string) error {
	if ve, ok := err.(*ValueError); ok {
		return &ValueError{Code: ve.Code, Message: prefix + ": " + ve.Message}
	}
	return err
}

// Check validates a value against the property's data type; the error
// message starts with the identifier.
func (p Property) Check(v any, fromDevice bool) error {
	if err := p.DataType.Check(v, fromDevice); err != nil {
		return prefixed(err, p.Identifier)
	}
	return nil
}

// Check validates a value against the param's data type; the error message
// starts with the identifier.
func (p Param) Check(v any, fromDevice bool) error {
	if err := p.DataType.Check(v, fromDevice); err != nil {
		return prefixed(err, p.Identifier)
	}
	return nil
}

// Check validates one value against the data type (things.md §8.3). v is
// what encoding/json decodes with Decoder.UseNumber(): json.Number, string,
// bool, nil, map[string]any, []any (float64 is tolerated too, for callers
// that decoded without UseNumber). fromDevice relaxes: numeric strings are
// accepted for int/float/double (the Alink doc's own example sends them).
// API input (fromDevice=false) must give float/double with a decimal point
// or exponent, as the platform does. bool accepts 0/1 and true/false;
// enum an integer key of specs; text a string of at most length runes; date
// ms as string or integer; struct an object whose members are checked by
// their own types (unknown members are an error); array at most size
// items, each valid. It returns a *ValueError on failure, nil when fine.
func (dt DataType) Check(v any, fromDevice bool) error {
	if v == nil {
		return valueErr(CodeParamsType, "value is null")
	}
	switch dt.Type {
	case "int":
		return dt.checkInt(v, fromDevice)
	case "float", "double":
		return dt.checkFloat(v, fromDevice)
	case "bool":
		return checkKey(v, CodeBool, "bool", map[int64]bool{0: true, 1: true})
	case "enum":
		keys, _ := enumKeys(dt.Specs)
		return checkKey(v, CodeEnum, "enum", keys)
	case "text":
		return dt.checkText(v)
	case "date":
		return checkDate(v)
	case "struct":
		return dt.checkStruct(v, fromDevice)
	case "array":
		return dt.checkArray(v, fromDevice)
	}
	return valueErr(CodeParamsType, "unknown data type %q", dt.Type)
}

// numberText is the textual form of a numeric value, and whether v is one
// at all; device strings count when allowed.
func numberText(v any, strings bool) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return string(x), isJSONNumber(string(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		if strings && isJSONNumber(x) {
			return x, true
		}
	}
	return "", false
}

// isJSONNumber is the JSON number grammar: strconv alone would also take
// "NaN", "0x1p3" or "1_000".
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

// isIntegerText is a JSON number without fraction or exponent.
func isIntegerText(s string) bool {
	return isJSONNumber(s) && !strings.ContainsAny(s, ".eE")
}

func (dt DataType) checkInt(v any, fromDevice bool) error {
	s, ok := numberText(v, fromDevice)
	if !ok {
		return valueErr(typeCode(v, CodeInt), "%s is not an integer", describe(v))
	}
	if f, isFloat := v.(float64); isFloat && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		s = strconv.FormatInt(int64(f), 10)
	}
	if !isIntegerText(s) {
		return valueErr(CodeInt, "%s is not an integer", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return valueErr(CodeInt, "%s is out of the integer range", s)
	}
	return checkRange(dt.Specs, float64(n), s, CodeInt)
}

func (dt DataType) checkFloat(v any, fromDevice bool) error {
	code := CodeFloat
	if dt.Type == "double" {
		code = CodeDouble
	}
	s, ok := numberText(v, fromDevice)
	if !ok {
		return valueErr(typeCode(v, code), "%s is not a number", describe(v))
	}
	if _, isNum := v.(json.Number); isNum && !fromDevice && !strings.ContainsAny(s, ".eE") {
		return valueErr(code, "%s must be written with a decimal point (%s.0)", s, s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return valueErr(code, "%s is out of the %s range", s, dt.Type)
	}
	return checkRange(dt.Specs, f, s, code)
}

// typeCode tells a value of the wrong JSON kind (6305) from a value of the
// right kind that breaks the specs (the type's own code): a string sent to
// an int is a type error, 1.5 sent to an int is a specs error.
func typeCode(v any, own int) int {
	switch v.(type) {
	case json.Number, float64:
		return own
	}
	return CodeParamsType
}

func checkRange(specs json.RawMessage, f float64, s string, code int) error {
	lo, hi := cachedRange(specs)
	if lo != nil && f < *lo {
		return valueErr(code, "%s is below the minimum %s", s, formatFloat(*lo))
	}
	if hi != nil && f > *hi {
		return valueErr(code, "%s is above the maximum %s", s, formatFloat(*hi))
	}
	return nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// ranges caches the bounds of number specs by their text: every value a
// device posts is checked against its property's specs, and decoding them
// each time was about a tenth of a property post's CPU. Specs come from
// users' thing models, so the cache is emptied when it is full.
var ranges = struct {
	sync.RWMutex
	m map[string][2]*float64
}{m: map[string][2]*float64{}}

const maxRanges = 4096

// cachedRange is numberRange, remembered; the bounds are shared and must
// not be written.
func cachedRange(specs json.RawMessage) (lo, hi *float64) {
	ranges.RLock()
	r, ok := ranges.m[string(specs)]
	ranges.RUnlock()
	if ok {
		return r[0], r[1]
	}
	lo, hi, _ = numberRange(specs)
	ranges.Lock()
	if len(ranges.m) >= maxRanges {
		clear(ranges.m)
	}
	ranges.m[string(specs)] = [2]*float64{lo, hi}
	ranges.Unlock()
	return lo, hi
}

// numberRange reads specs.min and specs.max; a missing or unreadable bound is
// nil (ParseThingModel has already refused unreadable ones).
func numberRange(specs json.RawMessage) (lo, hi *float64, err error) {
	obj, err := specsObject(specs)
	if err != nil {
		return nil, nil, err
	}
	read := func(key string) (*float64, error) {
		raw, ok := obj[key]
		if !ok || isNull(raw) {
			return nil, nil
		}
		s, ok := specText(raw)
		if !ok || !isJSONNumber(s) {
			return nil, fmt.Errorf("%s: %s is not a number", key, raw)
		}
		f, perr := strconv.ParseFloat(s, 64)
		if perr != nil {
			return nil, fmt.Errorf("%s: %s is out of range", key, raw)
		}
		return &f, nil
	}
	if lo, err = read("min"); err != nil {
		return nil, nil, err
	}
	if hi, err = read("max"); err != nil {
		return nil, nil, err
	}
	return lo, hi, nil
}

// checkKey is bool and enum: an integer that is one of keys.
func checkKey(v any, code int, what string, keys map[int64]bool) error {
	var s string
	switch x := v.(type) {
	case bool:
		if code == CodeBool {
			return nil
		}
		return valueErr(CodeParamsType, "%t is not an %s key", x, what)
	case json.Number, float64:
		s, _ = numberText(x, false)
	default:
		return valueErr(CodeParamsType, "%s is not a %s value", describe(v), what)
	}
	if f, isFloat := v.(float64); isFloat && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		s = strconv.FormatInt(int64(f), 10)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || !isIntegerText(s) || !keys[n] {
		if code == CodeBool {
			return valueErr(code, "%s is not 0 or 1", s)
		}
		return valueErr(code, "%s is not one of the %s keys", s, what)
	}
	return nil
}

func (dt DataType) checkText(v any) error {
	s, ok := v.(string)
	if !ok {
		return valueErr(CodeParamsType, "%s is not a string", describe(v))
	}
	limit := MaxTextLength
	if obj, err := specsObject(dt.Specs); err == nil {
		if n, ok := specInt(obj, "length"); ok && n > 0 {
			limit = int(n)
		}
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return valueErr(CodeText, "text of %d characters is longer than %d", n, limit)
	}
	return nil
}

func checkDate(v any) error {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = string(x)
	case float64:
		if x != math.Trunc(x) || x < 0 || x >= 1<<53 {
			return valueErr(CodeDate, "%s is not a time in milliseconds", formatFloat(x))
		}
		return nil
	default:
		return valueErr(CodeParamsType, "%s is not a date", describe(v))
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return valueErr(CodeDate, "%q is not a time in milliseconds", s)
	}
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return valueErr(CodeDate, "%q is out of the date range", s)
	}
	return nil
}

func (dt DataType) checkStruct(v any, fromDevice bool) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return valueErr(CodeParamsType, "%s is not an object", describe(v))
	}
	members, _ := structMembers(dt.Specs)
	byID := make(map[string]DataType, len(members))
	for _, m := range members {
		byID[m.Identifier] = m.DataType
	}
	// Sorted so that the first error reported does not depend on map order.
	for _, k := range sortedKeys(obj) {
		mdt, known := byID[k]
		if !known {
			continue // things §8.3: undeclared members are dropped, the rest kept
		}
		if err := mdt.Check(obj[k], fromDevice); err != nil {
			return prefixed(err, k)
		}
	}
	return nil
}

func (dt DataType) checkArray(v any, fromDevice bool) error {
	items, ok := v.([]any)
	if !ok {
		return valueErr(CodeParamsType, "%s is not an array", describe(v))
	}
	size, item, _ := arraySpecs(dt.Specs)
	if len(items) > size {
		return valueErr(CodeParamsType, "array of %d items is longer than %d", len(items), size)
	}
	for i, x := range items {
		if err := item.Check(x, fromDevice); err != nil {
			return prefixed(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return nil
}

// describe is a value as it appears in error messages: JSON, short.
func describe(v any) string {
	s := RenderValue(v)
	switch v.(type) {
	case string:
		s = strconv.Quote(s)
	case nil:
		s = "null"
	}
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return s
}

// Normalize returns the value as it is stored: bool true/false →
// json.Number("1")/("0") for bool types, numeric strings for number types →
// json.Number, struct members and array items normalized by their own
// types. Anything else is returned unchanged. It does not check; callers
// run Check first.
func (dt DataType) Normalize(v any) any {
	switch dt.Type {
	case "bool":
		if b, ok := v.(bool); ok {
			if b {
				return json.Number("1")
			}
			return json.Number("0")
		}
	case "int", "float", "double":
		if s, ok := v.(string); ok && isJSONNumber(s) {
			return json.Number(s)
		}
	case "struct":
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		members, _ := structMembers(dt.Specs)
		out := make(map[string]any, len(obj))
		for k, x := range obj {
			// Undeclared members are dropped (things §8.3); Check let them by.
			for _, m := range members {
				if m.Identifier == k {
					out[k] = m.DataType.Normalize(x)
				}
			}
		}
		return out
	case "array":
		items, ok := v.([]any)
		if !ok {
			return v
		}
		_, item, _ := arraySpecs(dt.Specs)
		out := make([]any, len(items))
		for i, x := range items {
			out[i] = item.Normalize(x)
		}
		return out
	}
	return v
}

// Unit is specs.unit for numeric types, "" otherwise.
func (dt DataType) Unit() string {
	switch dt.Type {
	case "int", "float", "double":
	default:
		return ""
	}
	obj, err := specsObject(dt.Specs)
	if err != nil {
		return ""
	}
	s, _ := specText(obj["unit"])
	return s
}

// RenderValue is a stored value as the RPC API's Value string (things.md
// §3.1): json.Number as its text, string as is, bool as "1"/"0", nil as "",
// objects and arrays as compact JSON (map keys sorted, as encoding/json
// does, but without HTML escaping, so "<" stays "<" as the device sent it).
func RenderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case json.Number:
		return string(x)
	case string:
		return x
	case bool:
		if x {
			return "1"
		}
		return "0"
	case float64:
		return formatFloat(x)
	}
	return string(marshalPlain(v))
}

// marshalPlain is json.Marshal without HTML escaping and without the
// encoder's trailing newline; values it cannot encode (NaN, channels, only
// ever built by hand) render as nothing, which beats a panic in a reply path.
func marshalPlain(v any) []byte {
	b, _ := marshalNoEscape(v)
	return b
}

// marshalNoEscape is json.Marshal without HTML escaping, so that text from
// devices and TSL names come back as they were sent.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// InferType is the data type of a value posted for a product without a
// thing model: json.Number without '.', 'e' or 'E' → "int", other
// json.Number (and float64) → "double", string → "text", bool → "bool", map
// → "struct", slice → "array", anything else "".
func InferType(v any) string {
	switch x := v.(type) {
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return "double"
		}
		return "int"
	case float64:
		return "double"
	case string:
		return "text"
	case bool:
		return "bool"
	case map[string]any:
		return "struct"
	case []any:
		return "array"
	}
	return ""
}

// --- specs readers, shared by ParseThingModel and Check ---

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// specsObject decodes object specs; absent or null specs are an empty
// object, since a type without limits is still a valid type.
func specsObject(specs json.RawMessage) (map[string]json.RawMessage, error) {
	if isNull(specs) {
		return map[string]json.RawMessage{}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(specs, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("must be an object")
	}
	return obj, nil
}

// specText reads a specs entry that should be a string; numbers are taken
// as their text too, because some exports write "max":100.
func specText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return string(n), true
	}
	return "", false
}

func specInt(obj map[string]json.RawMessage, key string) (int64, bool) {
	s, ok := specText(obj[key])
	if !ok || !isIntegerText(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// enumKeys reads the integer keys of bool or enum specs.
func enumKeys(specs json.RawMessage) (map[int64]bool, error) {
	obj, err := specsObject(specs)
	if err != nil {
		return nil, err
	}
	keys := make(map[int64]bool, len(obj))
	for _, k := range sortedKeys(obj) {
		n, perr := strconv.ParseInt(k, 10, 64)
		if perr != nil || !isIntegerText(k) {
			return nil, fmt.Errorf("%s: key %q is not an integer", k, k)
		}
		keys[n] = true
	}
	return keys, nil
}

// structMembers reads struct specs, which are an array of params.
func structMembers(specs json.RawMessage) ([]Param, error) {
	if isNull(specs) {
		return nil, nil
	}
	var ps []Param
	if err := json.Unmarshal(specs, &ps); err != nil {
		return nil, fmt.Errorf("must be an array of members")
	}
	return ps, nil
}

// arraySpecs reads array specs: size (default and ceiling 512) and the item
// type.
func arraySpecs(specs json.RawMessage) (int, DataType, error) {
	obj, err := specsObject(specs)
	if err != nil {
		return MaxArraySize, DataType{}, err
	}
	size := MaxArraySize
	if n, ok := specInt(obj, "size"); ok && n > 0 && n <= MaxArraySize {
		size = int(n)
	}
	var item DataType
	if raw, ok := obj["item"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &item); err != nil {
			return size, DataType{}, fmt.Errorf("item: must be an object with a type")
		}
	}
	return size, item, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
