package iot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// exampleTSL is the small complete example of things.md §8.2, verbatim.
const exampleTSL = `
{
  "schema": "https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json",
  "profile": {"productKey": "a1BwAGVabcd"},
  "properties": [
    {"identifier": "Temperature", "name": "温度", "accessMode": "r", "required": false,
     "dataType": {"type": "float", "specs": {"min": "-40", "max": "120", "step": "0.1", "unit": "°C", "unitName": "摄氏度"}}},
    {"identifier": "Switch", "name": "开关", "accessMode": "rw", "required": false,
     "dataType": {"type": "bool", "specs": {"0": "关", "1": "开"}}},
    {"identifier": "Mode", "name": "模式", "accessMode": "rw", "required": false,
     "dataType": {"type": "enum", "specs": {"0": "auto", "1": "manual"}}},
    {"identifier": "Label", "name": "标签", "accessMode": "rw", "required": false,
     "dataType": {"type": "text", "specs": {"length": "64"}}},
    {"identifier": "Location", "name": "位置", "accessMode": "r", "required": false,
     "dataType": {"type": "struct", "specs": [
       {"identifier": "lat", "name": "纬度", "dataType": {"type": "double", "specs": {"min": "-90", "max": "90"}}},
       {"identifier": "lng", "name": "经度", "dataType": {"type": "double", "specs": {"min": "-180", "max": "180"}}}]}},
    {"identifier": "Samples", "name": "采样", "accessMode": "r", "required": false,
     "dataType": {"type": "array", "specs": {"size": "8", "item": {"type": "int"}}}}
  ],
  "events": [
    {"identifier": "post", "name": "post", "type": "info", "required": true, "desc": "属性上报",
     "method": "thing.event.property.post",
     "outputData": [{"identifier": "Temperature", "name": "温度", "dataType": {"type": "float", "specs": {"min": "-40", "max": "120", "step": "0.1"}}}]},
    {"identifier": "Overheat", "name": "过热", "type": "alert", "required": false,
     "method": "thing.event.Overheat.post",
     "outputData": [{"identifier": "Temperature", "name": "温度", "dataType": {"type": "float", "specs": {"min": "-40", "max": "120"}}}]}
  ],
  "services": [
    {"identifier": "set", "name": "set", "required": true, "callType": "async", "desc": "属性设置",
     "method": "thing.service.property.set",
     "inputData": [{"identifier": "Switch", "name": "开关", "dataType": {"type": "bool", "specs": {"0": "关", "1": "开"}}}],
     "outputData": []},
    {"identifier": "get", "name": "get", "required": true, "callType": "async", "desc": "属性获取",
     "method": "thing.service.property.get", "inputData": ["Temperature", "Switch"], "outputData": []},
    {"identifier": "Reboot", "name": "重启", "required": false, "callType": "sync",
     "method": "thing.service.Reboot",
     "inputData": [{"identifier": "delay", "name": "延时", "dataType": {"type": "int", "specs": {"min": "0", "max": "60", "unit": "s"}}}],
     "outputData": [{"identifier": "ok", "name": "结果", "dataType": {"type": "bool", "specs": {"0": "失败", "1": "成功"}}}]}
  ]
}
`

