package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The trigram search index is the most expensive part of a submission's
// write (FTS5 writes a segment per statement), and the writer is the one
// serial step every submission waits for. So a batch only queues its
// changes to the index; the writer applies them in a transaction of their
// own once writes have been quiet for a moment, when many are pending, when
// the oldest has waited too long, before answering a search, and at Close.
// A crash loses only the queue: meta's search_seq says how far the index
// is current, and Open brings it up to date from the jobs table.
const (
	searchQuiet      = 200 * time.Millisecond // apply after writes were quiet this long
	searchMaxLag     = 2 * time.Second        // apply at the latest this long after a change
	searchMaxPending = 4096                   // or when this many changes wait
)

// searchQueue holds changes to the search index that are committed in jobs
// but not yet indexed. It belongs to the writer goroutine.
type searchQueue struct {
	pending ftsBatch
	since   time.Time   // when the oldest pending change was queued
	timer   *time.Timer // fires searchQuiet after the latest change
}

// queue adds a committed batch's changes.
func (q *searchQueue) queue(b *ftsBatch) {
	if b.len() == 0 {
		return
	}
	if q.pending.len() == 0 {
		q.since = time.Now()
	}
	q.pending.merge(b)
	if q.timer == nil {
		q.timer = time.NewTimer(searchQuiet)
	} else {
		q.timer.Reset(searchQuiet)
	}
}

// due fires when writes have been quiet long enough to apply the queue.
func (q *searchQueue) due() <-chan time.Time {
	if q.timer == nil || q.pending.len() == 0 {
		return nil
	}
	return q.timer.C
}

// full reports whether the queue must be applied now, busy or not.
func (q *searchQueue) full() bool {
	n := q.pending.len()
	return n >= searchMaxPending || (n > 0 && time.Since(q.since) >= searchMaxLag)
}

// flush applies the queue in one transaction and records that the index is
// current up to every write committed so far. On failure the queue stays,
// to be applied again later.
func (q *searchQueue) flush(ctx context.Context, s *SQLite) error {
	if q.pending.len() == 0 {
		return nil
	}
	if q.timer != nil {
		q.timer.Stop()
	}
	// The queue can always be rebuilt from the jobs table: no fsync.
	if err := s.setSync(ctx, true); err != nil {
		return err
	}
	if _, err := s.ws.begin.ExecContext(ctx); err != nil {
		return fmt.Errorf("store: search index: begin: %w", err)
	}
	err := q.pending.apply(ctx, s.wconn)
	if err == nil {
		// Every write committed so far is in the queue: the index is
		// current up to the last seq handed out.
		_, err = s.wconn.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'search_seq'`, s.nextSeq-1)
	}
	if err == nil {
		_, err = s.ws.commit.ExecContext(ctx)
	}
	if err != nil {
		_, rerr := s.ws.rollback.ExecContext(ctx)
		return fmt.Errorf("store: search index: %w", errors.Join(err, rerr))
	}
	q.pending = ftsBatch{}
	return nil
}

// catchUpSearch queues the index changes of every attempt written after
// search_seq (a crash lost them from the queue) and applies them. It runs
// in Open, before the writer starts.
func (s *SQLite) catchUpSearch(ctx context.Context) error {
	var indexed int64
	if err := s.wconn.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'search_seq'`).Scan(&indexed); err != nil {
		return fmt.Errorf("read search_seq: %w", err)
	}
	if indexed >= s.nextSeq-1 {
		return nil
	}
	rows, err := s.wconn.QueryContext(ctx, `SELECT first_seq, seq, id, user, project_path FROM jobs WHERE seq > ? ORDER BY seq`, indexed)
	if err != nil {
		return fmt.Errorf("search catch-up: %w", err)
	}
	var changes []ftsChange
	for rows.Next() {
		var c ftsChange
		if err := rows.Scan(&c.firstSeq, &c.seq, &c.text.id, &c.text.user, &c.text.projectPath); err != nil {
			rows.Close()
			return fmt.Errorf("search catch-up: %w", err)
		}
		changes = append(changes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("search catch-up: %w", err)
	}
	var b ftsBatch
	for _, c := range changes {
		// What the index holds for this job, if anything, is the text of
		// its latest attempt at or before search_seq, now archived.
		err := s.wconn.QueryRowContext(ctx, `SELECT id, user, project_path FROM attempts
			WHERE id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1`, c.text.id, indexed).Scan(&c.old.id, &c.old.user, &c.old.projectPath)
		switch {
		case err == nil:
			c.indexed = true
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("search catch-up: %w", err)
		}
		b.add(c)
	}
	s.search.queue(&b)
	return s.search.flush(ctx, s)
}
