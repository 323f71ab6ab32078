package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// maxPrepared bounds the statement cache: SQL built with a variable number
// of placeholders (an IN list per name count) would otherwise grow it
// without end, and such statements are rare enough to parse each time.
const maxPrepared = 512

// readConns is the size of the read pool over a WAL file: readers never
// wait for the writer, and eight covers the 32 clients of the load tool on
// a small machine without holding much page cache per connection.
const readConns = 8

// pool is the store's handle on SQLite: one writer connection, a pool of
// read connections when the database is a WAL file (the writer itself for
// an in-memory database, which lives in one connection), and every
// statement prepared once per connection instead of parsed per call — the
// SQL parser was a quarter of the CPU of a status poll. It has the
// methods of *sql.DB the store uses, and writes through it invalidate the
// account and product cache.
type pool struct {
	w, r  *sql.DB
	cache *cache

	mu   sync.RWMutex
	stmt map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	read bool
	sql  string
}

func newPool(w, r *sql.DB) *pool {
	return &pool{w: w, r: r, cache: newCache(), stmt: map[stmtKey]*sql.Stmt{}}
}

// prepared returns the statement for q on the writer or the readers,
// preparing it on first use; nil when it cannot be cached, and the caller
// runs q unprepared (which also reports any error in q).
func (p *pool) prepared(ctx context.Context, read bool, q string) *sql.Stmt {
	k := stmtKey{read, q}
	p.mu.RLock()
	st, ok := p.stmt[k]
	n := len(p.stmt)
	p.mu.RUnlock()
	if ok || n >= maxPrepared {
		return st
	}
	db := p.w
	if read {
		db = p.r
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.stmt[k]; ok {
		st.Close()
		return old
	}
	p.stmt[k] = st
	return st
}

// isRead reports a statement that only reads, which the read pool may run.
func isRead(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// invalidates reports a direct write that can change a cached account,
// product or batch: any write of their tables, and a device insert or
// delete, which moves a product's device count (by trigger).
func invalidates(q string) bool {
	q = strings.ToLower(q)
	return strings.Contains(q, "accounts") || strings.Contains(q, "instances") || strings.Contains(q, "products") || strings.Contains(q, "batches") ||
		strings.Contains(q, "into devices") || strings.Contains(q, "from devices")
}

// QueryRowContext runs a one-row query, on the read pool when it only reads.
func (p *pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	read := isRead(q)
	if !read && invalidates(q) {
		defer p.cache.invalidate()
	}
	if st := p.prepared(ctx, read, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if read {
		return p.r.QueryRowContext(ctx, q, args...)
	}
	return p.w.QueryRowContext(ctx, q, args...)
}

// QueryContext runs a query, on the read pool when it only reads.
func (p *pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	read := isRead(q)
	if !read && invalidates(q) {
		defer p.cache.invalidate()
	}
	if st := p.prepared(ctx, read, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if read {
		return p.r.QueryContext(ctx, q, args...)
	}
	return p.w.QueryContext(ctx, q, args...)
}

// ExecContext runs a write on the writer.
func (p *pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if invalidates(q) {
		defer p.cache.invalidate()
	}
	if st := p.prepared(ctx, false, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.w.ExecContext(ctx, q, args...)
}

// BeginTx starts a write transaction on the writer. Store.tx invalidates
// the cache when it ends.
func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return p.w.BeginTx(ctx, opts)
}

// PingContext checks the writer answers.
func (p *pool) PingContext(ctx context.Context) error { return p.w.PingContext(ctx) }

// Close closes the statements and both databases.
func (p *pool) Close() error {
	p.mu.Lock()
	for k, st := range p.stmt {
		st.Close()
		delete(p.stmt, k)
	}
	p.mu.Unlock()
	var rerr error
	if p.r != p.w {
		rerr = p.r.Close()
	}
	if err := p.w.Close(); err != nil {
		return err
	}
	return rerr
}
