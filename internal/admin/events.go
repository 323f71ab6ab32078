package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/control"
	"github.com/iot-emulator/iot-emulator/internal/events"
	"github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/journal"
)

// Kinds the event stream adds to the bus's own.
const (
	// kindFault follows a request event whose call fault rules fired on:
	// {"requestId","action","faults","code"}.
	kindFault = "fault"
	// kindDropped says the stream fell behind and lost events
	// ({"dropped": total so far}): a page should reload what it shows.
	kindDropped = "dropped"
)

// streamKinds are the kinds ?kinds= may name.
var streamKinds = []string{events.Request, events.Device, events.Batch, events.Message, events.Reset, kindFault, kindDropped}

// heartbeat is how often an idle event stream sends a comment, so that
// proxies keep it open and a client notices a dead connection.
var heartbeat = 15 * time.Second

// streamBuffer is how many events a slow client may lag behind before it
// loses some (and gets a dropped event).
const streamBuffer = 1024

// faultHit is the data of a fault event.
type faultHit struct {
	RequestID string   `json:"requestId"`
	Action    string   `json:"action"`
	Faults    []string `json:"faults"`
	Code      string   `json:"code"`
}

// events serves GET /_emulator/events, a Server-Sent Events stream of the
// event bus: one SSE event per bus event, named by its kind, its data the
// JSON {"time","kind","data"}. ?kinds=request,batch keeps those kinds. It
// ends when the client goes or the emulator stops.
func (a *api) events(w http.ResponseWriter, r *http.Request) {
	want, err := parseKinds(r.URL.Query().Get("kinds"))
	if err != nil {
		a.failure(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	sub := a.p.Subscribe(streamBuffer)
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	w.WriteHeader(http.StatusOK)
	// The browser reconnects after retry ms; the comment opens the stream
	// at once, so a client knows it is subscribed before any event.
	if _, err := fmt.Fprint(w, "retry: 2000\n: subscribed\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	var id int64
	dropped := 0
	send := func(kind string, t time.Time, data any) bool {
		if !want[kind] {
			return true
		}
		id++
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(events.Event{Time: t, Kind: kind, Data: data}); err != nil {
			a.log.Error("event stream: encode", "kind", kind, "err", err)
			return true
		}
		_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, kind, bytes.TrimRight(buf.Bytes(), "\n"))
		return err == nil && rc.Flush() == nil
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-a.p.StreamsStopped():
			return
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			if n := sub.Dropped(); n > dropped {
				dropped = n
				if !send(kindDropped, time.Now().UTC(), map[string]int{"dropped": n}) {
					return
				}
			}
			data := e.Data
			if b, isBatch := data.(iot.Batch); isBatch {
				data = control.BatchView(b)
			}
			if !send(e.Kind, e.Time, data) {
				return
			}
			if j, isEntry := e.Data.(journal.Entry); isEntry && len(j.Faults) > 0 {
				if !send(kindFault, e.Time, faultHit{RequestID: j.RequestID, Action: j.Action, Faults: j.Faults, Code: j.Code}) {
					return
				}
			}
		}
	}
}

// parseKinds reads ?kinds= (comma-separated; empty: every kind).
func parseKinds(raw string) (map[string]bool, error) {
	want := map[string]bool{}
	known := map[string]bool{}
	for _, k := range streamKinds {
		known[k] = true
		if raw == "" {
			want[k] = true
		}
	}
	var unknown []string
	for _, k := range strings.Split(raw, ",") {
		switch k = strings.TrimSpace(k); {
		case k == "":
		case known[k]:
			want[k] = true
		default:
			unknown = append(unknown, k)
		}
	}
	// A client that lost events needs to know whatever it watches.
	want[kindDropped] = true
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, inputErr("kinds: unknown %s; known: %s", strings.Join(unknown, ", "), strings.Join(streamKinds, ", "))
	}
	return want, nil
}
