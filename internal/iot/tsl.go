package iot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// DefaultTSLSchema is the schema URL the platform writes into exported TSL.
const DefaultTSLSchema = "https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json"

// Limits of a thing model module (things.md §8.4).
const (
	MaxTSLBytes      = 512 * 1024
	MaxFeatures      = 300
	MaxServiceParams = 100 // input, and separately output, per service
	MaxEventParams   = 100
	MaxModuleParams  = 300 // in/out params over all custom services and events
)

// The identifiers, methods and defaults of the TSL that the platform fixes.
const (
	maxIdentifierLength = 50
	builtinPostEvent    = "post"
	builtinSetService   = "set"
	builtinGetService   = "get"
	builtinPostMethod   = "thing.event.property.post"
	builtinSetMethod    = "thing.service.property.set"
	builtinGetMethod    = "thing.service.property.get"
	defaultAccessMode   = "rw"
	defaultEventType    = "info"
	defaultCallType     = "async"
	readOnlyAccessMode  = "r"
	readWriteAccessMode = "rw"
	eventMethodPrefix   = "thing.event."
	eventMethodSuffix   = ".post"
	serviceMethodPrefix = "thing.service."
)

// ThingModel is a product's thing model in Alibaba's TSL JSON (things.md §8.1).
type ThingModel struct {
	Schema     string            `json:"schema,omitempty"`
	Profile    map[string]string `json:"profile,omitempty"`
	Properties []Property        `json:"properties"`
	Events     []Event           `json:"events"`
	Services   []Service         `json:"services"`
}

// Property is one property of a thing model.
type Property struct {
	Identifier string   `json:"identifier"`
	Name       string   `json:"name"`
	AccessMode string   `json:"accessMode"` // "r" or "rw"
	Required   bool     `json:"required"`
	Desc       string   `json:"desc,omitempty"`
	DataType   DataType `json:"dataType"`
}

// DataType is a TSL data type with its specs.
type DataType struct {
	Type string `json:"type"` // int float double text date bool enum struct array
	// Specs is kept verbatim, so an imported model exports as it came in.
	// Numbers in specs are strings ("min":"-40"); struct specs is an ARRAY
	// of Param.
	Specs json.RawMessage `json:"specs,omitempty"`
}

// Param is an input or output parameter of a service or event, or a
// member of a struct. In the built-in "get" service's inputData a Param
// with an empty DataType.Type stands for a bare identifier string.
type Param struct {
	Identifier string   `json:"identifier"`
	Name       string   `json:"name"`
	DataType   DataType `json:"dataType"`
}

// Event is one event of a thing model.
type Event struct {
	Identifier string  `json:"identifier"`
	Name       string  `json:"name"`
	Desc       string  `json:"desc,omitempty"`
	Type       string  `json:"type"` // info alert error
	Required   bool    `json:"required"`
	Method     string  `json:"method,omitempty"`
	OutputData []Param `json:"outputData"`
}

// Service is one service of a thing model.
type Service struct {
	Identifier string `json:"identifier"`
	Name       string `json:"name"`
	Desc       string `json:"desc,omitempty"`
	Required   bool   `json:"required"`
	CallType   string `json:"callType"` // async sync
	Method     string `json:"method,omitempty"`
	// InputData of the built-in "get" service is a list of identifier
	// strings in real exports; they are read as Params with only an
	// Identifier and written back as strings.
	InputData  []Param `json:"inputData"`
	OutputData []Param `json:"outputData"`
}

// serviceJSON is Service without its methods, so that (Un)MarshalJSON can
// reuse the default coding for everything but inputData.
type serviceJSON struct {
	Identifier string            `json:"identifier"`
	Name       string            `json:"name"`
	Desc       string            `json:"desc,omitempty"`
	Required   bool              `json:"required"`
	CallType   string            `json:"callType"`
	Method     string            `json:"method,omitempty"`
	InputData  []json.RawMessage `json:"inputData"`
	OutputData []Param           `json:"outputData"`
}