func TestParseThingModelExample(t *testing.T) {
	m, err := iot.ParseThingModel([]byte(exampleTSL))
	require.NoError(t, err)
	t.Run("the example keeps every feature in order", func(t *testing.T) {
		assert.Len(t, m.Properties, 6)
		assert.Len(t, m.Events, 2)
		assert.Len(t, m.Services, 3)
		assert.Equal(t, "a1BwAGVabcd", m.Profile["productKey"])
	})
	t.Run("features are found by identifier", func(t *testing.T) {
		p, ok := m.Property("Temperature")
		require.True(t, ok)
		assert.Equal(t, "r", p.AccessMode)
		assert.Equal(t, "°C", p.DataType.Unit())
		e, ok := m.Event("Overheat")
		require.True(t, ok)
		assert.Equal(t, "alert", e.Type)
		s, ok := m.Service("Reboot")
		require.True(t, ok)
		assert.Equal(t, "sync", s.CallType)
		_, ok = m.Property("Nope")
		assert.False(t, ok)
	})
	t.Run("the get service's identifier strings are read as bare params", func(t *testing.T) {
		s, ok := m.Service("get")
		require.True(t, ok)
		assert.Equal(t, []iot.Param{{Identifier: "Temperature"}, {Identifier: "Switch"}}, s.InputData)
	})
	t.Run("the get service's identifier strings are written back as strings", func(t *testing.T) {
		var doc struct {
			Services []struct {
				Identifier string            `json:"identifier"`
				InputData  []json.RawMessage `json:"inputData"`
			} `json:"services"`
		}
		require.NoError(t, json.Unmarshal(m.JSON("a1BwAGVabcd"), &doc))
		assert.JSONEq(t, `"Temperature"`, string(doc.Services[1].InputData[0]))
	})
	t.Run("JSON and ParseThingModel round-trip to the same bytes", func(t *testing.T) {
		first := m.JSON("a1BwAGVabcd")
		again, err := iot.ParseThingModel(first)
		require.NoError(t, err)
		assert.Equal(t, string(first), string(again.JSON("a1BwAGVabcd")))
		assert.Equal(t, m, again)
	})
	t.Run("Simple keeps identifiers and data types only", func(t *testing.T) {
		s := m.Simple()
		assert.Equal(t, iot.Property{Identifier: "Temperature", DataType: m.Properties[0].DataType}, s.Properties[0])
		assert.Empty(t, s.Services[2].Name)
		assert.Empty(t, s.Services[2].CallType)
		assert.Equal(t, "delay", s.Services[2].InputData[0].Identifier)
		assert.Empty(t, s.Services[2].InputData[0].Name)
	})
}

func TestParseThingModelDefaults(t *testing.T) {
	m, err := iot.ParseThingModel([]byte(`{"properties":[{"identifier":"a","name":"A","dataType":{"type":"int"}}],
		"events":[{"identifier":"e","name":"E"},{"identifier":"post","name":"post"}],
		"services":[{"identifier":"s","name":"S"},{"identifier":"set","name":"set"}]}`))
	require.NoError(t, err)
	for _, tc := range []struct{ name, got, want string }{
		{"an empty access mode becomes rw", m.Properties[0].AccessMode, "rw"},
		{"an empty event type becomes info", m.Events[0].Type, "info"},
		{"an event's method defaults to thing.event.{id}.post", m.Events[0].Method, "thing.event.e.post"},
		{"the built-in post event gets the property post method", m.Events[1].Method, "thing.event.property.post"},
		{"an empty call type becomes async", m.Services[0].CallType, "async"},
		{"a service's method defaults to thing.service.{id}", m.Services[0].Method, "thing.service.s"},
		{"the built-in set service gets the property set method", m.Services[1].Method, "thing.service.property.set"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.got) })
	}
	t.Run("absent arrays become empty arrays", func(t *testing.T) {
		m, err := iot.ParseThingModel([]byte(`{}`))
		require.NoError(t, err)
		assert.NotNil(t, m.Properties)
		assert.NotNil(t, m.Events)
		assert.NotNil(t, m.Services)
		assert.JSONEq(t, `{"schema":"`+iot.DefaultTSLSchema+`","profile":{"productKey":"pk"},"properties":[],"events":[],"services":[]}`, string(m.JSON("pk")))
	})
}

// prop is a one-property model with the given data type, for rejection tables.
func prop(dataType string) string {
	return `{"properties":[{"identifier":"p","name":"P","accessMode":"rw","dataType":` + dataType + `}]}`
}

