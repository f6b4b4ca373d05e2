package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine"
)

var _ engine.Pruner = (*SQLite)(nil)

// JobPrune implements engine.Pruner: it deletes up to p.Limit jobs whose
// latest attempt ended before p.EndedBefore, with their earlier attempts,
// transitions and search text, in one transaction on the writer. Small
// batches keep the writer free for submissions between them.
func (s *SQLite) JobPrune(ctx context.Context, p engine.JobPruneParams) ([]string, error) {
	if p.Limit < 1 {
		return nil, errors.New("store: prune: limit must be at least 1")
	}
	before, err := unixNano(p.EndedBefore)
	if err != nil {
		return nil, fmt.Errorf("store: prune: %w", err)
	}
	var ids []string
	var perr error
	r := &writeReq{ctx: ctx, done: make(chan struct{})}
	r.fn = func() {
		ids, perr = s.prune(before, p.Limit)
		perr = s.classify(perr)
		s.noteResult(perr)
	}
	if err := s.write(ctx, r); err != nil {
		return nil, err
	}
	return ids, perr
}

// prune runs on the writer goroutine.
func (s *SQLite) prune(before int64, limit int) ([]string, error) {
	ctx := context.Background()
	// The index must hold exactly the text of the rows: apply what is
	// pending first, so the 'delete' below names what is indexed.
	if err := s.search.flush(ctx, s); err != nil {
		return nil, fmt.Errorf("store: prune: search index: %w", err)
	}
	rows, err := s.wconn.QueryContext(ctx, `SELECT first_seq, id, user, project_path FROM jobs
		WHERE end_time < ? AND +status IN ('completed', 'failed', 'cancelled') -- + : walk jobs_end_time, not the status index
		ORDER BY end_time LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("store: prune: %w", err)
	}
	var victims []*ftsChange
	for rows.Next() {
		c := &ftsChange{}
		if err := rows.Scan(&c.firstSeq, &c.old.id, &c.old.user, &c.old.projectPath); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: prune: %w", err)
		}
		victims = append(victims, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: prune: %w", err)
	}
	if len(victims) == 0 {
		return nil, nil
	}
	if err := s.setSync(ctx, false); err != nil {
		return nil, err
	}
	if _, err := s.ws.begin.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("store: prune: begin: %w", err)
	}
	fail := func(err error) ([]string, error) {
		_, _ = s.ws.rollback.ExecContext(ctx)
		return nil, fmt.Errorf("store: prune: %w", err)
	}
	if err := ftsExec(ctx, s.wconn, `INSERT INTO jobs_search (jobs_search, rowid, id, user, project_path) VALUES `,
		`('delete', ?, ?, ?, ?)`, victims, func(r *ftsChange) searchText { return r.old }); err != nil {
		return fail(err)
	}
	ids := make([]string, 0, len(victims))
	args := make([]any, 0, len(victims))
	for _, v := range victims {
		ids = append(ids, v.old.id)
		args = append(args, v.old.id)
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ") + ")"
	// Children first: attempts and transitions reference the job. The
	// count trigger keeps job_counts right as the jobs go.
	// Rows of other tables that name the job go with it (a delivery still
	// pending stays: the outbox owes it).
	for _, q := range []string{
		`DELETE FROM job_plans WHERE job_id IN ` + in,
		`DELETE FROM job_notify WHERE job_id IN ` + in,
		`DELETE FROM sweep_jobs WHERE job_id IN ` + in,
		`DELETE FROM deliveries WHERE status != 'pending' AND job_id IN ` + in,
		`DELETE FROM transitions WHERE job_id IN ` + in,
		`DELETE FROM attempts WHERE id IN ` + in,
		`DELETE FROM jobs WHERE id IN ` + in,
	} {
		if _, err := s.wconn.ExecContext(ctx, q, args...); err != nil {
			return fail(err)
		}
	}
	if _, err := s.ws.commit.ExecContext(ctx); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	return ids, nil
}

// SeedParams describe jobs Seed writes in bulk.
type SeedParams struct {
	IDPrefix string // ids are IDPrefix followed by a six-digit number from 0
	N        int
	User     string
	Status   engine.Status
	Submit   time.Time
	// End is the end time of terminal jobs (default: Submit plus a minute).
	End time.Time
}

// Seed writes p.N jobs straight into the tables, many per transaction, for
// tests and benchmarks that need a big database quickly (a hundred
// thousand jobs in seconds, where JobInsert would take tens of seconds).
// The jobs are searchable and counted like any other; each has one
// transition. It goes through the writer, between other writes.
func (s *SQLite) Seed(ctx context.Context, p SeedParams) error {
	if !p.Status.Valid() {
		return fmt.Errorf("store: seed: invalid status %q", p.Status)
	}
	submit, err := unixNano(p.Submit)
	if err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	var end any
	if p.Status.Terminal() {
		e := p.End
		if e.IsZero() {
			e = p.Submit.Add(time.Minute)
		}
		if end, err = unixNano(e); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
	}
	const chunk = 5000 // rows per transaction: the writer is free between them
	for from := 0; from < p.N; from += chunk {
		n := min(chunk, p.N-from)
		var serr error
		r := &writeReq{ctx: ctx, done: make(chan struct{})}
		r.fn = func() { serr = s.seed(p, from, n, submit, end) }
		if err := s.write(ctx, r); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
	}
	return nil
}

func (s *SQLite) seed(p SeedParams, from, n int, submit int64, end any) error {
	ctx := context.Background()
	if err := s.search.flush(ctx, s); err != nil {
		return err
	}
	if err := s.setSync(ctx, false); err != nil {
		return err
	}
	if _, err := s.ws.begin.ExecContext(ctx); err != nil {
		return err
	}
	fail := func(err error) error {
		_, _ = s.ws.rollback.ExecContext(ctx)
		return fmt.Errorf("store: seed: %w", err)
	}
	ins, err := s.wconn.PrepareContext(ctx, `INSERT INTO jobs (first_seq, id, seq, attempt, user, priority, status, kind,
		project_path, submit_time, start_time, end_time, error) VALUES (?, ?, ?, 1, ?, 0, ?, 'command', '', ?, ?, ?, '')`)
	if err != nil {
		return fail(err)
	}
	defer ins.Close()
	var fts []*ftsChange
	for i := from; i < from+n; i++ {
		seq := s.takeSeq()
		id := fmt.Sprintf("%s%06d", p.IDPrefix, i)
		var start any
		if end != nil {
			start = submit
		}
		if _, err := ins.ExecContext(ctx, seq, id, seq, p.User, string(p.Status), submit, start, end); err != nil {
			return fail(err)
		}
		if _, err := s.ws.transition.ExecContext(ctx, id, 1, string(p.Status), submit, "seeded", "system"); err != nil {
			return fail(err)
		}
		fts = append(fts, &ftsChange{firstSeq: seq, text: searchText{id: id, user: p.User}})
	}
	if err := ftsExec(ctx, s.wconn, `INSERT INTO jobs_search (rowid, id, user, project_path) VALUES `,
		`(?, ?, ?, ?)`, fts, func(r *ftsChange) searchText { return r.text }); err != nil {
		return fail(err)
	}
	if _, err := s.ws.setNextSeq.ExecContext(ctx, s.nextSeq); err != nil {
		return fail(err)
	}
	if _, err := s.wconn.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'search_seq'`, s.nextSeq-1); err != nil {
		return fail(err)
	}
	if _, err := s.ws.commit.ExecContext(ctx); err != nil {
		return fail(err)
	}
	return nil
}
