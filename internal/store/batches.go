package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

const batchCols = `b.apply_id, b.access_key_id, b.instance_id, b.product_key, b.kind, b.status, b.count, b.due_ms, b.polls_left, b.created_ms, b.updated_ms,
	b.failed, b.created`

func scanBatch(sc interface{ Scan(...any) error }) (iot.Batch, error) {
	var b iot.Batch
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
func (s *Store) CreateBatch(ctx context.Context, b iot.Batch, names []iot.BatchName) (iot.Batch, error) {
	now := s.nowMS()
	b.Count = len(names)
	err := s.bulkTx(ctx, func(tx *sql.Tx) error {
		// bulkTx does not check the foreign keys: the account is checked
		// here, and the names' batch is the one inserted below.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE access_key_id=?`, b.AccessKeyID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return iot.ErrNotFound
			}
			return err
		}
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

func insertNames(ctx context.Context, tx *sql.Tx, applyID int64, names []iot.BatchName) error {
	// Multi-row inserts: a 10,000-name batch is 20 statements, not 10,000.
	const chunk = 500
	for start := 0; start < len(names); start += chunk {
		end := min(start+chunk, len(names))
		q := make([]byte, 0, 64+(end-start)*12)
		q = append(q, "INSERT OR ROLLBACK INTO batch_names(apply_id, idx, device_name, nickname, error_msg) VALUES "...)
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

// Batch returns a batch by ApplyId, or iot.ErrNotFound. ApplyIds are
// unique across accounts, and the batch APIs must tell another account's
// batch from none, so the caller compares b.AccessKeyID.
func (s *Store) Batch(ctx context.Context, applyID int64) (iot.Batch, error) {
	if b, ok := s.db.cache.batch(applyID); ok {
		return b, nil
	}
	gen := s.db.cache.generation()
	b, err := scanBatch(s.db.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE b.apply_id=?`, applyID))
	if errors.Is(err, sql.ErrNoRows) {
		return b, iot.ErrNotFound
	}
	if err == nil {
		s.db.cache.putBatch(gen, b)
	}
	return b, err
}

// Batches lists batches, of one account or of all when accessKeyID is "".
func (s *Store) Batches(ctx context.Context, accessKeyID string) ([]iot.Batch, error) {
	return collectBatches(s.db.QueryContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE (?='' OR b.access_key_id=?) ORDER BY b.apply_id`, accessKeyID, accessKeyID))
}

func collectBatches(rows *sql.Rows, err error) ([]iot.Batch, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.Batch
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
func (s *Store) Pending(ctx context.Context) ([]iot.Batch, error) {
	return collectBatches(s.db.QueryContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE b.status IN ('CHECK','CREATE') ORDER BY b.due_ms, b.apply_id`))
}

// BatchNames returns a batch's names in submission order.
func (s *Store) BatchNames(ctx context.Context, applyID int64) ([]iot.BatchName, error) {
	return txNames(ctx, s.db, applyID)
}

// BatchDevices pages through the devices a batch created, in creation order.
func (s *Store) BatchDevices(ctx context.Context, applyID int64, offset, limit int) ([]iot.Device, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE apply_id=?`, applyID).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := collectDevices(s.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE apply_id=? ORDER BY seq LIMIT ? OFFSET ?`, applyID, limit, offset))
	return out, total, err
}

// BatchPage is BatchDevices with only what QueryPageByApplyId answers
// (DeviceId, DeviceName, DeviceSecret, IotId), in time independent of the
// batch's size and the page's depth: the total is the batch's kept count,
// and a batch whose devices hold contiguous seqs (one settlement, nothing
// deleted since) is paged by seq instead of by OFFSET.
func (s *Store) BatchPage(ctx context.Context, applyID int64, offset, limit int) ([]iot.BatchDevice, int, error) {
	key := pageKey{applyID, offset, limit}
	if p, ok := s.db.cache.page(key); ok {
		return p.devs, p.total, nil
	}
	gen := s.db.cache.generation()
	devs, total, err := s.batchPage(ctx, applyID, offset, limit)
	if err == nil && devs != nil {
		s.db.cache.putPage(gen, key, batchPage{devs, total})
	}
	return devs, total, err
}

func (s *Store) batchPage(ctx context.Context, applyID int64, offset, limit int) ([]iot.BatchDevice, int, error) {
	var total int
	var first, last sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT b.live, (SELECT MIN(seq) FROM devices WHERE apply_id=b.apply_id), (SELECT MAX(seq) FROM devices WHERE apply_id=b.apply_id)
		FROM batches b WHERE b.apply_id=?`, applyID).Scan(&total, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var rows *sql.Rows
	if first.Valid && last.Int64-first.Int64+1 == int64(total) {
		rows, err = s.db.QueryContext(ctx, `SELECT device_id, device_name, device_secret, iot_id FROM devices WHERE apply_id=? AND seq>=? ORDER BY seq LIMIT ?`,
			applyID, first.Int64+int64(offset), limit)
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT device_id, device_name, device_secret, iot_id FROM devices WHERE apply_id=? ORDER BY seq LIMIT ? OFFSET ?`,
			applyID, limit, offset)
	}
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := make([]iot.BatchDevice, 0, limit)
	for rows.Next() {
		var d iot.BatchDevice
		if err := rows.Scan(&d.DeviceID, &d.DeviceName, &d.DeviceSecret, &d.IotID); err != nil {
			return nil, 0, err
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}

// StartCreate moves a CHECK_SUCCESS batch to CREATE with the given timing.
// ErrState (with the batch as it is) when it is in any other state.
func (s *Store) StartCreate(ctx context.Context, applyID int64, due *time.Time, polls *int) (iot.Batch, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE batches SET status='CREATE', due_ms=?, polls_left=?, updated_ms=? WHERE apply_id=? AND status='CHECK_SUCCESS'`,
		nullTime(due), nullInt(polls), s.nowMS(), applyID)
	if err != nil {
		return iot.Batch{}, err
	}
	b, gerr := s.Batch(ctx, applyID)
	if gerr != nil {
		return b, gerr
	}
	if err := affected(res); err != nil {
		if errors.Is(err, iot.ErrNotFound) {
			err = iot.ErrState
		}
		return b, err
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
	if err := affected(res); err != nil {
		if errors.Is(err, iot.ErrNotFound) {
			err = iot.ErrState
		}
		return err
	}
	return nil
}

// CountPoll records one status query of a poll-driven transient batch and
// reports whether that query used up its polls (so the batch should now move on).
func (s *Store) CountPoll(ctx context.Context, applyID int64) (bool, error) {
	var left sql.NullInt64
	err := s.db.QueryRowContext(ctx, `UPDATE batches SET polls_left = polls_left - 1
		WHERE apply_id=? AND status IN ('CHECK','CREATE') AND polls_left IS NOT NULL AND polls_left > 0 RETURNING polls_left`, applyID).Scan(&left)
	// The UPDATE commits when Scan has read its row, after the pool's own
	// invalidation, so a read in between may have cached the old count.
	s.db.cache.invalidate()
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && left.Valid && left.Int64 == 0, err
}

// Settle ends a batch's transient state as iot.Settle decides, in one
// transaction: the names that fail get their reasons, the devices are
// created, and the batch gets its new status and counts; either the whole
// outcome is stored or nothing is. iot.ErrState when the batch is not
// transient. quota, when positive, caps the product's devices, read in the
// same transaction as the inserts so concurrent batches cannot overshoot it.
func (s *Store) Settle(ctx context.Context, applyID int64, forced map[string]string, quota int) (iot.Batch, error) {
	err := s.bulkTx(ctx, func(tx *sql.Tx) error {
		b, err := scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches b WHERE b.apply_id=?`, applyID))
		if errors.Is(err, sql.ErrNoRows) {
			return iot.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !b.Transient() {
			return iot.ErrState
		}
		names, err := txNames(ctx, tx, applyID)
		if err != nil {
			return err
		}
		existing, err := txExisting(ctx, tx, applyID, b.AccessKeyID, b.ProductKey)
		if err != nil {
			return err
		}
		// bulkTx does not check the foreign keys: the devices' product is
		// checked here.
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT device_count FROM products WHERE access_key_id=? AND product_key=?`,
			b.AccessKeyID, b.ProductKey).Scan(&count); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("batch %d: product %s is gone: %w", applyID, b.ProductKey, iot.ErrNotFound)
			}
			return err
		}
		out, err := iot.Settle(b, names, existing, forced, count, quota)
		if err != nil {
			return err
		}
		for _, f := range out.Failures {
			if _, err := tx.ExecContext(ctx, `UPDATE batch_names SET error_msg=? WHERE apply_id=? AND idx=?`, f.Msg, applyID, f.Index); err != nil {
				return err
			}
		}
		if len(out.Create) > 0 {
			now := s.now()
			devices := make([]iot.Device, len(out.Create))
			for j, i := range out.Create {
				d := iot.Device{AccessKeyID: b.AccessKeyID, ProductKey: b.ProductKey, DeviceName: names[i].DeviceName, Nickname: names[i].Nickname, ApplyID: applyID, Created: now}
				iot.FillDevice(&d, now)
				devices[j] = d
			}
			// Multi-row inserts: per-statement overhead was the largest
			// cost of a big batch once the SQL was parsed only once.
			if err := insertDevices(ctx, tx, devices); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE batches SET status=?, due_ms=NULL, polls_left=NULL, failed=?, created=created+?, updated_ms=? WHERE apply_id=?`,
			out.Status, out.Failed, len(out.Create), s.nowMS(), applyID)
		return err
	})
	if err != nil {
		return iot.Batch{}, err
	}
	return s.Batch(ctx, applyID)
}

// querier is what *sql.DB and *sql.Tx share, so reads work in and out of a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func txNames(ctx context.Context, tx querier, applyID int64) ([]iot.BatchName, error) {
	rows, err := tx.QueryContext(ctx, `SELECT device_name, nickname, error_msg FROM batch_names WHERE apply_id=? ORDER BY idx`, applyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iot.BatchName
	for rows.Next() {
		var n iot.BatchName
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
func (s *Store) DumpDevices(ctx context.Context, accessKeyID, productKey string, offset, limit int) ([]iot.Device, int, error) {
	where := ` FROM devices WHERE (?='' OR access_key_id=?) AND (?='' OR product_key=?)`
	args := []any{accessKeyID, accessKeyID, productKey, productKey}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := collectDevices(s.db.QueryContext(ctx, `SELECT `+deviceCols+where+` ORDER BY seq LIMIT ? OFFSET ?`, append(args, limit, offset)...))
	return out, total, err
}
