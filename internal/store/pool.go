package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// maxPrepared bounds each connection's statement cache (driver.go): SQL
// built with a variable number of placeholders (an IN list per name count)
// would otherwise grow it without end, and such statements are rare
// enough to parse each time.
const maxPrepared = 512

// readConns is the size of the read pool over a WAL file: readers never
// wait for the writer, and eight covers the 32 clients of the load tool on
// a small machine without holding much page cache per connection.
const readConns = 8

// pool is the store's handle on SQLite: one writer connection, and a pool
// of read connections when the database is a WAL file (the writer itself
// for an in-memory database, which lives in one connection). Every
// connection keeps its statements prepared (driver.go). It has the
// methods of *sql.DB the store uses, and writes through it invalidate the
// account, product and batch cache.
type pool struct {
	w, r  *sql.DB
	cache *cache
}

func newPool(w, r *sql.DB) *pool { return &pool{w: w, r: r, cache: newCache()} }

// db is where q runs: the readers for a read, else the writer.
func (p *pool) db(q string) *sql.DB {
	if isRead(q) {
		return p.r
	}
	return p.w
}

// isRead reports a statement that only reads, which the read pool may run.
func isRead(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// invalidates reports a direct write that can change a cached account,
// product, batch or page of a batch's devices: any write of their tables,
// a device insert or delete, which moves a product's device count (by
// trigger), and a device update (a page lists DeviceSecret).
func invalidates(q string) bool {
	q = strings.ToLower(q)
	return strings.Contains(q, "accounts") || strings.Contains(q, "instances") || strings.Contains(q, "products") || strings.Contains(q, "batches") ||
		strings.Contains(q, "into devices") || strings.Contains(q, "from devices") || strings.Contains(q, "update devices")
}

// QueryRowContext runs a one-row query, on the read pool when it only reads.
func (p *pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if !isRead(q) && invalidates(q) {
		defer p.cache.invalidate()
	}
	return p.db(q).QueryRowContext(ctx, q, args...)
}

// QueryContext runs a query, on the read pool when it only reads.
func (p *pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if !isRead(q) && invalidates(q) {
		defer p.cache.invalidate()
	}
	return p.db(q).QueryContext(ctx, q, args...)
}

// ExecContext runs a write on the writer.
func (p *pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if invalidates(q) {
		defer p.cache.invalidate()
	}
	return p.w.ExecContext(ctx, q, args...)
}

// BeginTx starts a write transaction on the writer. Store.tx invalidates
// the cache when it ends.
func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return p.w.BeginTx(ctx, opts)
}

// uncheckedTx runs fn in a write transaction on the writer with
// foreign-key enforcement off (Store.bulkTx). The pragma is a no-op inside
// a transaction, so it is set around one, on the connection held for it,
// and nothing else runs on that connection meanwhile. Changing it expires
// the connection's prepared statements; SQLite prepares them again on
// their next use.
//
// The connection must never go back to the pool unchecked, whatever ctx
// does: the pragmas run without its cancellation, and so does the
// transaction itself (database/sql would otherwise roll a cancelled one
// back from another goroutine, after the pragma had been a no-op inside
// it). fn's statements still take ctx, so a cancelled caller fails them
// and the transaction is rolled back here.
func (p *pool) uncheckedTx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	c, err := p.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	bg := context.WithoutCancel(ctx)
	defer func() {
		if rerr := checkForeignKeys(bg, c); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if _, err := c.ExecContext(bg, "PRAGMA foreign_keys=OFF"); err != nil {
		return err
	}
	tx, err := c.BeginTx(bg, nil)
	return runTx(tx, err, fn)
}

// checkForeignKeys turns foreign-key enforcement back on and reads it
// back. A transaction left open on the connection (a COMMIT that failed,
// say) makes the pragma a no-op, so that one is rolled back first.
func checkForeignKeys(ctx context.Context, c *sql.Conn) error {
	for range 2 {
		if _, err := c.ExecContext(ctx, "PRAGMA foreign_keys=ON"); err != nil {
			return fmt.Errorf("foreign keys back on: %w", err)
		}
		var on bool
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
			return fmt.Errorf("foreign keys back on: %w", err)
		}
		if on {
			return nil
		}
		c.ExecContext(ctx, "ROLLBACK") // fails harmlessly when none is open
	}
	return errors.New("foreign keys back on: the writer still has them off")
}

// PingContext checks the writer answers.
func (p *pool) PingContext(ctx context.Context) error { return p.w.PingContext(ctx) }

// Close closes both databases.
func (p *pool) Close() error {
	var rerr error
	if p.r != p.w {
		rerr = p.r.Close()
	}
	if err := p.w.Close(); err != nil {
		return err
	}
	return rerr
}
