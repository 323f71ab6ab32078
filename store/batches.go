package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Batch statuses, as QueryBatchRegisterDeviceStatus reports them.
const (
	StatusCheck         = "CHECK"
	StatusCheckSuccess  = "CHECK_SUCCESS"
	StatusCheckFailed   = "CHECK_FAILED"
	StatusCreate        = "CREATE"
	StatusCreateSuccess = "CREATE_SUCCESS"
	StatusCreateFailed  = "CREATE_FAILED"
)

// Batch kinds.
const (
	// KindNames is a batch of caller-chosen names (BatchCheckDeviceNames).
	KindNames = "names"
	// KindRandom is a batch of generated names (BatchRegisterDevice).
	KindRandom = "random"
)

// Per-name reasons of a failed batch.
const (
	// MsgNameExists: the name exists in the product when the batch is checked or created.
	MsgNameExists = "The device name already exists."
	// MsgQuota: creating the device would pass the product's device quota.
	MsgQuota = "The device total number beyond limit."
)

// Batch is one application (ApplyId) of batch registration.
type Batch struct {
	ApplyID     int64
	AccessKeyID string
	InstanceID  string
	ProductKey  string
	Kind        string
	Status      string
	Count       int
	// Due is when the worker settles the transient state; nil waits for an
	// explicit advance (manual progression or polls).
	Due *time.Time
	// PollsLeft counts status queries still to come before the batch moves
	// on; nil when polling does not drive this batch.
	PollsLeft *int
	Created   time.Time
	Updated   time.Time
	// Failed counts names that failed check or creation.
	Failed int
	// Devices counts the devices the batch created.
	Devices int
}

// Transient reports whether the batch waits for the worker.
func (b Batch) Transient() bool { return b.Status == StatusCheck || b.Status == StatusCreate }

// BatchName is one name of a batch with its outcome.
type BatchName struct {
	DeviceName string
	Nickname   string
	// ErrorMsg is empty for a name that passed (so far).
	ErrorMsg string
}

const batchCols = `b.apply_id, b.access_key_id, b.instance_id, b.product_key, b.kind, b.status, b.count, b.due_ms, b.polls_left, b.created_ms, b.updated_ms,
	b.failed, b.created`

func scanBatch(sc interface{ Scan(...any) error }) (Batch, error) {
	var b Batch
	var due, polls sql.NullInt64
	var c, u int64
	err := sc.Scan(&b.ApplyID, &b.AccessKeyID, &b.InstanceID, &b.ProductKey, &b.Kind, &b.Status, &b.Count, &due, &polls, &c, &u, &b.Failed, &b.Devices)
	if due.Valid {
		t := msTime(due.Int64)
		b.Due = &t
	}
	if polls.Valid {
		n := int(polls.Int64)
		b.PollsLeft = &n
	}
	b.Created, b.Updated = msTime(c), msTime(u)
	return b, err
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func nullInt(n *int) any {
	if n == nil {
		return nil
	}
	return *n
}

// CreateBatch stores a new batch in b.Status with its names, in one
// transaction, and returns it with its ApplyId.
func (s *Store) CreateBatch(ctx context.Context, b Batch, names []BatchName) (Batch, error) {
	now := s.nowMS()
	b.Count = len(names)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO batches(access_key_id, instance_id, product_key, kind, status, count, due_ms, polls_left, created_ms, updated_ms)
			VALUES(?,?,?,?,?,?,?,?,?,?)`, b.AccessKeyID, b.InstanceID, b.ProductKey, b.Kind, b.Status, b.Count, nullTime(b.Due), nullInt(b.PollsLeft), now, now)
		if err != nil {
			return err
		}
		if b.ApplyID, err = res.LastInsertId(); err != nil {
			return err
		}
		return insertNames(ctx, tx, b.ApplyID, names)
	})
	b.Created, b.Updated = msTime(now), msTime(now)
	return b, err
}

func insertNames(ctx context.Context, tx *sql.Tx, applyID int64, names []BatchName) error {
	// Multi-row inserts: a 10,000-name batch is 20 statements, not 10,000.
	const chunk = 500
	for start := 0; start < len(names); start += chunk {
		end := min(start+chunk, len(names))
		q := make([]byte, 0, 64+(end-start)*12)
		q = append(q, "INSERT INTO batch_names(apply_id, idx, device_name, nickname, error_msg) VALUES "...)
		args := make([]any, 0, (end-start)*5)
		for i := start; i < end; i++ {
			if i > start {
				q = append(q, ',')
			}
			q = append(q, "(?,?,?,?,?)"...)
			args = append(args, applyID, i, names[i].DeviceName, names[i].Nickname, names[i].ErrorMsg)
		}
		if _, err := tx.ExecContext(ctx, string(q), args...); err != nil {
			return err
		}
	}
	return nil
}

// Batch returns the account's batch, or ErrNotFound.
func (s *Store) Batch(ctx context.Context, accessKeyID string, applyID int64) (Batch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE b.apply_id=? AND (?='' OR b.access_key_id=?)`, applyID, accessKeyID, accessKeyID))
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	return b, err
}