func TestParseThingModelRejects(t *testing.T) {
	many := func(n int, format string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(format, i)
		}
		return strings.Join(parts, ",")
	}
	for _, tc := range []struct {
		name, tsl, want string
	}{
		{"a JSON array is not a thing model", `[]`, "JSON object"},
		{"broken JSON is refused", `{"properties":[`, "invalid TSL"},
		{"a property without identifier is refused", prop(`{"type":"int"}`)[:0] + `{"properties":[{"name":"x","dataType":{"type":"int"}}]}`, "properties[0].identifier: is missing"},
		{"an identifier with a dash is refused", `{"properties":[{"identifier":"a-b","dataType":{"type":"int"}}]}`, `properties[0].identifier: "a-b"`},
		{"an identifier of 51 characters is refused", `{"properties":[{"identifier":"` + strings.Repeat("a", 51) + `","dataType":{"type":"int"}}]}`, "properties[0].identifier"},
		{"a property and a service of the same identifier are refused", `{"properties":[{"identifier":"x","dataType":{"type":"int"}}],"services":[{"identifier":"x"}]}`, `services[0].identifier: "x" is already used by properties[0]`},
		{"an unknown access mode is refused", `{"properties":[{"identifier":"x","accessMode":"w","dataType":{"type":"int"}}]}`, "properties[0].accessMode"},
		{"an unknown data type is refused", prop(`{"type":"long"}`), `properties[0].dataType.type: "long" is not a known data type`},
		{"a missing data type is refused", prop(`{}`), "properties[0].dataType.type: is missing"},
		{"a min that is not a number is refused", prop(`{"type":"int","specs":{"min":"abc"}}`), `properties[0].dataType.specs.min: "abc" is not a number`},
		{"a min above the max is refused", prop(`{"type":"float","specs":{"min":"10","max":"1"}}`), "min 10 is greater than max 1"},
		{"a text length over 10240 is refused", prop(`{"type":"text","specs":{"length":"10241"}}`), "specs.length"},
		{"an enum key that is not an integer is refused", prop(`{"type":"enum","specs":{"a":"x"}}`), "is not an integer"},
		{"a bool key other than 0 and 1 is refused", prop(`{"type":"bool","specs":{"2":"x"}}`), "only the keys 0 and 1"},
		{"an enum of 101 items is refused", prop(`{"type":"enum","specs":{` + many(101, `"%d":"x"`) + `}}`), "101 enum items"},
		{"an array of 513 items is refused", prop(`{"type":"array","specs":{"size":"513","item":{"type":"int"}}}`), "specs.size"},
		{"an array of bools is refused", prop(`{"type":"array","specs":{"size":"2","item":{"type":"bool"}}}`), "specs.item.type"},
		{"an array without item type is refused", prop(`{"type":"array","specs":{"size":"2"}}`), "specs.item: is missing"},
		{"struct specs that are an object are refused", prop(`{"type":"struct","specs":{"a":"b"}}`), "array of members"},
		{"a struct inside a struct is refused", prop(`{"type":"struct","specs":[{"identifier":"s","dataType":{"type":"struct","specs":[]}}]}`), "struct member must be one of"},
		{"a struct of 51 members is refused", prop(`{"type":"struct","specs":[` + many(51, `{"identifier":"m%d","dataType":{"type":"int"}}`) + `]}`), "51 members"},
		{"a struct member twice is refused", prop(`{"type":"struct","specs":[{"identifier":"a","dataType":{"type":"int"}},{"identifier":"a","dataType":{"type":"int"}}]}`), "already in the struct"},
		{"an unknown event type is refused", `{"events":[{"identifier":"e","type":"warn"}]}`, "events[0].type"},
		{"an unknown call type is refused", `{"services":[{"identifier":"s","callType":"later"}]}`, "services[0].callType"},
		{"identifier strings outside the get service are refused", `{"services":[{"identifier":"s","inputData":["a"]}]}`, "services[0].inputData[0].dataType.type: is missing"},
		{"a param twice in one list is refused", `{"events":[{"identifier":"e","outputData":[{"identifier":"a","dataType":{"type":"int"}},{"identifier":"a","dataType":{"type":"int"}}]}]}`, "already in the list"},
		{"301 features are refused", `{"properties":[` + many(301, `{"identifier":"p%d","dataType":{"type":"int"}}`) + `]}`, "301 features"},
		{"101 input params of one service are refused", `{"services":[{"identifier":"s","inputData":[` + many(101, `{"identifier":"p%d","dataType":{"type":"int"}}`) + `]}]}`, "101 params, more than 100"},
		{"a TSL over 512 KB is refused", `{"properties":[],"x":"` + strings.Repeat("a", 512*1024) + `"}`, "bytes, more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iot.ParseThingModel([]byte(tc.tsl))
			require.Error(t, err)
			assert.True(t, errors.Is(err, iot.ErrTSL))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("the built-in post, set and get may sit beside each other", func(t *testing.T) {
		_, err := iot.ParseThingModel([]byte(`{"events":[{"identifier":"post"}],"services":[{"identifier":"set"},{"identifier":"get","inputData":["a"]}]}`))
		assert.NoError(t, err)
	})
}

// assertSortedKeys walks JSON and fails on any object whose keys are not
// in ascending order.
func assertSortedKeys(t *testing.T, data []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		last   string
		key    bool // the next string token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:top]
				continue
			}
			k := tok.(string)
			assert.Less(t, stack[top].last, k, "keys out of order")
			stack[top].last, stack[top].key = k, false
			continue
		}
		if top >= 0 && stack[top].object {
			stack[top].key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, key: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:top]
		}
	}
}

