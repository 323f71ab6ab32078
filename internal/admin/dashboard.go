package admin

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/iot-emulator/iot-emulator/internal/control"
	"github.com/iot-emulator/iot-emulator/internal/dashboard"
)

// dashboardRoutes mounts the dashboard (GET /ui) and the reads it needs
// beside the other admin routes, so whatever guards /_emulator guards
// them too: the summary, the device search, one device, one batch, the
// event stream, and disabling and enabling a device.
func (a *api) dashboardRoutes(r chi.Router) {
	ui := dashboard.Handler("/_emulator/ui")
	r.Handle("/ui", ui)
	r.Handle("/ui/*", ui)
	r.Get("/events", a.events)
	r.Get("/summary", a.summary)
	r.Get("/devices", a.devices)
	r.Get("/devices/{productKey}/{deviceName}", a.device)
	r.Post("/devices/{productKey}/{deviceName}/disable", a.setEnabled(false))
	r.Post("/devices/{productKey}/{deviceName}/enable", a.setEnabled(true))
	r.Get("/batches/{applyId}", a.batch)
}

// summaryBody is GET /_emulator/summary: the control plane's summary and
// the endpoints as this request reached them.
type summaryBody struct {
	control.Summary
	Endpoints struct {
		RPC  string `json:"rpc"`
		MQTT string `json:"mqtt"`
	} `json:"endpoints"`
}

func (a *api) summary(w http.ResponseWriter, r *http.Request) {
	s, err := a.p.Summary(r.Context())
	if err != nil {
		a.failure(w, r, err)
		return
	}
	body := summaryBody{Summary: s}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	body.Endpoints.RPC = scheme + "://" + r.Host
	body.Endpoints.MQTT = a.health(r.Context()).MQTT
	JSON(w, http.StatusOK, body)
}

// positive reads an optional positive integer parameter (0 when absent).
func positive(v url.Values, name string) (int, error) {
	raw := v.Get(name)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, inputErr("%s: %q is not a positive integer", name, raw)
	}
	return n, nil
}

func (a *api) devices(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := control.DeviceQuery{AccessKeyID: v.Get("accessKeyId"), ProductKey: v.Get("productKey"), Name: v.Get("name"), Status: v.Get("status")}
	var err error
	if q.Page, err = positive(v, "page"); err == nil {
		q.PageSize, err = positive(v, "pageSize")
	}
	var page control.StateDevicePage
	if err == nil {
		page, err = a.p.Devices(r.Context(), q)
	}
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, page)
}

func (a *api) device(w http.ResponseWriter, r *http.Request) {
	ak, pk, dn := device(r)
	d, err := a.p.Device(r.Context(), ak, pk, dn)
	if err != nil {
		a.failure(w, r, err)
		return
	}
	JSON(w, http.StatusOK, d)
}

func (a *api) setEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ak, pk, dn := device(r)
		d, err := a.p.SetDeviceEnabled(r.Context(), ak, pk, dn, enabled)
		if err != nil {
			a.failure(w, r, err)
			return
		}
		JSON(w, http.StatusOK, d)
	}
}

func (a *api) batch(w http.ResponseWriter, r *http.Request) {
	id, err := applyIDParam(r)
	if err == nil {
		var b control.BatchDetail
		if b, err = a.p.Batch(r.Context(), id); err == nil {
			JSON(w, http.StatusOK, b)
			return
		}
	}
	a.failure(w, r, err)
}
