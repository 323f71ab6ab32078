package pop_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/iot-emulator/iot-emulator/internal/pop"
)

// TestWireEscaping checks the encoders' fast paths against encoding/json
// (without HTML escaping) and encoding/xml on values that need escapes.
func TestWireEscaping(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ back`, "tab\tnew\nline\rret", "ctl\x01\x1f", "a&b<c>d'e",
		"ünïcødé 中文", "bad \xff utf8", "line\u2028sep\u2029", strings.Repeat("x", 600) + `"`} {
		t.Run("the value "+strings.ToValidUTF8(s[:min(len(s), 20)], "?")+" renders as the standard encoders render it", func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(map[string]string{"V": s}); err != nil {
				t.Fatal(err)
			}
			if got := string(pop.EncodeJSON(pop.Object{{Name: "V", Value: s}})); got != strings.TrimSuffix(want.String(), "\n") {
				t.Errorf("JSON %s, want %s", got, want.String())
			}
			var x bytes.Buffer
			xml.EscapeText(&x, []byte(s))
			wantXML := `<?xml version="1.0" encoding="UTF-8"?>` + "\n<R><V>" + x.String() + "</V></R>"
			if got := string(pop.EncodeXML("R", pop.Object{{Name: "V", Value: s}})); got != wantXML {
				t.Errorf("XML %s, want %s", got, wantXML)
			}
		})
	}
}