// UnmarshalJSON accepts identifier strings in inputData besides params,
// because the built-in "get" service is exported that way.
func (s *Service) UnmarshalJSON(data []byte) error {
	var raw serviceJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	in := make([]Param, 0, len(raw.InputData))
	for i, r := range raw.InputData {
		var p Param
		var id string
		if json.Unmarshal(r, &id) == nil {
			p.Identifier = id
		} else if err := json.Unmarshal(r, &p); err != nil {
			return fmt.Errorf("inputData[%d]: must be a param object or an identifier string", i)
		}
		in = append(in, p)
	}
	if raw.InputData == nil {
		in = nil
	}
	*s = Service{Identifier: raw.Identifier, Name: raw.Name, Desc: raw.Desc, Required: raw.Required,
		CallType: raw.CallType, Method: raw.Method, InputData: in, OutputData: raw.OutputData}
	return nil
}

// MarshalJSON writes typeless input params as bare identifier strings, the
// way "get" came in.
func (s Service) MarshalJSON() ([]byte, error) {
	in := make([]json.RawMessage, 0, len(s.InputData))
	for _, p := range s.InputData {
		var b []byte
		var err error
		if p.DataType.Type == "" {
			b, err = marshalNoEscape(p.Identifier)
		} else {
			b, err = marshalNoEscape(p)
		}
		if err != nil {
			return nil, err
		}
		in = append(in, b)
	}
	out := s.OutputData
	if out == nil {
		out = []Param{}
	}
	return marshalNoEscape(serviceJSON{Identifier: s.Identifier, Name: s.Name, Desc: s.Desc, Required: s.Required,
		CallType: s.CallType, Method: s.Method, InputData: in, OutputData: out})
}

// ErrTSL wraps every error ParseThingModel returns (errors.Is(err, ErrTSL));
// the message says what is wrong, naming the path (e.g.
// `properties[2].dataType.specs.min: "abc" is not a number`).
var ErrTSL = errors.New("invalid TSL")

func tslErr(path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrTSL, msg)
}

var identifierRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,50}$`)

// ParseThingModel decodes and checks a TSL document: a JSON object with
// properties/events/services arrays (absent arrays = empty), identifiers
// matching ^[A-Za-z0-9_]{1,50}$ and unique over properties, events and
// services (the built-in event "post" and services "set"/"get" excepted:
// they are the platform's own, not user features), accessMode r|rw
// (default rw), known data types with specs valid for the type, event type
// info/alert/error (default info), callType async/sync (default async), and
// the limits of §8.4. Empty methods get their defaults
// (thing.event.{id}.post / thing.service.{id}; the built-ins their
// property methods), and nil arrays become empty ones, so that JSON
// reproduces the model exactly.
func ParseThingModel(data []byte) (ThingModel, error) {
	if len(data) > MaxTSLBytes {
		return ThingModel{}, tslErr("", "the TSL JSON is %d bytes, more than %d", len(data), MaxTSLBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ThingModel{}, tslErr("", "the TSL must be a JSON object")
	}
	var m ThingModel
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return ThingModel{}, tslErr("", "%s", jsonMessage(err))
	}
	if err := m.normalizeAndCheck(); err != nil {
		return ThingModel{}, err
	}
	return m, nil
}

// jsonMessage shortens encoding/json's errors to what a user can act on.
func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s: %s cannot be %s", field, te.Value, te.Type.String())
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func (m *ThingModel) normalizeAndCheck() error {
	if m.Properties == nil {
		m.Properties = []Property{}
	}
	if m.Events == nil {
		m.Events = []Event{}
	}
	if m.Services == nil {
		m.Services = []Service{}
	}
	if n := len(m.Properties) + len(m.Events) + len(m.Services); n > MaxFeatures {
		return tslErr("", "%d features, more than %d", n, MaxFeatures)
	}
	seen := map[string]string{}
	claim := func(kind, id, path string) error {
		key := id
		if (kind == "events" && id == builtinPostEvent) || (kind == "services" && (id == builtinSetService || id == builtinGetService)) {
			key = kind + "/" + id
		}
		if first, dup := seen[key]; dup {
			return tslErr(path+".identifier", "%q is already used by %s", id, first)
		}
		seen[key] = path
		return nil
	}
	params := 0
	for i := range m.Properties {
		p := &m.Properties[i]
		path := fmt.Sprintf("properties[%d]", i)
		if err := checkIdentifier(path, p.Identifier); err != nil {
			return err
		}
		if err := claim("properties", p.Identifier, path); err != nil {
			return err
		}
		switch p.AccessMode {
		case "":
			p.AccessMode = defaultAccessMode
		case readOnlyAccessMode, readWriteAccessMode:
		default:
			return tslErr(path+".accessMode", "%q is not r or rw", p.AccessMode)
		}
		if err := checkDataType(path+".dataType", &p.DataType, false); err != nil {
			return err
		}
	}
	for i := range m.Events {
		e := &m.Events[i]
		path := fmt.Sprintf("events[%d]", i)
		if err := checkIdentifier(path, e.Identifier); err != nil {
			return err
		}
		if err := claim("events", e.Identifier, path); err != nil {
			return err
		}
		switch e.Type {
		case "":
			e.Type = defaultEventType
		case "info", "alert", "error":
		default:
			return tslErr(path+".type", "%q is not info, alert or error", e.Type)
		}
		builtin := e.Identifier == builtinPostEvent
		if e.Method == "" {
			e.Method = eventMethodPrefix + e.Identifier + eventMethodSuffix
			if builtin {
				e.Method = builtinPostMethod
			}
		}
		if e.OutputData == nil {
			e.OutputData = []Param{}
		}
		// The built-in post lists every property, so it is bounded by the
		// feature count rather than the param limits.
		if !builtin {
			if len(e.OutputData) > MaxEventParams {
				return tslErr(path+".outputData", "%d params, more than %d", len(e.OutputData), MaxEventParams)
			}
			params += len(e.OutputData)
		}
		if err := checkParams(path+".outputData", e.OutputData, false); err != nil {
			return err
		}
	}
	for i := range m.Services {
		s := &m.Services[i]
		path := fmt.Sprintf("services[%d]", i)
		if err := checkIdentifier(path, s.Identifier); err != nil {
			return err
		}
		if err := claim("services", s.Identifier, path); err != nil {
			return err
		}
		switch s.CallType {
		case "":
			s.CallType = defaultCallType
		case "async", "sync":
		default:
			return tslErr(path+".callType", "%q is not async or sync", s.CallType)
		}
		builtin := s.Identifier == builtinSetService || s.Identifier == builtinGetService
		if s.Method == "" {
			switch s.Identifier {
			case builtinSetService:
				s.Method = builtinSetMethod
			case builtinGetService:
				s.Method = builtinGetMethod
			default:
				s.Method = serviceMethodPrefix + s.Identifier
			}
		}
		if s.InputData == nil {
			s.InputData = []Param{}
		}
		if s.OutputData == nil {
			s.OutputData = []Param{}
		}
		if !builtin {
			for _, list := range []struct {
				name string
				ps   []Param
			}{{"inputData", s.InputData}, {"outputData", s.OutputData}} {
				if len(list.ps) > MaxServiceParams {
					return tslErr(path+"."+list.name, "%d params, more than %d", len(list.ps), MaxServiceParams)
				}
			}
			params += len(s.InputData) + len(s.OutputData)
		}
		if err := checkParams(path+".inputData", s.InputData, s.Identifier == builtinGetService); err != nil {
			return err
		}
		if err := checkParams(path+".outputData", s.OutputData, false); err != nil {
			return err
		}
	}
	if params > MaxModuleParams {
		return tslErr("", "%d params over all services and events, more than %d", params, MaxModuleParams)
	}
	return nil
}

func checkIdentifier(path, id string) error {
	if !identifierRE.MatchString(id) {
		if id == "" {
			return tslErr(path+".identifier", "is missing")
		}
		return tslErr(path+".identifier", "%q must be 1 to %d letters, digits or underscores", id, maxIdentifierLength)
	}
	return nil
}

// checkParams checks a param list; refs allows bare identifiers (typeless
// params), which only the built-in get service's inputData may hold.
func checkParams(path string, ps []Param, refs bool) error {
	seen := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		ppath := fmt.Sprintf("%s[%d]", path, i)
		if err := checkIdentifier(ppath, p.Identifier); err != nil {
			return err
		}
		if seen[p.Identifier] {
			return tslErr(ppath+".identifier", "%q is already in the list", p.Identifier)
		}
		seen[p.Identifier] = true
		if refs && p.DataType.Type == "" {
			// A bare identifier keeps nothing else, so that it writes back
			// as the string it was.
			*p = Param{Identifier: p.Identifier}
			continue
		}
		if err := checkDataType(ppath+".dataType", &p.DataType, false); err != nil {
			return err
		}
	}
	return nil
}

var scalarTypes = map[string]bool{"int": true, "float": true, "double": true, "text": true, "date": true, "bool": true, "enum": true}

// checkDataType checks the type and its specs; inStruct limits the type to
// scalars, since struct members cannot nest.
func checkDataType(path string, dt *DataType, inStruct bool) error {
	if isNull(dt.Specs) {
		dt.Specs = nil
	} else {
		// Compacted, so that a parsed model equals the model parsed back
		// from its own JSON; key order and content stay as written.
		var buf bytes.Buffer
		if err := json.Compact(&buf, dt.Specs); err == nil {
			dt.Specs = json.RawMessage(buf.Bytes())
		}
	}
	spath := path + ".specs"
	switch dt.Type {
	case "":
		return tslErr(path+".type", "is missing")
	case "int", "float", "double":
		obj, err := specsObject(dt.Specs)
		if err != nil {
			return tslErr(spath, "%v", err)
		}
		for _, k := range []string{"min", "max", "step"} {
			if raw, ok := obj[k]; ok && !isNull(raw) {
				if s, ok := specText(raw); !ok || !isJSONNumber(s) {
					return tslErr(spath+"."+k, "%s is not a number", raw)
				}
			}
		}
		for _, k := range []string{"unit", "unitName"} {
			if raw, ok := obj[k]; ok && !isNull(raw) {
				var s string
				if json.Unmarshal(raw, &s) != nil {
					return tslErr(spath+"."+k, "%s is not a string", raw)
				}
			}
		}
		lo, hi, err := numberRange(dt.Specs)
		if err != nil {
			return tslErr(spath, "%v", err)
		}
		if lo != nil && hi != nil && *lo > *hi {
			return tslErr(spath, "min %s is greater than max %s", formatFloat(*lo), formatFloat(*hi))
		}
	case "text":
		obj, err := specsObject(dt.Specs)
		if err != nil {
			return tslErr(spath, "%v", err)
		}
		if raw, ok := obj["length"]; ok && !isNull(raw) {
			n, ok := specInt(obj, "length")
			if !ok || n < 1 || n > MaxTextLength {
				return tslErr(spath+".length", "%s is not an integer from 1 to %d", raw, MaxTextLength)
			}
		}
	case "date":
		if _, err := specsObject(dt.Specs); err != nil {
			return tslErr(spath, "%v", err)
		}
	case "bool", "enum":
		obj, err := specsObject(dt.Specs)
		if err != nil {
			return tslErr(spath, "%v", err)
		}
		if _, err := enumKeys(dt.Specs); err != nil {
			return tslErr(spath, "%v", err)
		}
		for _, k := range sortedKeys(obj) {
			var name string
			if json.Unmarshal(obj[k], &name) != nil {
				return tslErr(spath+"."+k, "%s is not a string", obj[k])
			}
			if dt.Type == "bool" && k != "0" && k != "1" {
				return tslErr(spath+"."+k, "a bool has only the keys 0 and 1")
			}
		}
		if dt.Type == "enum" && len(obj) > MaxEnumItems {
			return tslErr(spath, "%d enum items, more than %d", len(obj), MaxEnumItems)
		}
	case "struct":
		if inStruct {
			return tslErr(path+".type", "a struct member must be one of int, float, double, text, date, bool, enum")
		}
		members, err := structMembers(dt.Specs)
		if err != nil {
			return tslErr(spath, "%v", err)
		}
		if len(members) > MaxStructFields {
			return tslErr(spath, "%d members, more than %d", len(members), MaxStructFields)
		}
		seen := map[string]bool{}
		for i := range members {
			mpath := fmt.Sprintf("%s[%d]", spath, i)
			if err := checkIdentifier(mpath, members[i].Identifier); err != nil {
				return err
			}
			if seen[members[i].Identifier] {
				return tslErr(mpath+".identifier", "%q is already in the struct", members[i].Identifier)
			}
			seen[members[i].Identifier] = true
			if !scalarTypes[members[i].DataType.Type] && members[i].DataType.Type != "" {
				return tslErr(mpath+".dataType.type", "a struct member must be one of int, float, double, text, date, bool, enum")
			}
			if err := checkDataType(mpath+".dataType", &members[i].DataType, true); err != nil {
				return err
			}
		}
	case "array":
		if inStruct {
			return tslErr(path+".type", "a struct member must be one of int, float, double, text, date, bool, enum")
		}
		obj, err := specsObject(dt.Specs)
		if err != nil {
			return tslErr(spath, "%v", err)
		}
		if raw, ok := obj["size"]; ok && !isNull(raw) {
			n, ok := specInt(obj, "size")
			if !ok || n < 1 || n > MaxArraySize {
				return tslErr(spath+".size", "%s is not an integer from 1 to %d", raw, MaxArraySize)
			}
		}
		raw, ok := obj["item"]
		if !ok || isNull(raw) {
			return tslErr(spath+".item", "is missing")
		}
		var item DataType
		if err := json.Unmarshal(raw, &item); err != nil {
			return tslErr(spath+".item", "must be an object with a type")
		}
		switch item.Type {
		case "int", "float", "double", "text", "struct":
		default:
			return tslErr(spath+".item.type", "%q is not one of int, float, double, text, struct", item.Type)
		}
		if err := checkDataType(spath+".item", &item, false); err != nil {
			return err
		}
	default:
		return tslErr(path+".type", "%q is not a known data type", dt.Type)
	}
	return nil
}

// JSON is the model as TSL JSON: the schema defaults to DefaultTSLSchema and
// profile.productKey is set when productKey is given. The output is
// deterministic: struct fields in declaration order, maps sorted.
func (m ThingModel) JSON(productKey string) []byte {
	out := m
	if out.Schema == "" {
		out.Schema = DefaultTSLSchema
	}
	if productKey != "" {
		profile := make(map[string]string, len(m.Profile)+1)
		for k, v := range m.Profile {
			profile[k] = v
		}
		profile["productKey"] = productKey
		out.Profile = profile
	}
	if out.Properties == nil {
		out.Properties = []Property{}
	}
	if out.Events == nil {
		out.Events = make([]Event, 0)
	} else {
		out.Events = make([]Event, len(m.Events))
		copy(out.Events, m.Events)
		for i := range out.Events {
			if out.Events[i].OutputData == nil {
				out.Events[i].OutputData = []Param{}
			}
		}
	}
	if out.Services == nil {
		out.Services = []Service{}
	}
	b, err := marshalNoEscape(out)
	if err != nil {
		// Only raw specs that are not JSON can fail, which a parsed model
		// never holds; an empty model is the honest fallback.
		return []byte(`{"schema":"` + DefaultTSLSchema + `","properties":[],"events":[],"services":[]}`)
	}
	return b
}

// Simple keeps only identifiers and data types of properties, events,
// services and their params (GetThingModelTsl Simple=true).
func (m ThingModel) Simple() ThingModel {
	simple := func(ps []Param) []Param {
		out := make([]Param, len(ps))
		for i, p := range ps {
			out[i] = Param{Identifier: p.Identifier, DataType: p.DataType}
		}
		return out
	}
	out := ThingModel{Schema: m.Schema, Profile: m.Profile,
		Properties: make([]Property, len(m.Properties)), Events: make([]Event, len(m.Events)), Services: make([]Service, len(m.Services))}
	for i, p := range m.Properties {
		out.Properties[i] = Property{Identifier: p.Identifier, DataType: p.DataType}
	}
	for i, e := range m.Events {
		out.Events[i] = Event{Identifier: e.Identifier, OutputData: simple(e.OutputData)}
	}
	for i, s := range m.Services {
		out.Services[i] = Service{Identifier: s.Identifier, InputData: simple(s.InputData), OutputData: simple(s.OutputData)}
	}
	return out
}

// Property finds a property by identifier.
func (m ThingModel) Property(id string) (Property, bool) {
	for _, p := range m.Properties {
		if p.Identifier == id {
			return p, true
		}
	}
	return Property{}, false
}

// Event finds an event by identifier.
func (m ThingModel) Event(id string) (Event, bool) {
	for _, e := range m.Events {
		if e.Identifier == id {
			return e, true
		}
	}
	return Event{}, false
}

// Service finds a service by identifier.
func (m ThingModel) Service(id string) (Service, bool) {
	for _, s := range m.Services {
		if s.Identifier == id {
			return s, true
		}
	}
	return Service{}, false
}

// NeverPublishedJSON is QueryThingModelPublished's answer for a product
// that never published a model: an empty module with an empty _ppk
// (things §5.3, inferred).
func NeverPublishedJSON(productKey string) []byte {
	b, _ := json.Marshal(map[string]any{"_ppk": map[string]any{}, "events": []any{}, "productKey": productKey, "properties": []any{}, "services": []any{}})
	return b
}

// ThingModelJSON renders the model in the internal ThingModelJson layout of
// things.md §8.5: keys sorted alphabetically, upper-case dataType,
// dataSpecs (numbers, text, date, array) or dataSpecsList (bool, enum,
// struct), rwFlag READ_ONLY/READ_WRITE, services with
// serviceName/inputParams/outputParams, events with eventName/outputdata,
// "_ppk" {"version","description"} only when version != "" (a published
// version), "productKey", and "properties"/"events"/"services"/
// "functionBlocks" always arrays. The real layout is not fully known, so
// the aim is internal consistency: every param renders like a property.
func ThingModelJSON(m ThingModel, productKey, version, description string) []byte {
	root := map[string]any{
		"productKey":     productKey,
		"properties":     []any{},
		"events":         []any{},
		"services":       []any{},
		"functionBlocks": []any{},
	}
	if version != "" {
		root["_ppk"] = map[string]any{"version": version, "description": description}
	}
	props := make([]any, 0, len(m.Properties))
	for _, p := range m.Properties {
		rw := "READ_WRITE"
		if p.AccessMode == readOnlyAccessMode {
			rw = "READ_ONLY"
		}
		o := map[string]any{
			"identifier":  p.Identifier,
			"name":        p.Name,
			"description": p.Desc,
			"productKey":  productKey,
			"required":    p.Required,
			"std":         p.Required,
			"custom":      !p.Required,
			"customFlag":  !p.Required,
			"rwFlag":      rw,
		}
		addDataType(o, p.DataType)
		props = append(props, o)
	}
	root["properties"] = props
	events := make([]any, 0, len(m.Events))
	for _, e := range m.Events {
		typ := e.Type
		if typ == "" {
			typ = defaultEventType
		}
		events = append(events, map[string]any{
			"identifier":  e.Identifier,
			"eventName":   e.Name,
			"eventType":   strings.ToUpper(typ) + "_EVENT_TYPE",
			"description": e.Desc,
			"productKey":  productKey,
			"required":    e.Required,
			"std":         e.Required,
			"custom":      !e.Required,
			"method":      e.Method,
			"outputdata":  renderParams(m, e.OutputData, "PARAM_OUTPUT"),
		})
	}
	root["events"] = events
	services := make([]any, 0, len(m.Services))
	for _, s := range m.Services {
		call := s.CallType
		if call == "" {
			call = defaultCallType
		}
		services = append(services, map[string]any{
			"identifier":   s.Identifier,
			"serviceName":  s.Name,
			"callType":     strings.ToUpper(call),
			"description":  s.Desc,
			"productKey":   productKey,
			"required":     s.Required,
			"std":          s.Required,
			"custom":       !s.Required,
			"method":       s.Method,
			"inputParams":  renderParams(m, s.InputData, "PARAM_INPUT"),
			"outputParams": renderParams(m, s.OutputData, "PARAM_OUTPUT"),
		})
	}
	root["services"] = services
	b, err := marshalNoEscape(root)
	if err != nil {
		return []byte(`{"events":[],"functionBlocks":[],"productKey":` + strconv.Quote(productKey) + `,"properties":[],"services":[]}`)
	}
	return b
}

// renderParams renders params in order (paraOrder); a bare identifier (the
// get service's input) renders as the property it names.
func renderParams(m ThingModel, ps []Param, direction string) []any {
	out := make([]any, 0, len(ps))
	for i, p := range ps {
		if p.DataType.Type == "" {
			if prop, ok := m.Property(p.Identifier); ok {
				p = Param{Identifier: prop.Identifier, Name: prop.Name, DataType: prop.DataType}
			}
		}
		o := map[string]any{
			"identifier": p.Identifier,
			"name":       p.Name,
			"paraOrder":  i,
			"direction":  direction,
		}
		addDataType(o, p.DataType)
		out = append(out, o)
	}
	return out
}

// addDataType sets dataType and dataSpecs or dataSpecsList on o.
func addDataType(o map[string]any, dt DataType) {
	if dt.Type == "" {
		return
	}
	upper := strings.ToUpper(dt.Type)
	o["dataType"] = upper
	if specs, ok := dataSpecs(dt); ok {
		o["dataSpecs"] = specs
	}
	if list, ok := dataSpecsList(dt); ok {
		o["dataSpecsList"] = list
	}
}

func dataSpecs(dt DataType) (map[string]any, bool) {
	upper := strings.ToUpper(dt.Type)
	obj, _ := specsObject(dt.Specs)
	text := func(k string) string { s, _ := specText(obj[k]); return s }
	switch dt.Type {
	case "int", "float", "double":
		out := map[string]any{"dataType": upper, "custom": true}
		for _, k := range []string{"min", "max", "step", "unit", "unitName"} {
			if s := text(k); s != "" {
				out[k] = s
			}
		}
		return out, true
	case "text":
		length := text("length")
		if length == "" {
			length = strconv.Itoa(MaxTextLength)
		}
		return map[string]any{"dataType": upper, "length": length, "custom": true}, true
	case "date":
		return map[string]any{"dataType": upper, "custom": true}, true
	case "array":
		size, item, _ := arraySpecs(dt.Specs)
		out := map[string]any{"dataType": upper, "size": strconv.Itoa(size), "custom": true}
		if item.Type != "" {
			child := map[string]any{}
			addDataType(child, item)
			out["childDataType"] = child["dataType"]
			if s, ok := child["dataSpecs"]; ok {
				out["childSpecsDTO"] = s
			}
			if l, ok := child["dataSpecsList"]; ok {
				out["childSpecsDTOList"] = l
			}
		}
		return out, true
	}
	return nil, false
}

func dataSpecsList(dt DataType) ([]any, bool) {
	upper := strings.ToUpper(dt.Type)
	switch dt.Type {
	case "bool", "enum":
		obj, _ := specsObject(dt.Specs)
		type item struct {
			value int64
			name  string
		}
		items := make([]item, 0, len(obj))
		for k, raw := range obj {
			n, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				continue
			}
			name, _ := specText(raw)
			items = append(items, item{n, name})
		}
		sort.Slice(items, func(i, j int) bool { return items[i].value < items[j].value })
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = map[string]any{"dataType": upper, "name": it.name, "value": it.value, "custom": true}
		}
		return out, true
	case "struct":
		members, _ := structMembers(dt.Specs)
		out := make([]any, len(members))
		for i, mb := range members {
			o := map[string]any{"identifier": mb.Identifier, "name": mb.Name, "custom": true}
			addDataType(o, mb.DataType)
			out[i] = o
		}
		return out, true
	}
	return nil, false
}