func TestThingModelJSON(t *testing.T) {
	m, err := iot.ParseThingModel([]byte(exampleTSL))
	require.NoError(t, err)
	draft := iot.ThingModelJSON(m, "a1BwAGVabcd", "", "")
	published := iot.ThingModelJSON(m, "a1BwAGVabcd", "1.0.0", "first")
	t.Run("the layout is valid JSON with every object's keys sorted", func(t *testing.T) {
		require.True(t, json.Valid(published))
		assertSortedKeys(t, published)
	})
	t.Run("rendering twice gives the same bytes", func(t *testing.T) {
		assert.Equal(t, string(published), string(iot.ThingModelJSON(m, "a1BwAGVabcd", "1.0.0", "first")))
	})
	var doc map[string]any
	require.NoError(t, json.Unmarshal(published, &doc))
	t.Run("a published version carries _ppk and a draft does not", func(t *testing.T) {
		assert.Equal(t, map[string]any{"version": "1.0.0", "description": "first"}, doc["_ppk"])
		assert.NotContains(t, string(draft), "_ppk")
	})
	t.Run("properties use upper-case types, rwFlag and dataSpecs", func(t *testing.T) {
		temp := doc["properties"].([]any)[0].(map[string]any)
		assert.Equal(t, "FLOAT", temp["dataType"])
		assert.Equal(t, "READ_ONLY", temp["rwFlag"])
		assert.Equal(t, "-40", temp["dataSpecs"].(map[string]any)["min"])
	})
	t.Run("bool values are listed in dataSpecsList", func(t *testing.T) {
		sw := doc["properties"].([]any)[1].(map[string]any)
		assert.Equal(t, []any{
			map[string]any{"custom": true, "dataType": "BOOL", "name": "关", "value": float64(0)},
			map[string]any{"custom": true, "dataType": "BOOL", "name": "开", "value": float64(1)},
		}, sw["dataSpecsList"])
	})
	t.Run("services name their params inputParams and outputParams", func(t *testing.T) {
		reboot := doc["services"].([]any)[2].(map[string]any)
		assert.Equal(t, "重启", reboot["serviceName"])
		assert.Equal(t, "delay", reboot["inputParams"].([]any)[0].(map[string]any)["identifier"])
		assert.Len(t, reboot["outputParams"], 1)
	})
	t.Run("the get service's bare identifiers render as their properties", func(t *testing.T) {
		get := doc["services"].([]any)[1].(map[string]any)
		assert.Equal(t, "FLOAT", get["inputParams"].([]any)[0].(map[string]any)["dataType"])
	})
	t.Run("events name their params outputdata", func(t *testing.T) {
		over := doc["events"].([]any)[1].(map[string]any)
		assert.Equal(t, "过热", over["eventName"])
		assert.Len(t, over["outputdata"], 1)
	})
	t.Run("an empty model still has the arrays", func(t *testing.T) {
		assert.JSONEq(t, `{"productKey":"pk","properties":[],"events":[],"services":[],"functionBlocks":[]}`,
			string(iot.ThingModelJSON(iot.ThingModel{}, "pk", "", "")))
	})
}

// dt builds a data type from its TSL JSON.
func dt(t *testing.T, s string) iot.DataType {
	t.Helper()
	var d iot.DataType
	require.NoError(t, json.Unmarshal([]byte(s), &d))
	return d
}

