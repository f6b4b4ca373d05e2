package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/simjobs/simjobs/engine"
)

var _ engine.Outbox = (*SQLite)(nil)

// deliveryColumns is what scanDelivery reads.
const deliveryColumns = `id, job_id, attempt, sweep_id, event, channel, target, display, payload,
	status, attempts, created, next_attempt, last_attempt, last_error, last_code`

func scanDelivery(row scanner) (engine.Delivery, error) {
	var (
		d             engine.Delivery
		created, next int64
		last          sql.NullInt64
	)
	if err := row.Scan(&d.ID, &d.JobID, &d.Attempt, &d.SweepID, &d.Event, &d.Channel, &d.Target, &d.Display,
		&d.Payload, &d.Status, &d.Attempts, &created, &next, &last, &d.LastError, &d.LastCode); err != nil {
		return engine.Delivery{}, err
	}
	d.Created, d.NextAttempt = time.Unix(0, created).UTC(), time.Unix(0, next).UTC()
	d.LastAttempt = timePtr(last)
	return d, nil
}

// runTx runs fn inside the writer's batch transaction.
//
// Outbox writes commit without waiting for the disk: they survive a crash
// of the process, and what a machine crash can lose of them is redone or
// repeated (the fan-out from the durable status changes, with the cursor
// lost along with it; a delivery's outcome, so it is sent again: at least
// once), while an fsync per delivery would compete with the engine's own.
func (s *SQLite) runTx(ctx context.Context, fn func(ctx context.Context, c *sql.Conn) error) error {
	r := &writeReq{ctx: ctx, tx: fn, txNoSync: true, done: make(chan struct{})}
	if err := s.write(ctx, r); err != nil {
		return err
	}
	return r.err
}

// insertNotify runs inside JobInsert's savepoint.
func (s *SQLite) insertNotify(ctx context.Context, id string, attempt int, spec json.RawMessage) error {
	if !json.Valid(spec) {
		return errors.New("not valid JSON")
	}
	_, err := s.wconn.ExecContext(ctx, `INSERT OR REPLACE INTO job_notify (job_id, attempt, spec) VALUES (?, ?, ?)`,
		id, attempt, string(spec))
	return err
}

// TransitionListAfter implements engine.Outbox.
func (s *SQLite) TransitionListAfter(ctx context.Context, p engine.TransitionListAfterParams) ([]engine.TransitionRow, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT rowid, job_id, attempt, status, time, message FROM transitions
		WHERE rowid > ? ORDER BY rowid LIMIT ?`, p.After, limit)
	if err != nil {
		return nil, fmt.Errorf("store: transitions after %d: %w", p.After, err)
	}
	defer rows.Close()
	out := []engine.TransitionRow{}
	for rows.Next() {
		var tr engine.TransitionRow
		var at int64
		if err := rows.Scan(&tr.Seq, &tr.JobID, &tr.Attempt, &tr.Status, &at, &tr.Message); err != nil {
			return nil, fmt.Errorf("store: transitions after %d: %w", p.After, err)
		}
		tr.Time = time.Unix(0, at).UTC()
		out = append(out, tr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: transitions after %d: %w", p.After, err)
	}
	return out, nil
}

// OutboxCursorGet implements engine.Outbox.
func (s *SQLite) OutboxCursorGet(ctx context.Context) (int64, error) {
	if err := s.readable(ctx); err != nil {
		return 0, err
	}
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'outbox_seq'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: outbox cursor: %w", err)
	}
	return v, nil
}

// DeliveryInsert implements engine.Outbox.
func (s *SQLite) DeliveryInsert(ctx context.Context, p engine.DeliveryInsertParams) error {
	for _, d := range p.Deliveries {
		switch {
		case d.ID == "":
			return errors.New("store: delivery insert: empty id")
		case d.Channel == "" || d.Target == "" || d.Event == "":
			return fmt.Errorf("store: delivery insert %q: channel, target and event are required", d.ID)
		case d.Status != engine.DeliveryPending && d.Status != engine.DeliveryDelivered && d.Status != engine.DeliveryFailed:
			return fmt.Errorf("store: delivery insert %q: invalid status %q", d.ID, d.Status)
		}
		if _, err := unixNano(d.Created); err != nil {
			return fmt.Errorf("store: delivery insert %q: created: %w", d.ID, err)
		}
		if _, err := unixNano(d.NextAttempt); err != nil {
			return fmt.Errorf("store: delivery insert %q: next attempt: %w", d.ID, err)
		}
	}
	err := s.runTx(ctx, func(ctx context.Context, c *sql.Conn) error {
		for _, d := range p.Deliveries {
			display := d.Display
			if display == "" {
				display = d.Target
			}
			payload := d.Payload
			if payload == nil {
				payload = []byte{}
			}
			if _, err := c.ExecContext(ctx, `INSERT INTO deliveries (`+deliveryColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', 0) ON CONFLICT (id) DO NOTHING`,
				d.ID, d.JobID, d.Attempt, d.SweepID, d.Event, d.Channel, d.Target, display, payload,
				d.Status, d.Attempts, d.Created.UnixNano(), d.NextAttempt.UnixNano()); err != nil {
				return err
			}
		}
		if p.Cursor > 0 {
			if _, err := c.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'outbox_seq' AND value < ?`,
				p.Cursor, p.Cursor); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delivery insert: %w", err)
	}
	return nil
}

// DeliveryListDue implements engine.Outbox.
func (s *SQLite) DeliveryListDue(ctx context.Context, p engine.DeliveryListDueParams) ([]engine.Delivery, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	now, err := unixNano(p.Now)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries due: %w", err)
	}
	return s.deliveries(ctx, `WHERE status = 'pending' AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`, now, limit)
}

// DeliveryNextDue implements engine.Outbox.
func (s *SQLite) DeliveryNextDue(ctx context.Context) (time.Time, bool, error) {
	if err := s.readable(ctx); err != nil {
		return time.Time{}, false, err
	}
	var next sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(next_attempt) FROM deliveries WHERE status = 'pending'`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next delivery: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(0, next.Int64).UTC(), true, nil
}

