package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// maxGroup bounds how many writes share one transaction: the writer
// connection is held for the whole group, and an in-memory database has no
// other, so an RPC read waits at most one group.
const maxGroup = 256

// groupQueue is how many writes may wait for the committer before a
// device's uplink waits too (back-pressure on its MQTT connection).
const groupQueue = 4096

// groupRows is how many rows one multi-row INSERT of a group carries: a
// row costs 1.6 µs that way and 4.6 µs in a statement of its own, and 32
// rows of the widest table (messages, 11 columns) stay far below SQLite's
// bound-parameter limit. Shorter remainders get statements of their own
// length, at most groupRows of them per table in the statement cache.
const groupRows = 32

// errClosed answers a write queued after Close.
var errClosed = errors.New("store: closed")

// group commits what devices report in shared transactions: each post
// used to be a transaction of its own (BEGIN, a few rows, COMMIT, and the
// connection taken and given back through database/sql each time), which
// capped a thousand posting devices at the rate one transaction a time
// allows. One goroutine takes every write queued meanwhile, up to
// maxGroup, runs them in one transaction and commits once; a caller that
// waits (groupTx) hears back after that commit, so a device is still
// answered only once its values are stored. Writes run in queue order,
// so a flush (an empty write waited for) makes every earlier one visible.
type group struct {
	mu     sync.RWMutex // held to send, so Close never closes jobs under a sender
	closed bool
	jobs   chan groupJob
	done   chan struct{}
}

// groupJob is one queued write: a message-log row (msg), a device's
// property values (props), or any other write (fn). The first two are
// written as rows of multi-row statements shared with the rest of the
// group. done is nil when nobody waits, and then a failure goes to onErr.
type groupJob struct {
	msg   *iot.Message
	props *propertyWrite
	fn    func(*sql.Tx) error
	keep  int // rows kept: the message log's, or the device's history's
	done  chan error
	onErr func(error)
}

// propertyWrite is what RecordProperties stores.
type propertyWrite struct {
	iotID string
	vals  []iot.PropertyValue
}

func (s *Store) startGroup() {
	s.group = &group{jobs: make(chan groupJob, groupQueue), done: make(chan struct{})}
	go s.commitLoop()
}

// groupTx runs fn in the next group transaction and returns once it is
// committed. fn may run twice (the group failed and it is retried alone),
// so it must only set what it returns.
func (s *Store) groupTx(fn func(*sql.Tx) error) error {
	return s.groupWait(groupJob{fn: fn})
}

// groupWait queues j and returns once it is committed.
func (s *Store) groupWait(j groupJob) error {
	j.done = make(chan error, 1)
	if err := s.enqueue(j); err != nil {
		return err
	}
	return <-j.done
}

// groupAsync queues j without waiting; a failure is passed to its onErr
// (on the committer's goroutine).
func (s *Store) groupAsync(j groupJob) {
	if err := s.enqueue(j); err != nil && j.onErr != nil {
		j.onErr(err)
	}
}

// flush returns once every write queued before it is committed.
func (s *Store) flush() {
	s.groupTx(func(*sql.Tx) error { return nil })
}

func (s *Store) enqueue(j groupJob) error {
	g := s.group
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errClosed
	}
	g.jobs <- j
	return nil
}

// stopGroup commits what is queued and stops the committer.
func (s *Store) stopGroup() {
	g := s.group
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.jobs)
	}
	g.mu.Unlock()
	<-g.done
}

func (s *Store) commitLoop() {
	defer close(s.group.done)
	batch := make([]groupJob, 0, maxGroup)
	for j := range s.group.jobs {
		batch = append(batch[:0], j)
	more:
		for len(batch) < maxGroup {
			select {
			case j, ok := <-s.group.jobs:
				if !ok {
					break more
				}
				batch = append(batch, j)
			default:
				break more
			}
		}
		s.commitBatch(batch)
		clear(batch)
	}
}

// commitBatch commits a group in one transaction. When one write fails
// the group is rolled back and each write runs alone, so one device's
// bad row (its device deleted meanwhile, say) costs no other its write.
func (s *Store) commitBatch(batch []groupJob) {
	ctx := context.Background()
	err := s.deviceTx(ctx, func(tx *sql.Tx) error { return writeGroup(ctx, tx, batch) })
	if err == nil || len(batch) == 1 {
		for _, j := range batch {
			j.finish(err)
		}
		return
	}
	for i, j := range batch {
		j.finish(s.deviceTx(ctx, func(tx *sql.Tx) error { return writeGroup(ctx, tx, batch[i:i+1]) }))
	}
}

