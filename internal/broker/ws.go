package broker

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// wsListener serves MQTT over WebSocket at /mqtt. mochi's own listener
// answers on every path and binds its port only once serving, so a
// taken port or the port ":0" picked could not be reported at start; this
// one listens first.
type wsListener struct {
	ln       net.Listener
	srv      *http.Server
	upgrader websocket.Upgrader
	mu       sync.Mutex
	est      listeners.EstablishFn
	log      *slog.Logger
	ended    func(net.Conn)
	// connect is the CONNECT deadline (connectTimeout when 0).
	connect time.Duration
}

func newWSListener(addr string) (*wsListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &wsListener{ln: ln, upgrader: websocket.Upgrader{
		Subprotocols: []string{"mqtt"},
		// Devices are not browsers on a web origin to protect.
		CheckOrigin: func(*http.Request) bool { return true },
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("/mqtt", l.handle)
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return l, nil
}

func (l *wsListener) Init(log *slog.Logger) error { l.log = log; return nil }
func (l *wsListener) ID() string                  { return "ws" }
func (l *wsListener) Address() string             { return l.ln.Addr().String() }
func (l *wsListener) Protocol() string            { return "ws" }

func (l *wsListener) Serve(est listeners.EstablishFn) {
	l.mu.Lock()
	l.est = est
	l.mu.Unlock()
	_ = l.srv.Serve(l.ln)
}

func (l *wsListener) Close(closeClients listeners.CloseFn) {
	_ = l.srv.Close()
	closeClients(l.ID())
}

func (l *wsListener) handle(w http.ResponseWriter, r *http.Request) {
	c, err := l.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer c.Close()
	l.mu.Lock()
	est := l.est
	l.mu.Unlock()
	c.UnderlyingConn().SetDeadline(time.Now().Add(orDefault(l.connect)))
	if est != nil {
		conn := &wsConn{Conn: c.UnderlyingConn(), c: c}
		_ = est(l.ID(), conn)
		if l.ended != nil {
			l.ended(conn)
		}
	}
}

// errNotBinary: MQTT over WebSocket travels in binary messages only.
var errNotBinary = errors.New("websocket: MQTT needs binary messages")

// wsConn is a net.Conn over WebSocket binary messages.
type wsConn struct {
	net.Conn
	c *websocket.Conn
	r io.Reader // the message being read, nil between messages
}

func (ws *wsConn) Read(p []byte) (int, error) {
	for {
		if ws.r == nil {
			op, r, err := ws.c.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errNotBinary
			}
			ws.r = r
		}
		n, err := ws.r.Read(p)
		if errors.Is(err, io.EOF) {
			ws.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (ws *wsConn) Write(p []byte) (int, error) {
	if err := ws.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
