package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// actorOf is the actor stored for a change: "" is the server itself.
func actorOf(a string) string {
	if a == "" {
		return engine.SystemActor
	}
	return a
}

// AuditInsert implements engine.Store.
func (s *SQLite) AuditInsert(ctx context.Context, p engine.AuditInsertParams) error {
	if p.Action == "" {
		return errors.New("store: audit: empty action")
	}
	r := &writeReq{ctx: ctx, audit: &p, done: make(chan struct{})}
	if err := s.write(ctx, r); err != nil {
		return err
	}
	return r.err
}

// auditInsert runs one AuditInsert inside the batch's transaction.
func (s *SQLite) auditInsert(ctx context.Context, p *engine.AuditInsertParams) error {
	at := p.Time
	if at.IsZero() {
		at = time.Now()
	}
	ns, err := unixNano(at)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	if _, err := s.ws.audit.ExecContext(ctx, ns, actorOf(p.Actor), p.Action, p.Detail); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// maxAuditList bounds one AuditList.
const maxAuditList = 1000

// AuditList implements engine.Store.
func (s *SQLite) AuditList(ctx context.Context, p engine.AuditListParams) ([]engine.AuditEntry, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxAuditList)
	before := p.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, time, actor, action, detail FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit list: %w", err)
	}
	defer rows.Close()
	list := []engine.AuditEntry{}
	for rows.Next() {
		var e engine.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: audit list: %w", err)
		}
		e.Time = time.Unix(0, at).UTC()
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit list: %w", err)
	}
	return list, nil
}
