package tlsca

import (
	"bufio"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"time"
)

// recordHandshake is the first byte of a TLS connection (a handshake record).
const recordHandshake = 0x16

// Sniff wraps a plain listener: a connection whose first byte opens a TLS
// handshake is served as TLS with cfg, as LocalStack does on its one port;
// any other as it is. With cfg nil, a TLS client is served plain (and
// fails), and the first such connection is logged once with the fix.
func Sniff(ln net.Listener, cfg *tls.Config, log *slog.Logger) net.Listener {
	return &sniffer{Listener: ln, cfg: cfg, log: log}
}

type sniffer struct {
	net.Listener
	cfg    *tls.Config
	log    *slog.Logger
	warned sync.Once
}

func (s *sniffer) Accept() (net.Conn, error) {
	c, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, s: s}, nil
}

// sniffConn decides on its first read whether it is TLS; Accept returns
// at once, so a slow client never holds up the accept loop.
type sniffConn struct {
	net.Conn
	s    *sniffer
	once sync.Once
	r    net.Conn // the connection reads go to once decided
	br   *bufio.Reader
}

func (c *sniffConn) decide() {
	c.br = bufio.NewReader(c.Conn)
	c.r = &peeked{Conn: c.Conn, r: c.br}
	// http.Server sets read deadlines itself; the peek obeys them.
	b, err := c.br.Peek(1)
	if err != nil || b[0] != recordHandshake {
		return
	}
	if c.s.cfg == nil {
		c.s.warned.Do(func() {
			c.s.log.Warn("a client spoke TLS to the plain HTTP port: set its protocol to http, or start with --tls on", "remote", c.RemoteAddr().String())
		})
		return
	}
	c.r = tls.Server(c.r, c.s.cfg)
}

func (c *sniffConn) Read(p []byte) (int, error) {
	c.once.Do(c.decide)
	return c.r.Read(p)
}

func (c *sniffConn) Write(p []byte) (int, error) {
	c.once.Do(c.decide)
	return c.r.Write(p)
}

func (c *sniffConn) Close() error { return c.Conn.Close() }

func (c *sniffConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(t) }
func (c *sniffConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(t) }
func (c *sniffConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(t) }

// peeked reads through the buffer that holds the sniffed byte.
type peeked struct {
	net.Conn
	r *bufio.Reader
}

func (p *peeked) Read(b []byte) (int, error) { return p.r.Read(b) }
