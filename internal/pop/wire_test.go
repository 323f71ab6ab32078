package pop_test

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/pop"
)

// decodeBoth renders one string field in both formats and decodes it back.
func decodeBoth(t *testing.T, s string) (fromJSON, fromXML string) {
	t.Helper()
	o := pop.Object{{Name: "V", Value: s}}
	var j struct{ V string }
	require.NoError(t, json.Unmarshal(pop.EncodeJSON(o), &j), "%q", pop.EncodeJSON(o))
	var x struct{ V string }
	require.NoError(t, xml.Unmarshal(pop.EncodeXML("R", o), &x))
	return j.V, x.V
}

func TestWireStrings(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " backslash \ slash /`, "a&b<c>d", "tab\tnew\nline\r", "\x00\x1f", "中文 ランプ", "\u2028\u2029"} {
		t.Run("the string "+strconvQuote(s)+" survives JSON and XML", func(t *testing.T) {
			j, x := decodeBoth(t, s)
			assert.Equal(t, s, j)
			if s != "\x00\x1f" { // XML 1.0 cannot carry these control characters at all
				assert.Equal(t, s, x)
			}
		})
	}
	t.Run("an & stays raw in JSON, as the gateway's Recommend URLs are", func(t *testing.T) {
		assert.Equal(t, `{"V":"a&b"}`, string(pop.EncodeJSON(pop.Object{{Name: "V", Value: "a&b"}})))
	})
	t.Run("a *string renders in both formats exactly as the string it points to", func(t *testing.T) {
		s := `a"b<c>&中`
		for _, enc := range []func(pop.Object) []byte{pop.EncodeJSON, func(o pop.Object) []byte { return pop.EncodeXML("R", o) }} {
			assert.Equal(t, string(enc(pop.Object{{Name: "V", Value: s}})), string(enc(pop.Object{{Name: "V", Value: &s}})))
		}
	})
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// FuzzWireJSON checks that any string, valid UTF-8 or not, renders as JSON
// that decodes to what encoding/json would make of it.
func FuzzWireJSON(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff\xfe", "中\x80文", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want struct{ V string }
		require.NoError(t, json.Unmarshal(pop.EncodeJSON(pop.Object{{Name: "V", Value: s}}), &got))
		ref, _ := json.Marshal(struct{ V string }{s})
		require.NoError(t, json.Unmarshal(ref, &want))
		assert.Equal(t, want.V, got.V)
	})
}

// FuzzWireXML checks decode∘encode is identity for XML: any valid UTF-8
// string without characters XML 1.0 cannot carry renders as an element
// that encoding/xml decodes back to the same string.
func FuzzWireXML(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "]]>", "中文", "\t\n", `"'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
			return r < 0x20 && r != '\t' && r != '\n' || r == '\r' || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF)
		}) {
			// Outside XML's character set (and \r, which XML normalises):
			// the encoder only has to stay well-formed.
			require.NoError(t, xml.Unmarshal(pop.EncodeXML("R", pop.Object{{Name: "V", Value: s}}), new(struct{ V string })))
			return
		}
		var got struct{ V string }
		require.NoError(t, xml.Unmarshal(pop.EncodeXML("R", pop.Object{{Name: "V", Value: s}}), &got))
		assert.Equal(t, s, got.V)
	})
}
