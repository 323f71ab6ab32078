package things

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Alink reply codes the emulator sends (docs/fidelity.md, devices §8.8).
const (
	codeOK             = 200
	codeParamError     = 460
	codeMapTooLarge    = 6106
	codeParamsNotExist = 6304
	codeMethodNotExist = 6300
	codeNoMethod       = 6450
)

// maxPostProperties is the most properties one post may carry (6106).
const maxPostProperties = 200

// request is a parsed Alink request from a device.
type request struct {
	// id is the request's id as JSON: the bytes it came with when it was
	// a string, so the reply echoes it byte for byte; a number becomes
	// its decimal string.
	id     []byte
	method string
	params json.RawMessage
	// noAck is sys.ack 0: the device wants no reply.
	noAck bool
}

// parseRequest reads an Alink request; ok is false when the payload is
// not a JSON object or its id is neither a string nor a number (the
// reply, if any, is then 460 with an empty id).
func parseRequest(payload []byte) (request, bool) {
	var raw struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
		Sys    json.RawMessage `json:"sys"`
	}
	r := request{id: []byte(`""`)}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return r, false
	}
	id := bytes.TrimSpace(raw.ID)
	switch {
	case len(id) > 0 && id[0] == '"':
		r.id = id
	case len(id) > 0 && id[0] != 'n':
		var n json.Number
		if json.Unmarshal(id, &n) != nil {
			// An object, array or boolean id cannot be echoed as the
			// string replies carry: the request is malformed (460).
			return r, false
		}
		r.id = strconv.AppendQuote(nil, n.String())
	}
	r.method, r.params = raw.Method, raw.Params
	// A sys that is not an object is ignored rather than failing the
	// whole request, so the reply still echoes the id.
	var sys struct {
		Ack *json.Number `json:"ack"`
	}
	if len(raw.Sys) > 0 && json.Unmarshal(raw.Sys, &sys) == nil {
		r.noAck = sys.Ack != nil && sys.Ack.String() == "0"
	}
	return r, true
}

// idString is the request id as text (for the message log and replies
// matched by id).
func (r request) idString() string {
	var s string
	if json.Unmarshal(r.id, &s) != nil {
		return ""
	}
	return s
}

// reply is an Alink reply in the key order real cloud replies have:
// code, data, id, message, method, version.
func reply(id []byte, code int, data json.RawMessage, message, method string) []byte {
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	if message == "" && code == codeOK {
		message = "success"
	}
	var b bytes.Buffer
	b.WriteString(`{"code":`)
	b.WriteString(strconv.Itoa(code))
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteString(`,"id":`)
	b.Write(id)
	b.WriteString(`,"message":`)
	m, _ := json.Marshal(message)
	b.Write(m)
	if method != "" {
		b.WriteString(`,"method":`)
		m, _ = json.Marshal(method)
		b.Write(m)
	}
	b.WriteString(`,"version":"1.0"}`)
	return b.Bytes()
}

// downRequest is a cloud → device Alink request in the key order real
// downlinks have: method, id, params, version.
func downRequest(method, id string, params json.RawMessage, version string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"method":`)
	m, _ := json.Marshal(method)
	b.Write(m)
	b.WriteString(`,"id":`)
	b.Write(strconv.AppendQuote(nil, id))
	b.WriteString(`,"params":`)
	if len(params) == 0 {
		params = json.RawMessage(`{}`)
	}
	b.Write(params)
	b.WriteString(`,"version":`)
	b.Write(strconv.AppendQuote(nil, version))
	b.WriteString(`}`)
	return b.Bytes()
}

// decodeJSON decodes with numbers kept as json.Number, as the thing
// model's checks expect.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	return nil
}

var errTrailing = jsonError("unexpected data after the JSON value")

type jsonError string

func (e jsonError) Error() string { return string(e) }
