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
