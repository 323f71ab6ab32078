package admin

import (
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/go-chi/chi/v5"
)

// pprofRoutes serves Go's profiles under /_emulator/debug/pprof/, so users
// can profile the emulator under their own load (go tool pprof
// http://127.0.0.1:8080/_emulator/debug/pprof/profile). They exist only
// where the admin API does: --admin off serves none.
func pprofRoutes(r chi.Router) {
	// net/http/pprof names a profile by what follows /debug/pprof/ in the
	// path, so the admin prefix is cut before it looks.
	strip := func(h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := r.Clone(r.Context())
			if i := strings.Index(r2.URL.Path, "/debug/pprof/"); i > 0 {
				r2.URL.Path = r2.URL.Path[i:]
				r2.URL.RawPath = ""
			}
			h(w, r2)
		})
	}
	r.Handle("/debug/pprof/", strip(pprof.Index))
	r.Handle("/debug/pprof/cmdline", strip(pprof.Cmdline))
	r.Handle("/debug/pprof/profile", strip(pprof.Profile))
	r.Handle("/debug/pprof/symbol", strip(pprof.Symbol))
	r.Handle("/debug/pprof/trace", strip(pprof.Trace))
	r.Handle("/debug/pprof/{name}", strip(pprof.Index))
}
