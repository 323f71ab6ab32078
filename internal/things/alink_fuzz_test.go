package things

import (
	"encoding/json"
	"testing"
)

// FuzzParseRequest: no payload panics parseRequest, and the id it keeps
// for the reply is always a JSON string (the reply echoes it verbatim).
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"id":"1","version":"1.0","params":{"temperature":21.5},"method":"thing.event.property.post"}`))
	f.Add([]byte(`{"id":123,"params":[],"sys":{"ack":0}}`))
	f.Add([]byte(`{"id":null}`))
	f.Add([]byte(`{"id":1e999999,"method":""}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, _ := parseRequest(payload)
		var id string
		if err := json.Unmarshal(r.id, &id); err != nil {
			t.Fatalf("reply id %q is not a JSON string: %v", r.id, err)
		}
	})
}
