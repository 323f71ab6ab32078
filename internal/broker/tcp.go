package broker

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// connectTimeout is how long a new connection may take to send CONNECT;
// mochi sets no deadline before it, so a client that never sends one
// would hold its connection forever. After CONNECT the Keep Alive rules.
const connectTimeout = 10 * time.Second

// tcpListener serves MQTT over TCP, giving each connection connectTimeout
// to log in.
type tcpListener struct {
	id     string
	ln     net.Listener
	log    *slog.Logger
	closed sync.Once
}

func newTCPListener(addr string) (*tcpListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &tcpListener{id: "tcp", ln: ln}, nil
}

func (l *tcpListener) Init(log *slog.Logger) error { l.log = log; return nil }
func (l *tcpListener) ID() string                  { return l.id }
func (l *tcpListener) Address() string             { return l.ln.Addr().String() }
func (l *tcpListener) Protocol() string            { return l.id }

func (l *tcpListener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		conn.SetDeadline(time.Now().Add(connectTimeout))
		go func() { _ = establish(l.ID(), conn) }()
	}
}

func (l *tcpListener) Close(closeClients listeners.CloseFn) {
	l.closed.Do(func() {
		_ = l.ln.Close()
		closeClients(l.ID())
	})
}