// val decodes a JSON value the way callers do, with UseNumber.
func val(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

func TestCheck(t *testing.T) {
	const (
		intType    = `{"type":"int","specs":{"min":"0","max":"60"}}`
		floatType  = `{"type":"float","specs":{"min":"-40","max":"120"}}`
		doubleType = `{"type":"double","specs":{"min":"-90","max":"90"}}`
		boolType   = `{"type":"bool","specs":{"0":"off","1":"on"}}`
		enumType   = `{"type":"enum","specs":{"0":"auto","1":"manual","5":"eco"}}`
		textType   = `{"type":"text","specs":{"length":"4"}}`
		dateType   = `{"type":"date","specs":{}}`
		structType = `{"type":"struct","specs":[{"identifier":"lat","name":"lat","dataType":{"type":"double","specs":{"min":"-90","max":"90"}}},{"identifier":"on","name":"on","dataType":{"type":"bool"}}]}`
		arrayType  = `{"type":"array","specs":{"size":"3","item":{"type":"int","specs":{"max":"9"}}}}`
	)
	for _, tc := range []struct {
		name       string
		dataType   string
		value      string
		fromDevice bool
		code       int // 0: accepted
	}{
		{"an int within range is accepted", intType, `30`, false, 0},
		{"an int at its maximum is accepted", intType, `60`, false, 0},
		{"an int above its maximum is refused", intType, `61`, false, iot.CodeInt},
		{"an int below its minimum is refused", intType, `-1`, false, iot.CodeInt},
		{"a fraction is not an int", intType, `1.5`, false, iot.CodeInt},
		{"a numeric string is an int from a device", intType, `"30"`, true, 0},
		{"a numeric string is not an int from the API", intType, `"30"`, false, iot.CodeParamsType},
		{"a non-numeric string is not an int even from a device", intType, `"thirty"`, true, iot.CodeParamsType},
		{"an int without limits takes any integer", `{"type":"int"}`, `-123456789`, false, 0},
		{"a float with a decimal point is accepted", floatType, `10.0`, false, 0},
		{"a float with an exponent is accepted", floatType, `1e1`, false, 0},
		{"a float without decimal point is refused from the API", floatType, `10`, false, iot.CodeFloat},
		{"a float without decimal point is accepted from a device", floatType, `10`, true, 0},
		{"a numeric string is a float from a device", floatType, `"30.5"`, true, 0},
		{"a float above its range is refused", floatType, `120.5`, false, iot.CodeFloat},
		{"a string is not a float from the API", floatType, `"30.5"`, false, iot.CodeParamsType},
		{"a double out of range is refused with the double code", doubleType, `91.0`, false, iot.CodeDouble},
		{"a double within range is accepted", doubleType, `-89.5`, false, 0},
		{"bool 1 is accepted", boolType, `1`, false, 0},
		{"bool 0 is accepted", boolType, `0`, false, 0},
		{"bool true is accepted", boolType, `true`, false, 0},
		{"bool false is accepted from a device", boolType, `false`, true, 0},
		{"bool 2 is refused", boolType, `2`, false, iot.CodeBool},
		{"a string is not a bool", boolType, `"1"`, false, iot.CodeParamsType},
		{"an enum key is accepted", enumType, `5`, false, 0},
		{"a number that is no enum key is refused", enumType, `2`, false, iot.CodeEnum},
		{"a fraction is no enum key", enumType, `1.0`, false, iot.CodeEnum},
		{"a string is not an enum value", enumType, `"auto"`, false, iot.CodeParamsType},
		{"a text within its length is accepted", textType, `"abcd"`, false, 0},
		{"a text's length counts characters, not bytes", textType, `"温度温度"`, false, 0},
		{"a text longer than its length is refused", textType, `"abcde"`, false, iot.CodeText},
		{"a number is not a text", textType, `12`, false, iot.CodeParamsType},
		{"a text without length allows 10240 characters", `{"type":"text"}`, `"` + strings.Repeat("a", 10240) + `"`, false, 0},
		{"a text without length refuses 10241 characters", `{"type":"text"}`, `"` + strings.Repeat("a", 10241) + `"`, false, iot.CodeText},
		{"a date as a string of milliseconds is accepted", dateType, `"1600000000000"`, false, 0},
		{"a date as an integer is accepted", dateType, `1600000000000`, false, 0},
		{"a date that is not digits is refused", dateType, `"2020-01-01"`, false, iot.CodeDate},
		{"a date with a fraction is refused", dateType, `1.5`, false, iot.CodeDate},
		{"a bool is not a date", dateType, `true`, false, iot.CodeParamsType},
		{"a struct with valid members is accepted", structType, `{"lat":30.5,"on":1}`, false, 0},
		{"a struct with some members is accepted", structType, `{"on":0}`, false, 0},
		{"a struct member out of range is refused with the member's code", structType, `{"lat":91.0}`, false, iot.CodeDouble},
		{"a struct with an unknown member is accepted (the member is dropped on normalising)", structType, `{"lon":1.0}`, false, 0},
		{"an array is not a struct", structType, `[1]`, false, iot.CodeParamsType},
		{"an array within its size is accepted", arrayType, `[1,2,3]`, false, 0},
		{"an empty array is accepted", arrayType, `[]`, false, 0},
		{"an array over its size is refused", arrayType, `[1,2,3,4]`, false, iot.CodeParamsType},
		{"an array with a bad item is refused with the item's code", arrayType, `[1,10]`, false, iot.CodeInt},
		{"an object is not an array", arrayType, `{}`, false, iot.CodeParamsType},
		{"null is no value of any type", intType, `null`, true, iot.CodeParamsType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dt(t, tc.dataType).Check(val(t, tc.value), tc.fromDevice)
			if tc.code == 0 {
				assert.NoError(t, err)
				return
			}
			var ve *iot.ValueError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.code, ve.Code, ve.Message)
			assert.NotEmpty(t, ve.Message)
		})
	}
	t.Run("a property's error names its identifier", func(t *testing.T) {
		p := iot.Property{Identifier: "Temperature", DataType: dt(t, floatType)}
		err := p.Check(val(t, `200.0`), false)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Temperature: 200.0 is above the maximum 120")
	})
	t.Run("a struct member's error names the member", func(t *testing.T) {
		err := dt(t, structType).Check(val(t, `{"lat":"x"}`), true)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "lat: ")
	})
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, dataType, value string
		want                  any
	}{
		{"true becomes 1 for a bool", `{"type":"bool"}`, `true`, json.Number("1")},
		{"false becomes 0 for a bool", `{"type":"bool"}`, `false`, json.Number("0")},
		{"a numeric string becomes a number for a float", `{"type":"float"}`, `"30.5"`, json.Number("30.5")},
		{"a numeric string becomes a number for an int", `{"type":"int"}`, `"30"`, json.Number("30")},
		{"a text stays as it is", `{"type":"text"}`, `"30"`, "30"},
		{"a date string stays as it is", `{"type":"date"}`, `"1600000000000"`, "1600000000000"},
		{"struct members are normalized by their types", `{"type":"struct","specs":[{"identifier":"on","dataType":{"type":"bool"}}]}`, `{"on":true}`, map[string]any{"on": json.Number("1")}},
		{"undeclared struct members are dropped", `{"type":"struct","specs":[{"identifier":"on","dataType":{"type":"bool"}}]}`, `{"on":false,"lon":1}`, map[string]any{"on": json.Number("0")}},
		{"array items are normalized by their type", `{"type":"array","specs":{"item":{"type":"int"}}}`, `["1",2]`, []any{json.Number("1"), json.Number("2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, dt(t, tc.dataType).Normalize(val(t, tc.value)))
		})
	}
}