// writeGroup writes a group's jobs inside tx: the fn jobs as they come,
// the message rows and property values as multi-row statements; then it
// trims the message log and each device's history to their bounds.
func writeGroup(ctx context.Context, tx *sql.Tx, batch []groupJob) error {
	msgs := rowsInsert{head: `INSERT INTO messages(access_key_id, time_ms, direction, product_key, device_name, topic, qos, payload, message_id, request_id, virtual) VALUES`, width: 11}
	latest := rowsInsert{head: `INSERT INTO property_latest(iot_id, identifier, data_type, value, time_ms) VALUES`, width: 5,
		tail: ` ON CONFLICT(iot_id, identifier) DO UPDATE SET data_type=excluded.data_type, value=excluded.value, time_ms=excluded.time_ms
			WHERE excluded.time_ms >= property_latest.time_ms`}
	history := rowsInsert{head: `INSERT INTO property_history(iot_id, identifier, value, time_ms) VALUES`, width: 4}
	counts := rowsInsert{head: `INSERT INTO history_counts(iot_id, tbl, n) VALUES`, width: 3,
		tail: ` ON CONFLICT(iot_id, tbl) DO UPDATE SET n = n + excluded.n RETURNING iot_id, n`}
	msgKeep := 0
	keeps := map[string]int{}
	for _, j := range batch {
		switch {
		case j.msg != nil:
			m := j.msg
			if err := msgs.add(ctx, tx, m.AccessKeyID, m.Time.UnixMilli(), m.Direction, m.ProductKey, m.DeviceName, m.Topic, int(m.QoS), m.Payload,
				m.MessageID, m.RequestID, m.Virtual); err != nil {
				return err
			}
			msgKeep = j.keep
		case j.props != nil:
			for _, v := range j.props.vals {
				ms := v.Time.UnixMilli()
				if err := latest.add(ctx, tx, j.props.iotID, v.Identifier, v.DataType, v.Value, ms); err != nil {
					return err
				}
				if err := history.add(ctx, tx, j.props.iotID, v.Identifier, v.Value, ms); err != nil {
					return err
				}
			}
			if err := counts.addCounted(ctx, tx, j.props.iotID, len(j.props.vals)); err != nil {
				return err
			}
			keeps[j.props.iotID] = j.keep
		case j.fn != nil:
			if err := j.fn(tx); err != nil {
				return err
			}
		}
	}
	if err := msgs.flush(ctx, tx); err != nil {
		return err
	}
	// The log is trimmed when its seqs cross a multiple of 64: a DELETE per
	// message would double the cost of logging it.
	if n, last := int64(msgs.written), msgs.lastID; msgKeep > 0 && n > 0 && last/64 != (last-n)/64 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE seq <= ?`, last-int64(msgKeep)); err != nil {
			return err
		}
	}
	if err := latest.flush(ctx, tx); err != nil {
		return err
	}
	if err := history.flush(ctx, tx); err != nil {
		return err
	}
	if err := counts.flushCounted(ctx, tx); err != nil {
		return err
	}
	for iotID, keep := range keeps {
		if n := counts.counted[iotID]; keep > 0 && n > keep {
			if err := cut(ctx, tx, "property_history", iotID, n, keep); err != nil {
				return err
			}
		}
	}
	return nil
}

// rowsInsert gathers the rows of one INSERT into multi-row statements of
// up to groupRows rows, each run as soon as it is full.
type rowsInsert struct {
	head, tail string // the statement before VALUES' rows and after them
	width      int    // values a row
	args       []any
	rows       int            // rows gathered, not written yet
	written    int            // rows already written
	lastID     int64          // the rowid of the last row written
	counted    map[string]int // history_counts: each device's count after the group, from RETURNING
}

// gather takes a row and reports whether the statement is full.
func (r *rowsInsert) gather(vals ...any) bool {
	r.args = append(r.args, vals...)
	r.rows++
	return r.rows == groupRows
}

// add gathers a row and writes the statement when it is full.
func (r *rowsInsert) add(ctx context.Context, tx *sql.Tx, vals ...any) error {
	if !r.gather(vals...) {
		return nil
	}
	return r.flush(ctx, tx)
}

// flush writes the rows gathered, if any.
func (r *rowsInsert) flush(ctx context.Context, tx *sql.Tx) error {
	if r.rows == 0 {
		return nil
	}
	q, args := r.statement()
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	r.lastID, err = res.LastInsertId()
	return err
}

// addCounted gathers a history_counts row (n rows added for iotID), and
// reads the counts back when the statement is full.
func (r *rowsInsert) addCounted(ctx context.Context, tx *sql.Tx, iotID string, n int) error {
	if !r.gather(iotID, "property_history", n) {
		return nil
	}
	return r.flushCounted(ctx, tx)
}

// flushCounted writes the gathered history_counts rows and keeps each
// device's count after them (a device twice in a statement: the last).
func (r *rowsInsert) flushCounted(ctx context.Context, tx *sql.Tx) error {
	if r.rows == 0 {
		return nil
	}
	if r.counted == nil {
		r.counted = map[string]int{}
	}
	q, args := r.statement()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		if n > r.counted[id] {
			r.counted[id] = n
		}
	}
	return rows.Err()
}

// statement is the statement for the gathered rows and their values, and
// forgets them.
func (r *rowsInsert) statement() (string, []any) {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", r.width), ",") + ")"
	q := r.head + strings.TrimSuffix(strings.Repeat(row+",", r.rows), ",") + r.tail
	args := r.args
	r.written += r.rows
	r.args, r.rows = nil, 0
	return q, args
}

func (j groupJob) finish(err error) {
	switch {
	case j.done != nil:
		j.done <- err
	case err != nil && j.onErr != nil:
		j.onErr(err)
	}
}
