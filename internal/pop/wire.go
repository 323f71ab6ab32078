package pop

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Object is one response value: an ordered set of fields that renders as a
// JSON object or as XML child elements. Every action builds exactly one,
// and the two encoders below turn it into either format, so JSON and XML
// can never drift apart.
type Object []Field

// Field is one named value of an Object. Value is a string, bool, int,
// int64, Object or List, or a *string, which renders as the string it
// points to: a field taken from a struct then costs no allocation (a
// string in an interface does), which adds up in a page of 50 devices.
type Field struct {
	Name  string
	Value any
}

// List is a JSON array. In XML it becomes one element per item, each named
// after the field holding the list (docs/fidelity.md, protocol §8.1), so
// {"ValidList":{"Name":["a","b"]}} is <ValidList><Name>a</Name><Name>b</Name></ValidList>.
type List []any

// Strings makes a List of strings that is never null in JSON.
func Strings(s []string) List {
	l := make(List, len(s))
	for i, v := range s {
		l[i] = v
	}
	return l
}

// EncodeJSON renders o as a JSON object.
func EncodeJSON(o Object) []byte {
	// One allocation for a typical answer: a status poll is ~250 bytes.
	return AppendJSON(make([]byte, 0, 512), o)
}

// AppendJSON is EncodeJSON into b, for a caller that reuses its buffers.
func AppendJSON(b []byte, o Object) []byte { return appendJSON(b, o) }

func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case Object:
		b = append(b, '{')
		for i, f := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.Name)
			b = append(b, ':')
			b = appendJSON(b, f.Value)
		}
		return append(b, '}')
	case List:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendJSONString(b, v)
	case *string:
		return appendJSONString(b, *v)
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	default:
		// Only the types both encoders know may appear, or the two
		// formats would drift apart.
		panic(fmt.Sprintf("wire: %T has no JSON and XML form", v))
	}
}

// jsonSafe reports the printable ASCII bytes JSON carries as they are.
func jsonSafe(c byte) bool { return c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' }

// appendJSONString quotes s as JSON without encoding/json's HTML escaping
// (the gateway sends a raw "&" in Recommend URLs); invalid UTF-8 from a
// percent-decoded parameter becomes U+FFFD, as encoding/json would do.
// Runs of bytes that need no escape (nearly every value) are copied whole.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe(c) {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript in older engines.
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xF])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// EncodeXML renders o as an XML document with the given root element.
func EncodeXML(root string, o Object) []byte {
	return AppendXML(make([]byte, 0, 1024), root, o)
}

// AppendXML is EncodeXML into b, for a caller that reuses its buffers.
func AppendXML(b []byte, root string, o Object) []byte {
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`...)
	b = append(b, "\n<"...)
	b = append(b, root...)
	b = append(b, '>')
	b = appendXMLFields(b, o)
	b = append(b, "</"...)
	b = append(b, root...)
	return append(b, '>')
}

func appendXMLFields(b []byte, o Object) []byte {
	for _, f := range o {
		if l, ok := f.Value.(List); ok {
			for _, e := range l {
				b = appendXMLElement(b, f.Name, e)
			}
			continue
		}
		b = appendXMLElement(b, f.Name, f.Value)
	}
	return b
}

func appendXMLElement(b []byte, name string, v any) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	switch v := v.(type) {
	case Object:
		b = appendXMLFields(b, v)
	case List:
		// A list directly inside a list has no name of its own; reuse the outer one.
		for _, e := range v {
			b = appendXMLElement(b, name, e)
		}
	case string:
		b = appendXMLText(b, v)
	case *string:
		b = appendXMLText(b, *v)
	case bool:
		b = strconv.AppendBool(b, v)
	case int:
		b = strconv.AppendInt(b, int64(v), 10)
	case int64:
		b = strconv.AppendInt(b, v, 10)
	default:
		panic(fmt.Sprintf("wire: %T has no JSON and XML form", v))
	}
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendXMLText escapes s as encoding/xml.EscapeText does; text without a
// byte to escape (nearly every value) is copied whole, with no allocation.
func appendXMLText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<' || c == '>' || c == '&' || c == '\'' || c == '"' || c == '\t' || c == '\n' || c == '\r' || c < 0x20 || c >= utf8.RuneSelf:
			var w bytes.Buffer
			xml.EscapeText(&w, []byte(s))
			return append(b, w.Bytes()...)
		}
	}
	return append(b, s...)
}