// Batches lists batches, of one account or of all when accessKeyID is "".
func (s *Store) Batches(ctx context.Context, accessKeyID string) ([]Batch, error) {
	return collectBatches(s.db.QueryContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE (?='' OR b.access_key_id=?) ORDER BY b.apply_id`, accessKeyID, accessKeyID))
}

func collectBatches(rows *sql.Rows, err error) ([]Batch, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Pending lists the batches in a transient state, soonest due first.
func (s *Store) Pending(ctx context.Context) ([]Batch, error) {
	return collectBatches(s.db.QueryContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE b.status IN ('CHECK','CREATE') ORDER BY b.due_ms, b.apply_id`))
}

// BatchNames returns a batch's names in submission order.
func (s *Store) BatchNames(ctx context.Context, applyID int64) ([]BatchName, error) {
	return txNames(ctx, s.db, applyID)
}

// BatchDevices pages through the devices a batch created, in creation order.
func (s *Store) BatchDevices(ctx context.Context, applyID int64, offset, limit int) ([]Device, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE apply_id=?`, applyID).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := collectDevices(s.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE apply_id=? ORDER BY seq LIMIT ? OFFSET ?`, applyID, limit, offset))
	return out, total, err
}

// StartCreate moves a CHECK_SUCCESS batch to CREATE with the given timing.
// ErrState (with the batch as it is) when it is in any other state.
func (s *Store) StartCreate(ctx context.Context, applyID int64, due *time.Time, polls *int) (Batch, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE batches SET status='CREATE', due_ms=?, polls_left=?, updated_ms=? WHERE apply_id=? AND status='CHECK_SUCCESS'`,
		nullTime(due), nullInt(polls), s.nowMS(), applyID)
	if err != nil {
		return Batch{}, err
	}
	b, gerr := s.Batch(ctx, "", applyID)
	if gerr != nil {
		return b, gerr
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return b, ErrState
	}
	return b, nil
}

// Schedule changes when a transient batch settles; ErrState if it is not
// transient any more.
func (s *Store) Schedule(ctx context.Context, applyID int64, due *time.Time, polls *int) error {
	res, err := s.db.ExecContext(ctx, `UPDATE batches SET due_ms=?, polls_left=? WHERE apply_id=? AND status IN ('CHECK','CREATE')`,
		nullTime(due), nullInt(polls), applyID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrState
	}
	return nil
}

// CountPoll records one status query of a poll-driven transient batch and
// reports whether that query used up its polls (so the batch should now move on).
func (s *Store) CountPoll(ctx context.Context, applyID int64) (bool, error) {
	var left sql.NullInt64
	err := s.db.QueryRowContext(ctx, `UPDATE batches SET polls_left = polls_left - 1
		WHERE apply_id=? AND status IN ('CHECK','CREATE') AND polls_left IS NOT NULL AND polls_left > 0 RETURNING polls_left`, applyID).Scan(&left)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && left.Valid && left.Int64 == 0, err
}

// Settle ends a batch's transient state in one transaction: a CHECK batch
// becomes CHECK_SUCCESS or CHECK_FAILED (a name already in the product, or
// listed in forced, fails); a CREATE batch creates every device whose name is
// still free and not in forced, and becomes CREATE_SUCCESS or CREATE_FAILED.
// Either the whole outcome is stored or nothing is. ErrState when the batch
// is not transient. quota, when positive, caps the product's devices: names
// past it fail with MsgQuota, checked in the same transaction as the
// inserts so concurrent batches cannot overshoot it.
func (s *Store) Settle(ctx context.Context, applyID int64, forced map[string]string, quota int) (Batch, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b, err := scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE b.apply_id=?`, applyID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !b.Transient() {
			return ErrState
		}
		names, err := txNames(ctx, tx, applyID)
		if err != nil {
			return err
		}
		existing, err := txExisting(ctx, tx, applyID, b.AccessKeyID, b.ProductKey)
		if err != nil {
			return err
		}
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT device_count FROM products WHERE access_key_id=? AND product_key=?`,
			b.AccessKeyID, b.ProductKey).Scan(&count); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		failed, created := 0, 0
		now := s.now()
		// One prepared statement for up to 10,000 inserts: parsing the SQL
		// per device was the largest cost of a big batch.
		ins, err := tx.PrepareContext(ctx, insertDeviceSQL)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i := range names {
			n := &names[i]
			if n.ErrorMsg != "" {
				failed++
				continue
			}
			if msg, ok := forced[n.DeviceName]; ok {
				n.ErrorMsg = msg
			} else if existing[n.DeviceName] {
				n.ErrorMsg = MsgNameExists
			} else if b.Status == StatusCreate && quota > 0 && count+created >= quota {
				n.ErrorMsg = MsgQuota
			}
			if n.ErrorMsg != "" {
				failed++
				if _, err := tx.ExecContext(ctx, `UPDATE batch_names SET error_msg=? WHERE apply_id=? AND idx=?`, n.ErrorMsg, applyID, i); err != nil {
					return err
				}
				continue
			}
			if b.Status == StatusCreate {
				d := Device{AccessKeyID: b.AccessKeyID, ProductKey: b.ProductKey, DeviceName: n.DeviceName, Nickname: n.Nickname, ApplyID: applyID, Created: now}
				s.fillDevice(&d)
				if _, err := ins.ExecContext(ctx, deviceArgs(d)...); err != nil {
					return err
				}
				existing[n.DeviceName] = true
				created++
			}
		}
		status := StatusCheckSuccess
		switch {
		case b.Status == StatusCheck && failed > 0:
			status = StatusCheckFailed
		case b.Status == StatusCreate && failed > 0:
			status = StatusCreateFailed
		case b.Status == StatusCreate:
			status = StatusCreateSuccess
		}
		_, err = tx.ExecContext(ctx, `UPDATE batches SET status=?, due_ms=NULL, polls_left=NULL, failed=?, created=created+?, updated_ms=? WHERE apply_id=?`,
			status, failed, created, s.nowMS(), applyID)
		return err
	})
	if err != nil {
		return Batch{}, err
	}
	return s.Batch(ctx, "", applyID)
}

// querier is what *sql.DB and *sql.Tx share, so reads work in and out of a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func txNames(ctx context.Context, tx querier, applyID int64) ([]BatchName, error) {
	rows, err := tx.QueryContext(ctx, `SELECT device_name, nickname, error_msg FROM batch_names WHERE apply_id=? ORDER BY idx`, applyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BatchName
	for rows.Next() {
		var n BatchName
		if err := rows.Scan(&n.DeviceName, &n.Nickname, &n.ErrorMsg); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// txExisting returns which of the batch's names already exist in the
// product: a join on the product's name index, not a read of every device.
func txExisting(ctx context.Context, tx *sql.Tx, applyID int64, accessKeyID, productKey string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT n.device_name FROM batch_names n
		JOIN devices d ON d.access_key_id=? AND d.product_key=? AND d.device_name=n.device_name
		WHERE n.apply_id=?`, accessKeyID, productKey, applyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// DumpDevices pages through every device of one account (all accounts when
// accessKeyID is ""), optionally of one product, in creation order, with the
// total before paging. The admin API's state view reads it.
func (s *Store) DumpDevices(ctx context.Context, accessKeyID, productKey string, offset, limit int) ([]Device, int, error) {
	where := ` FROM devices WHERE (?='' OR access_key_id=?) AND (?='' OR product_key=?)`
	args := []any{accessKeyID, accessKeyID, productKey, productKey}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := collectDevices(s.db.QueryContext(ctx, `SELECT `+deviceCols+where+` ORDER BY seq LIMIT ? OFFSET ?`, append(args, limit, offset)...))
	return out, total, err
}
