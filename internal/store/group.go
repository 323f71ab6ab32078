package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxGroup bounds how many writes share one transaction: the writer
// connection is held for the whole group, and an in-memory database has no
// other, so an RPC read waits at most one group.
const maxGroup = 256

// groupQueue is how many writes may wait for the committer before a
// device's uplink waits too (back-pressure on its MQTT connection).
const groupQueue = 4096

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

// groupJob is one queued write; done is nil when nobody waits, and then a
// failure goes to onErr.
type groupJob struct {
	fn    func(*sql.Tx) error
	done  chan error
	onErr func(error)
}

func (s *Store) startGroup() {
	s.group = &group{jobs: make(chan groupJob, groupQueue), done: make(chan struct{})}
	go s.commitLoop()
}

// groupTx runs fn in the next group transaction and returns once it is
// committed. fn may run twice (the group failed and it is retried alone),
// so it must only set what it returns.
func (s *Store) groupTx(fn func(*sql.Tx) error) error {
	done := make(chan error, 1)
	if err := s.enqueue(groupJob{fn: fn, done: done}); err != nil {
		return err
	}
	return <-done
}

// groupAsync queues fn for the next group transaction without waiting;
// a failure is passed to onErr (on the committer's goroutine).
func (s *Store) groupAsync(fn func(*sql.Tx) error, onErr func(error)) {
	if err := s.enqueue(groupJob{fn: fn, onErr: onErr}); err != nil && onErr != nil {
		onErr(err)
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
	err := s.deviceTx(ctx, func(tx *sql.Tx) error {
		for _, j := range batch {
			if err := j.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, j := range batch {
			j.finish(err)
		}
		return
	}
	for _, j := range batch {
		j.finish(s.deviceTx(ctx, j.fn))
	}
}

func (j groupJob) finish(err error) {
	switch {
	case j.done != nil:
		j.done <- err
	case err != nil && j.onErr != nil:
		j.onErr(err)
	}
}
