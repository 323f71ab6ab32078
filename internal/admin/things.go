package admin

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/things"
)

// thingRoutes mounts the device-side routes: virtual devices, publishing
// as a device, property sets, service calls, deliveries, the latest
// properties, thing models and the message log. ?accessKeyId= picks the
// account when loose accounts share a ProductKey.
func (a *api) thingRoutes(r chi.Router) {
	r.Post("/devices/{productKey}/{deviceName}/virtual", a.setVirtual)
	r.Delete("/devices/{productKey}/{deviceName}/virtual", a.removeVirtual)
	r.Post("/devices/{productKey}/{deviceName}/publish", a.publishAs)
	r.Post("/devices/{productKey}/{deviceName}/deliver", a.deliver)
	r.Get("/devices/{productKey}/{deviceName}/properties", a.properties)
	r.Post("/devices/{productKey}/{deviceName}/properties", a.setProperty)
	r.Post("/devices/{productKey}/{deviceName}/services/{identifier}", a.invokeService)
	r.Get("/products/{productKey}/thing-model", a.thingModel)
	r.Get("/messages", a.messages)
	r.Delete("/messages", a.clearMessages)
}

// device names the device of a route.
func device(r *http.Request) (ak, pk, dn string) {
	return r.URL.Query().Get("accessKeyId"), chi.URLParam(r, "productKey"), chi.URLParam(r, "deviceName")
}

func (a *api) setVirtual(w http.ResponseWriter, r *http.Request) {
	cfg := things.VirtualConfig{Online: true}
	if err := readJSON(r, &cfg); err != nil {
		a.failure(w, r, err)
		return
	}
	ak, pk, dn := device(r)
	out, err := a.p.SetVirtual(r.Context(), ak, pk, dn, cfg)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"productKey": pk, "deviceName": dn, "virtual": out})
}

func (a *api) removeVirtual(w http.ResponseWriter, r *http.Request) {
	ak, pk, dn := device(r)
	if err := a.p.RemoveVirtual(r.Context(), ak, pk, dn); err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"productKey": pk, "deviceName": dn, "virtual": nil})
}

// payloadBody is a message given to the admin API: the payload as text,
// or base64 with "encoding":"base64" (a payload that is valid base64 of
// non-text bytes is also read as base64).
type payloadBody struct {
	Topic    string `json:"topic"`
	Payload  string `json:"payload"`
	Encoding string `json:"encoding,omitempty"`
	QoS      *int   `json:"qos,omitempty"`
}

func (a *api) readPayload(w http.ResponseWriter, r *http.Request) (payloadBody, []byte, bool) {
	var b payloadBody
	if err := readJSON(r, &b); err != nil {
		a.failure(w, r, err)
		return b, nil, false
	}
	if b.Topic == "" {
		a.failure(w, r, inputErr("topic is required"))
		return b, nil, false
	}
	data, err := payloadBytes(b.Payload, b.Encoding)
	if err != nil {
		a.failure(w, r, err)
		return b, nil, false
	}
	return b, data, true
}

func (a *api) publishAs(w http.ResponseWriter, r *http.Request) {
	b, data, ok := a.readPayload(w, r)
	if !ok {
		return
	}
	ak, pk, dn := device(r)
	if err := a.p.PublishAs(r.Context(), ak, pk, dn, b.Topic, data); err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"topic": b.Topic, "size": len(data)})
}

func (a *api) deliver(w http.ResponseWriter, r *http.Request) {
	b, data, ok := a.readPayload(w, r)
	if !ok {
		return
	}
	qos := 0
	if b.QoS != nil {
		qos = *b.QoS
	}
	if qos < 0 || qos > 1 {
		a.failure(w, r, inputErr("qos must be 0 or 1"))
		return
	}
	ak, pk, dn := device(r)
	id, err := a.p.Deliver(r.Context(), ak, pk, dn, b.Topic, data, byte(qos))
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"messageId": id})
}

func (a *api) properties(w http.ResponseWriter, r *http.Request) {
	ak, pk, dn := device(r)
	props, err := a.p.Properties(r.Context(), ak, pk, dn)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"properties": props})
}

func (a *api) setProperty(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Items json.RawMessage `json:"items"`
	}
	if err := readJSON(r, &b); err != nil {
		a.failure(w, r, err)
		return
	}
	ak, pk, dn := device(r)
	id, err := a.p.SetProperty(r.Context(), ak, pk, dn, b.Items)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"messageId": id})
}

func (a *api) invokeService(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Args json.RawMessage `json:"args"`
	}
	if err := readJSON(r, &b); err != nil {
		a.failure(w, r, err)
		return
	}
	ak, pk, dn := device(r)
	id, result, err := a.p.InvokeService(r.Context(), ak, pk, dn, chi.URLParam(r, "identifier"), b.Args)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	out := map[string]any{"messageId": id}
	if result != nil {
		out["result"] = result
	}
	JSON(w, http.StatusOK, out)
}

func (a *api) thingModel(w http.ResponseWriter, r *http.Request) {
	pk := chi.URLParam(r, "productKey")
	m, err := a.p.ThingModel(r.Context(), r.URL.Query().Get("accessKeyId"), pk)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	var tsl json.RawMessage
	if m != nil {
		tsl = m.JSON(pk)
	}
	JSON(w, http.StatusOK, map[string]any{"productKey": pk, "thingModel": tsl})
}

func (a *api) messages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := iot.MessageFilter{AccessKeyID: q.Get("accessKeyId"), ProductKey: q.Get("productKey"), DeviceName: q.Get("deviceName"),
		Topic: q.Get("topic"), Direction: q.Get("direction")}
	if v := q.Get("limit"); v != "" {
		n, err := atoiStrict(v)
		if err != nil || n < 0 {
			a.failure(w, r, inputErr("limit %q: want a non-negative integer", v))
			return
		}
		f.Limit = n
	}
	ms, err := a.p.Messages(r.Context(), f)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"messages": ms})
}

func (a *api) clearMessages(w http.ResponseWriter, r *http.Request) {
	n, err := a.p.ClearMessages(r.Context())
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, map[string]any{"cleared": n})
}

// payloadBytes reads a payload: as encoding says ("text" or "base64"),
// else as base64 when it is valid padded base64 and not JSON, else as
// text.
func payloadBytes(payload, encoding string) ([]byte, error) {
	switch encoding {
	case "text":
		return []byte(payload), nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, inputErr("payload is not base64: %v", err)
		}
		return b, nil
	case "":
	default:
		return nil, inputErr("encoding %q: want text or base64", encoding)
	}
	if payload != "" && len(payload)%4 == 0 && !json.Valid([]byte(payload)) {
		if b, err := base64.StdEncoding.DecodeString(payload); err == nil && !utf8.Valid(b) {
			return b, nil
		}
	}
	return []byte(payload), nil
}

func atoiStrict(s string) (int, error) { return strconv.Atoi(s) }
