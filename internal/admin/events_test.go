package admin

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/batch"
	"github.com/iot-emulator/iot-emulator/internal/control"
	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// guard bounds each wait, so a broken stream fails instead of hanging.
const guard = 30 * time.Second

// TestEventStreamLifecycle checks what the end-to-end tests cannot see:
// the heartbeat of an idle stream, and that a client going away ends the
// handler (and with it the bus subscription).
func TestEventStreamLifecycle(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Memory, nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	bus := &events.Bus{}
	w := batch.New(batch.Config{Progression: batch.Progression{Mode: batch.ProgressManual}, Bus: bus}, st)
	p := control.New(control.Config{}, st, w, bus)
	a := &api{p: p, log: slog.New(slog.DiscardHandler)}
	ended := make(chan struct{}, 1)
	r := chi.NewRouter()
	r.Get("/events", func(rw http.ResponseWriter, req *http.Request) {
		a.events(rw, req)
		ended <- struct{}{}
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	old := heartbeat
	heartbeat = 5 * time.Millisecond
	t.Cleanup(func() { heartbeat = old })

	t.Run("an idle stream sends heartbeat comments", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, guard)
		defer cancel()
		req, err := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL+"/events", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		rd := bufio.NewReader(resp.Body)
		for {
			line, err := rd.ReadString('\n')
			require.NoError(t, err)
			if line == ": ping\n" {
				break
			}
		}
		cancel()
		resp.Body.Close()
		<-ended
	})
	t.Run("a client that goes away ends the handler", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		req, err := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL+"/events", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		cancel()
		resp.Body.Close()
		select {
		case <-ended:
		case <-time.After(guard):
			t.Fatal("the stream's handler is still running after its client went away")
		}
	})
}
