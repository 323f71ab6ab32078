package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // registers "sqlite", which this wraps
)

// driverName is modernc's SQLite with a statement cache per connection.
const driverName = "sqlite-stmtcache"

func init() {
	// modernc's own driver, as it registered itself.
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err)
	}
	sql.Register(driverName, stmtCacheDriver{db.Driver()})
	db.Close()
}

// stmtCacheDriver wraps modernc's driver so that each connection keeps the
// statements it prepared, by SQL text, and statements run inside a
// transaction (tx.ExecContext in a settlement, a login, a property post)
// are parsed once per connection too, not on every call: SQLite's parser
// was the largest single cost of a request. database/sql prepares a
// statement for a query when the connection answers driver.ErrSkip to
// running it directly; this connection does so for every single
// statement, and hands back the cached one.
type stmtCacheDriver struct{ inner driver.Driver }

func (d stmtCacheDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: c, stmts: map[string]*cachedStmt{}}, nil
}

// cachingConn is one SQLite connection and its statements.
type cachingConn struct {
	driver.Conn
	mu    sync.Mutex
	stmts map[string]*cachedStmt
}

// cacheable is a single statement: scripts (migrations) hold ';' and run
// as the driver runs them.
func cacheable(q string) bool { return !strings.Contains(q, ";") }

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if cacheable(q) {
		return nil, driver.ErrSkip
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if cacheable(q) {
		return nil, driver.ErrSkip
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

// PrepareContext hands out the cached statement for q when it is free.
// A statement is busy from Prepare to Close (for a query, until its rows
// are closed); a second use meanwhile, or a full cache, gets a statement
// of its own, finalized on Close.
func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.mu.Lock()
	st, ok := c.stmts[q]
	if ok && !st.busy {
		st.busy = true
		c.mu.Unlock()
		return st, nil
	}
	c.mu.Unlock()
	inner, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	st = &cachedStmt{Stmt: inner, conn: c}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok && cacheable(q) && len(c.stmts) < maxPrepared {
		st.cached, st.busy = true, true
		c.stmts[q] = st
	}
	return st, nil
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	for q, st := range c.stmts {
		st.Stmt.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// cachedStmt is a statement of a cachingConn.
type cachedStmt struct {
	driver.Stmt
	conn         *cachingConn
	cached, busy bool
}

// Close frees a cached statement for the next use, and finalizes one
// that was not cached.
func (s *cachedStmt) Close() error {
	if !s.cached {
		return s.Stmt.Close()
	}
	s.conn.mu.Lock()
	s.busy = false
	s.conn.mu.Unlock()
	return nil
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
