package iot_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// FuzzParseThingModel checks that no input panics the parser and that a
// parsed model's JSON parses back to the same JSON.
func FuzzParseThingModel(f *testing.F) {
	f.Add([]byte(exampleTSL))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"services":[{"identifier":"get","inputData":["a",{"identifier":"b"}]}]}`))
	f.Add([]byte(`{"properties":[{"identifier":"a","dataType":{"type":"array","specs":{"size":"2","item":{"type":"struct","specs":[{"identifier":"x","dataType":{"type":"text","specs":{"length":"3"}}}]}}}}]}`))
	f.Add([]byte(`{"properties":[{"identifier":"a","name":"<&>","dataType":{"type":"enum","specs":{"1":"<b>"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := iot.ParseThingModel(data)
		if err != nil {
			return
		}
		first := m.JSON("pk")
		again, err := iot.ParseThingModel(first)
		if err != nil {
			t.Fatalf("the model's own JSON does not parse: %v\n%s", err, first)
		}
		if second := again.JSON("pk"); !bytes.Equal(first, second) {
			t.Fatalf("the round trip changed the JSON:\n%s\n%s", first, second)
		}
		if out := iot.ThingModelJSON(m, "pk", "1.0", "d"); !json.Valid(out) {
			t.Fatalf("ThingModelJSON is not JSON: %s", out)
		}
		_ = m.Simple().JSON("")
	})
}

// FuzzShadowRequest checks that no message panics the parser or Apply, and
// that every shadow Apply produces survives Document and
// ParseShadowDocument unchanged.
func FuzzShadowRequest(f *testing.F) {
	f.Add([]byte(`{"method":"update","state":{"reported":{"color":"red"}},"version":1}`), false)
	f.Add([]byte(`{"method":"update","state":{"desired":"null"},"version":-1}`), true)
	f.Add([]byte(`{"method":"delete","state":{"reported":{"color":"null"}},"version":9}`), true)
	f.Add([]byte(`{"method":"update","state":{"reported":{"o":{"a":[1,{"b":"null"}]}},"desired":{"x":1.5e3}}}`), true)
	f.Add([]byte(`{"method":"get"}`), true)
	base := iot.Shadow{Reported: map[string]any{"color": "blue", "o": map[string]any{"a": json.Number("1")}},
		ReportedMeta: map[string]int64{"color": 1, "o": 1}, Timestamp: 1, Version: 3}
	f.Fuzz(func(t *testing.T, data []byte, check bool) {
		req, err := iot.ParseShadowRequest(data)
		if err != nil {
			if _, ok := err.(*iot.ShadowError); !ok {
				t.Fatalf("not a *ShadowError: %T", err)
			}
			return
		}
		s, _, err := base.Apply(req, 1000, check)
		if err != nil {
			return
		}
		doc := s.Document()
		back, err := iot.ParseShadowDocument(doc)
		if err != nil {
			t.Fatalf("the document does not parse: %v\n%s", err, doc)
		}
		if again := back.Document(); !bytes.Equal(doc, again) {
			t.Fatalf("the round trip changed the document:\n%s\n%s", doc, again)
		}
		_ = iot.ShadowControl(s, 1000)
	})
}

// FuzzCheck checks that no data type and value panic Check, Normalize or
// RenderValue.
func FuzzCheck(f *testing.F) {
	f.Add(`{"type":"int","specs":{"min":"0","max":"9"}}`, `5`, false)
	f.Add(`{"type":"float","specs":{"min":"x"}}`, `"1.5"`, true)
	f.Add(`{"type":"struct","specs":[{"identifier":"a","dataType":{"type":"bool"}}]}`, `{"a":true}`, true)
	f.Add(`{"type":"array","specs":{"size":"-1","item":{"type":"array"}}}`, `[[1],[2]]`, false)
	f.Add(`{"type":"enum","specs":[1]}`, `null`, false)
	f.Fuzz(func(t *testing.T, dataType, value string, fromDevice bool) {
		var d iot.DataType
		if json.Unmarshal([]byte(dataType), &d) != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(value)))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		if err := d.Check(v, fromDevice); err != nil {
			if _, ok := err.(*iot.ValueError); !ok {
				t.Fatalf("not a *ValueError: %T", err)
			}
			return
		}
		_ = iot.RenderValue(d.Normalize(v))
		_ = iot.InferType(v)
	})
}

// FuzzNames: no string panics the name rules, and a name they accept is
// within the documented bounds: a DeviceName 4-32 characters of
// [A-Za-z0-9_.@:-], a nickname 4-64 characters.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"light01", "ab", "a/b", "中文名字", "x'; DROP TABLE", "name@host:1.2-3_4", "\xff\xfe\xfd\xfc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if iot.ValidDeviceName(s) {
			if len(s) < 4 || len(s) > 32 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@:-") != "" {
				t.Fatalf("DeviceName %q accepted", s)
			}
		}
		if iot.ValidNickname(s) && !utf8.ValidString(s) {
			t.Fatalf("nickname %q of invalid UTF-8 accepted", s)
		}
		_ = iot.ValidIotID(s)
		_ = iot.ValidProductName(s)
	})
}
