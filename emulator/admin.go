package emulator

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
)

func (s *Server) adminRoutes(r chi.Router) {
	r.Get("/health", s.health)
}

// health answers 200 once the store is migrated and fixtures are loaded.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		adminJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting"})
		return
	}
	if err := s.st.Ping(r.Context()); err != nil {
		adminJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": err.Error()})
		return
	}
	adminJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
