package broker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// connectTimeout is how long a new connection may take to send CONNECT
// (Limits.ConnectTimeout overrides it); mochi sets no deadline before it,
// so a client that never sends one would hold its connection forever.
// After CONNECT the Keep Alive rules.
const connectTimeout = 10 * time.Second

// tcpListener serves MQTT over TCP, giving each connection connectTimeout
// to log in.
type tcpListener struct {
	id     string
	ln     net.Listener
	log    *slog.Logger
	closed sync.Once
	// ended is told when a connection's session is over, whatever mochi
	// did with it.
	ended func(net.Conn)
	// connect is the CONNECT deadline (connectTimeout when 0).
	connect time.Duration
	// open holds the connections being served, so Close ends those that
	// never logged in too (mochi waits for them, up to the CONNECT deadline).
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func newTCPListener(addr string) (*tcpListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &tcpListener{id: "tcp", ln: ln, open: map[net.Conn]struct{}{}}, nil
}

func (l *tcpListener) Init(log *slog.Logger) error { l.log = log; return nil }
func (l *tcpListener) ID() string                  { return l.id }
func (l *tcpListener) Address() string             { return l.ln.Addr().String() }
func (l *tcpListener) Protocol() string            { return l.id }

func (l *tcpListener) Serve(establish listeners.EstablishFn) {
	backoff := time.Millisecond
	for {
		conn, err := l.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of descriptors, say: wait and go on rather than stop
			// accepting for good.
			l.log.Error("mqtt accept", "listener", l.id, "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = time.Millisecond
		conn.SetDeadline(time.Now().Add(orDefault(l.connect)))
		l.mu.Lock()
		l.open[conn] = struct{}{}
		l.mu.Unlock()
		go func() {
			_ = establish(l.ID(), conn)
			l.mu.Lock()
			delete(l.open, conn)
			l.mu.Unlock()
			if l.ended != nil {
				l.ended(conn)
			}
		}()
	}
}

func (l *tcpListener) Close(closeClients listeners.CloseFn) {
	l.closed.Do(func() {
		_ = l.ln.Close()
		closeClients(l.ID())
		l.mu.Lock()
		for c := range l.open {
			c.Close()
		}
		l.mu.Unlock()
	})
}

// orDefault is d, or connectTimeout for 0.
func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return connectTimeout
	}
	return d
}
