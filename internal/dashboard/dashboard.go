// Package dashboard is the emulator's browser dashboard: plain HTML, CSS
// and JavaScript embedded in the binary (no CDN, no build step, works
// offline in a container). It holds no state and talks to nothing but the
// admin API it is served from: its JSON routes and the event stream.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed ui
var files embed.FS

// csp keeps the page to its own files: a dashboard served from an
// emulator has no business loading anything from elsewhere.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the dashboard at prefix (e.g. /_emulator/ui): the page
// at prefix and prefix/, its files under prefix/.
func Handler(prefix string) http.Handler {
	sub, err := fs.Sub(files, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	static := http.StripPrefix(prefix, http.FileServer(http.FS(sub)))
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		// A new binary brings new files; the browser asks again each time.
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard only answers GET", http.StatusMethodNotAllowed)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, prefix)
		if rest == "" || rest == "/" || rest == "/index.html" {
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.Write(index)
			return
		}
		static.ServeHTTP(w, r)
	})
}