func TestUnit(t *testing.T) {
	t.Run("a number's unit comes from its specs", func(t *testing.T) {
		assert.Equal(t, "°C", dt(t, `{"type":"float","specs":{"unit":"°C"}}`).Unit())
	})
	t.Run("a text has no unit", func(t *testing.T) {
		assert.Equal(t, "", dt(t, `{"type":"text","specs":{"unit":"x"}}`).Unit())
	})
}

func TestRenderValue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		want  string
	}{
		{"a number renders as its text", json.Number("10.50"), "10.50"},
		{"a string renders as it is", "a<b", "a<b"},
		{"true renders as 1", true, "1"},
		{"false renders as 0", false, "0"},
		{"null renders as nothing", nil, ""},
		{"an object renders as compact JSON with sorted keys", map[string]any{"b": json.Number("1"), "a": "<x>"}, `{"a":"<x>","b":1}`},
		{"an array renders as compact JSON", []any{json.Number("1"), "x"}, `[1,"x"]`},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, iot.RenderValue(tc.value)) })
	}
}

func TestInferType(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		want  string
	}{
		{"an integer is an int", json.Number("12"), "int"},
		{"a number with a point is a double", json.Number("12.0"), "double"},
		{"a number with an exponent is a double", json.Number("1E3"), "double"},
		{"a string is a text", "x", "text"},
		{"a bool is a bool", true, "bool"},
		{"an object is a struct", map[string]any{}, "struct"},
		{"an array is an array", []any{}, "array"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, iot.InferType(tc.value)) })
	}
}
