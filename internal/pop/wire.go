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
// int64, Object or List.
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
	var b bytes.Buffer
	writeJSON(&b, o)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case Object:
		b.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, f.Name)
			b.WriteByte(':')
			writeJSON(b, f.Value)
		}
		b.WriteByte('}')
	case List:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case string:
		writeJSONString(b, v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	default:
		// Only the types both encoders know may appear, or the two
		// formats would drift apart.
		panic(fmt.Sprintf("wire: %T has no JSON and XML form", v))
	}
}

// writeJSONString quotes s as JSON without encoding/json's HTML escaping
// (the gateway sends a raw "&" in Recommend URLs); invalid UTF-8 from a
// percent-decoded parameter becomes U+FFFD, as encoding/json would do.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xF])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript in older engines.
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xF])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// EncodeXML renders o as an XML document with the given root element.
func EncodeXML(root string, o Object) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString("\n<" + root + ">")
	writeXMLFields(&b, o)
	b.WriteString("</" + root + ">")
	return b.Bytes()
}

func writeXMLFields(b *bytes.Buffer, o Object) {
	for _, f := range o {
		if l, ok := f.Value.(List); ok {
			for _, e := range l {
				writeXMLElement(b, f.Name, e)
			}
			continue
		}
		writeXMLElement(b, f.Name, f.Value)
	}
}

func writeXMLElement(b *bytes.Buffer, name string, v any) {
	b.WriteString("<" + name + ">")
	switch v := v.(type) {
	case Object:
		writeXMLFields(b, v)
	case List:
		// A list directly inside a list has no name of its own; reuse the outer one.
		for _, e := range v {
			writeXMLElement(b, name, e)
		}
	case string:
		xml.EscapeText(b, []byte(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	default:
		panic(fmt.Sprintf("wire: %T has no JSON and XML form", v))
	}
	b.WriteString("</" + name + ">")
}