// DeliveryList implements engine.Outbox.
func (s *SQLite) DeliveryList(ctx context.Context, p engine.DeliveryListParams) ([]engine.Delivery, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	switch {
	case p.JobID != "":
		return s.deliveries(ctx, `WHERE job_id = ? ORDER BY created, id`, p.JobID)
	case p.SweepID != "":
		return s.deliveries(ctx, `WHERE sweep_id = ? ORDER BY created, id`, p.SweepID)
	}
	return nil, errors.New("store: delivery list: a job id or a sweep id is required")
}

func (s *SQLite) deliveries(ctx context.Context, where string, args ...any) ([]engine.Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	defer rows.Close()
	out := []engine.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	return out, nil
}

// DeliveryUpdate implements engine.Outbox.
func (s *SQLite) DeliveryUpdate(ctx context.Context, p engine.DeliveryUpdateParams) error {
	switch p.Status {
	case engine.DeliveryPending, engine.DeliveryDelivered, engine.DeliveryFailed:
	default:
		return fmt.Errorf("store: delivery update %q: invalid status %q", p.ID, p.Status)
	}
	at, err := unixNano(p.Time)
	if err != nil {
		return fmt.Errorf("store: delivery update %q: time: %w", p.ID, err)
	}
	next := at
	if p.Status == engine.DeliveryPending {
		if next, err = unixNano(p.NextAttempt); err != nil {
			return fmt.Errorf("store: delivery update %q: next attempt: %w", p.ID, err)
		}
	}
	err = s.runTx(ctx, func(ctx context.Context, c *sql.Conn) error {
		var status string
		err := c.QueryRowContext(ctx, `SELECT status FROM deliveries WHERE id = ?`, p.ID).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return engine.ErrNotFound
		case err != nil:
			return err
		case status != engine.DeliveryPending:
			return fmt.Errorf("delivery is %s: %w", status, engine.ErrStale)
		}
		_, err = c.ExecContext(ctx, `UPDATE deliveries SET status = ?, attempts = attempts + 1, last_attempt = ?,
			next_attempt = ?, last_error = ?, last_code = ? WHERE id = ?`, p.Status, at, next, p.Error, p.Code, p.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delivery update %q: %w", p.ID, err)
	}
	return nil
}

// NotifySpecGet implements engine.Outbox.
func (s *SQLite) NotifySpecGet(ctx context.Context, id string, attempt int) (json.RawMessage, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	var spec string
	err := s.r.QueryRowContext(ctx, `SELECT spec FROM job_notify WHERE job_id = ? AND attempt = ?`, id, attempt).Scan(&spec)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("store: notify spec %q: %w", id, err)
	}
	return json.RawMessage(spec), nil
}
