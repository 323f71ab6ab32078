package admin

import (
	"html/template"
	"net/http"
	"strings"
)

// IndexInfo is what the index page shows.
type IndexInfo struct {
	Version string
	// RPC is the RPC endpoint the browser used; MQTT the broker's, if on.
	RPC, MQTT string
	// Credentials are the AccessKey pairs the store holds.
	Credentials []string
	// Auth, Throttle and Progression are the modes in force.
	Auth, Throttle, Progression string
	Admin                       bool
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>iot-emulator {{.Version}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body>
<h1>iot-emulator {{.Version}}</h1>
{{if .Admin}}<p><a href="/_emulator/ui"><strong>Open the dashboard</strong></a>: live devices, batches, requests and fault rules.</p>{{end}}
<p>Alibaba Cloud IoT Platform (Iot 2018-01-20) on this machine. Point an official SDK here instead of <code>iot.&lt;region&gt;.aliyuncs.com</code>.</p>
<h2>Endpoints</h2>
<ul>
<li>RPC API: <code>{{.RPC}}</code> (GET or POST at <code>/</code>, V1 or ACS3 signatures)</li>
{{if .MQTT}}<li>MQTT: <code>{{.MQTT}}</code> (devices log in with their DeviceSecret)</li>{{end}}
</ul>
<h2>Credentials</h2>
<ul>{{range .Credentials}}<li><code>{{.}}</code></li>{{else}}<li>none in the store</li>{{end}}</ul>
<h2>Modes</h2>
<ul><li>auth: <code>{{.Auth}}</code></li><li>throttle: <code>{{.Throttle}}</code></li><li>batch progression: <code>{{.Progression}}</code></li></ul>
<h2>Admin API</h2>
{{if .Admin}}<ul>
<li><a href="/_emulator/ui">/_emulator/ui</a> (the dashboard), <a href="/_emulator/summary">/_emulator/summary</a>, <a href="/_emulator/devices">/_emulator/devices</a>, <code>/_emulator/events</code> (Server-Sent Events)</li>
<li><a href="/_emulator/health">/_emulator/health</a></li>
<li><a href="/_emulator/state">/_emulator/state</a></li>
<li><a href="/_emulator/requests">/_emulator/requests</a></li>
<li><a href="/_emulator/faults">/_emulator/faults</a></li>
<li><a href="/_emulator/actions">/_emulator/actions</a></li>
<li><a href="/_emulator/config/progression">/_emulator/config/progression</a></li>
<li><code>POST /_emulator/reset</code>, <code>POST /_emulator/fixtures</code>, <code>POST /_emulator/batches/{applyId}/advance</code></li>
</ul>{{else}}<p>Switched off (<code>--admin off</code>); <a href="/_emulator/health">/_emulator/health</a> answers.</p>{{end}}
<p>Everything else: README.md of the iot-emulator repository.</p>
</body></html>
`))

// WantsHTML reports whether a request is a browser asking for a page
// rather than an RPC call: a GET without parameters that accepts HTML.
func WantsHTML(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.RawQuery == "" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Index serves the index page.
func Index(info func(r *http.Request) IndexInfo) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = indexPage.Execute(w, info(r))
	}
}
