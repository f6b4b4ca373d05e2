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

// SweepInsert implements engine.Store. The whole sweep is one write: it
// commits in the writer's next batch inside one savepoint, so either every
// job of the sweep is stored or none is.
func (s *SQLite) SweepInsert(ctx context.Context, p engine.SweepInsertParams) ([]engine.Job, error) {
	if p.ID == "" {
		return nil, errors.New("store: sweep insert: empty sweep id")
	}
	if len(p.Jobs) == 0 {
		return nil, fmt.Errorf("store: sweep insert %q: no jobs", p.ID)
	}
	// Validation and JSON parsing stay off the writer, as for JobInsert.
	for i := range p.Jobs {
		project, err := checkInsert(&p.Jobs[i])
		if err != nil {
			return nil, err
		}
		p.Jobs[i].ProjectPath = project
	}
	r := &writeReq{ctx: ctx, sweep: &p, done: make(chan struct{})}
	if err := s.write(ctx, r); err != nil {
		return nil, err
	}
	return r.jobs, r.err
}

// insertSweep runs one SweepInsert inside the batch's transaction (and its
// own savepoint: runBatch rolls it back whole if it fails).
func (s *SQLite) insertSweep(ctx context.Context, p *engine.SweepInsertParams, search *ftsBatch) ([]engine.Job, error) {
	params, err := json.Marshal(p.Parameters)
	if err != nil {
		return nil, fmt.Errorf("store: sweep insert %q: parameters: %w", p.ID, err)
	}
	submit := p.SubmitTime
	if submit.IsZero() {
		submit = time.Now()
	}
	submitNS, err := unixNano(submit.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: sweep insert %q: submit time: %w", p.ID, err)
	}
	res, err := s.sws.insertSweep.ExecContext(ctx, p.ID, p.Name, p.User, p.Mode, p.MaxParallel, p.Priority, string(params), len(p.Jobs), submitNS, string(p.Notify))
	if err != nil {
		return nil, fmt.Errorf("store: sweep insert %q: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, fmt.Errorf("store: sweep insert %q: the sweep id is taken: %w", p.ID, engine.ErrJobActive)
	}
	var mine ftsBatch
	jobs := make([]engine.Job, len(p.Jobs))
	for i := range p.Jobs {
		jp := &p.Jobs[i]
		j, change, err := s.insertAttempt(ctx, jp, jp.ProjectPath)
		if err != nil {
			return nil, fmt.Errorf("store: sweep insert %q: job %q: %w", p.ID, jp.ID, err)
		}
		if j.Attempt != 1 {
			return nil, fmt.Errorf("store: sweep insert %q: job id %q is taken: %w", p.ID, jp.ID, engine.ErrJobActive)
		}
		if _, err := s.sws.insertMember.ExecContext(ctx, jp.ID, p.ID, i); err != nil {
			return nil, fmt.Errorf("store: sweep insert %q: job %q: %w", p.ID, jp.ID, err)
		}
		mine.add(change)
		jobs[i] = j
	}
	search.merge(&mine)
	return jobs, nil
}

// savePlan stores a job's plan with its attempt; a later attempt without
// one drops the earlier attempt's.
func (s *SQLite) savePlan(ctx context.Context, id string, plan *engine.JobPlan, later bool) error {
	if plan == nil || (len(plan.DependsOn) == 0 && plan.Retry == nil) {
		if later {
			if _, err := s.sws.deletePlan.ExecContext(ctx, id); err != nil {
				return fmt.Errorf("plan: %w", err)
			}
		}
		return nil
	}
	var deps, retry any
	if len(plan.DependsOn) > 0 {
		b, err := json.Marshal(plan.DependsOn)
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		deps = string(b)
	}
	if plan.Retry != nil {
		b, err := json.Marshal(plan.Retry)
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		retry = string(b)
	}
	if _, err := s.sws.upsertPlan.ExecContext(ctx, id, deps, retry); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return nil
}

// sweepStmts are prepared once on the writer's connection.
type sweepStmts struct {
	insertSweep, insertMember, upsertPlan, deletePlan *sql.Stmt
}

func (st *sweepStmts) prepare(ctx context.Context, c *sql.Conn) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&st.insertSweep, `INSERT INTO sweeps (id, name, user, mode, max_parallel, priority, parameters, total, submit_time, notify)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`},
		{&st.insertMember, `INSERT INTO sweep_jobs (job_id, sweep_id, idx) VALUES (?, ?, ?)`},
		{&st.upsertPlan, `INSERT INTO job_plans (job_id, depends_on, retry) VALUES (?, ?, ?)
			ON CONFLICT (job_id) DO UPDATE SET depends_on = excluded.depends_on, retry = excluded.retry`},
		{&st.deletePlan, `DELETE FROM job_plans WHERE job_id = ?`},
	} {
		var err error
		if *p.stmt, err = c.PrepareContext(ctx, p.query); err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	return nil
}

func (st *sweepStmts) close() error {
	var errs []error
	for _, x := range []*sql.Stmt{st.insertSweep, st.insertMember, st.upsertPlan, st.deletePlan} {
		if x != nil {
			errs = append(errs, x.Close())
		}
	}
	return errors.Join(errs...)
}

const sweepColumns = `id, name, user, mode, max_parallel, priority, parameters, total, submit_time, notify`

func scanSweep(row scanner) (engine.Sweep, error) {
	var sw engine.Sweep
	var params string
	var submit int64
	var notifySpec string
	if err := row.Scan(&sw.ID, &sw.Name, &sw.User, &sw.Mode, &sw.MaxParallel, &sw.Priority, &params, &sw.Total, &submit, &notifySpec); err != nil {
		return sw, err
	}
	if notifySpec != "" {
		sw.Notify = json.RawMessage(notifySpec)
	}
	if err := json.Unmarshal([]byte(params), &sw.Parameters); err != nil {
		return sw, fmt.Errorf("parameters: %w", err)
	}
	sw.SubmitTime = time.Unix(0, submit).UTC()
	return sw, nil
}

// sweepCounts fills in a sweep's counts per status and, once every job
// ended, its end time.
func (s *SQLite) sweepCounts(ctx context.Context, sw *engine.Sweep) error {
	rows, err := s.r.QueryContext(ctx, `SELECT jobs.status, count(*), max(jobs.end_time) FROM sweep_jobs
		JOIN jobs ON jobs.id = sweep_jobs.job_id WHERE sweep_jobs.sweep_id = ? GROUP BY jobs.status`, sw.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	sw.Counts = map[engine.Status]int{}
	ended, last := 0, int64(0)
	for rows.Next() {
		var st engine.Status
		var n int
		var end sql.NullInt64
		if err := rows.Scan(&st, &n, &end); err != nil {
			return err
		}
		sw.Counts[st] = n
		if st.Terminal() {
			ended += n
			if end.Valid && end.Int64 > last {
				last = end.Int64
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if ended == sw.Total && last > 0 {
		t := time.Unix(0, last).UTC()
		sw.EndTime = &t
	}
	return nil
}

// SweepGet implements engine.Store.
func (s *SQLite) SweepGet(ctx context.Context, id string) (engine.Sweep, error) {
	if err := s.readable(ctx); err != nil {
		return engine.Sweep{}, err
	}
	sw, err := scanSweep(s.r.QueryRowContext(ctx, `SELECT `+sweepColumns+` FROM sweeps WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return engine.Sweep{}, fmt.Errorf("store: sweep %q: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return engine.Sweep{}, fmt.Errorf("store: sweep %q: %w", id, err)
	}
	if err := s.sweepCounts(ctx, &sw); err != nil {
		return engine.Sweep{}, fmt.Errorf("store: sweep %q: counts: %w", id, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT job_id FROM sweep_jobs WHERE sweep_id = ? ORDER BY idx`, id)
	if err != nil {
		return engine.Sweep{}, fmt.Errorf("store: sweep %q: jobs: %w", id, err)
	}
	defer rows.Close()
	sw.JobIDs = make([]string, 0, sw.Total)
	for rows.Next() {
		var j string
		if err := rows.Scan(&j); err != nil {
			return engine.Sweep{}, fmt.Errorf("store: sweep %q: jobs: %w", id, err)
		}
		sw.JobIDs = append(sw.JobIDs, j)
	}
	if err := rows.Err(); err != nil {
		return engine.Sweep{}, fmt.Errorf("store: sweep %q: jobs: %w", id, err)
	}
	return sw, nil
}

func sweepWhere(p engine.SweepListParams) (string, []any) {
	if p.User == "" {
		return "", nil
	}
	return " WHERE user = ?", []any{p.User}
}

// SweepList implements engine.Store.
func (s *SQLite) SweepList(ctx context.Context, p engine.SweepListParams) ([]engine.Sweep, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	where, args := sweepWhere(p)
	limit := p.Limit
	if limit <= 0 {
		limit = -1
	}
	args = append(args, limit, max(p.Offset, 0))
	rows, err := s.r.QueryContext(ctx, `SELECT `+sweepColumns+` FROM sweeps`+where+` ORDER BY seq DESC LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list sweeps: %w", err)
	}
	list := []engine.Sweep{}
	for rows.Next() {
		sw, err := scanSweep(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list sweeps: %w", err)
		}
		list = append(list, sw)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sweeps: %w", err)
	}
	for i := range list {
		if err := s.sweepCounts(ctx, &list[i]); err != nil {
			return nil, fmt.Errorf("store: list sweeps: counts: %w", err)
		}
	}
	return list, nil
}

// SweepCount implements engine.Store.
func (s *SQLite) SweepCount(ctx context.Context, p engine.SweepListParams) (int, error) {
	if err := s.readable(ctx); err != nil {
		return 0, err
	}
	where, args := sweepWhere(p)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sweeps`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count sweeps: %w", err)
	}
	return n, nil
}

// SweepJobs implements engine.Store.
func (s *SQLite) SweepJobs(ctx context.Context, id string) ([]engine.Job, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	jobs, err := collect(s.r.QueryContext(ctx, `SELECT `+listColumns+` FROM sweep_jobs
		JOIN jobs ON jobs.id = sweep_jobs.job_id WHERE sweep_jobs.sweep_id = ? ORDER BY sweep_jobs.idx`, id))
	if err != nil {
		return nil, fmt.Errorf("store: sweep %q jobs: %w", id, err)
	}
	return jobs, nil
}

const planQuery = `SELECT jobs.id, sweep_jobs.sweep_id, sweep_jobs.idx, sweeps.max_parallel, job_plans.depends_on, job_plans.retry
	FROM jobs
	LEFT JOIN sweep_jobs ON sweep_jobs.job_id = jobs.id
	LEFT JOIN sweeps ON sweeps.id = sweep_jobs.sweep_id
	LEFT JOIN job_plans ON job_plans.job_id = jobs.id`

func scanPlan(row scanner) (engine.JobPlan, error) {
	var p engine.JobPlan
	var sweep, deps, retry sql.NullString
	var idx, maxPar sql.NullInt64
	if err := row.Scan(&p.JobID, &sweep, &idx, &maxPar, &deps, &retry); err != nil {
		return p, err
	}
	p.SweepID, p.SweepIndex, p.MaxParallel = sweep.String, int(idx.Int64), int(maxPar.Int64)
	if deps.Valid {
		if err := json.Unmarshal([]byte(deps.String), &p.DependsOn); err != nil {
			return p, fmt.Errorf("depends_on: %w", err)
		}
	}
	if retry.Valid {
		p.Retry = new(engine.RetryPolicy)
		if err := json.Unmarshal([]byte(retry.String), p.Retry); err != nil {
			return p, fmt.Errorf("retry: %w", err)
		}
	}
	return p, nil
}

// PlanGet implements engine.Store.
func (s *SQLite) PlanGet(ctx context.Context, jobID string) (engine.JobPlan, error) {
	if err := s.readable(ctx); err != nil {
		return engine.JobPlan{}, err
	}
	p, err := scanPlan(s.r.QueryRowContext(ctx, planQuery+` WHERE jobs.id = ?`, jobID))
	if errors.Is(err, sql.ErrNoRows) {
		return engine.JobPlan{JobID: jobID}, nil
	}
	if err != nil {
		return engine.JobPlan{}, fmt.Errorf("store: plan of %q: %w", jobID, err)
	}
	return p, nil
}

// PlanListActive implements engine.Store.
func (s *SQLite) PlanListActive(ctx context.Context) ([]engine.JobPlan, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, planQuery+` WHERE jobs.status IN ('pending', 'queued', 'scheduled', 'running')
		AND (sweep_jobs.job_id IS NOT NULL OR job_plans.job_id IS NOT NULL) ORDER BY jobs.seq`)
	if err != nil {
		return nil, fmt.Errorf("store: active plans: %w", err)
	}
	defer rows.Close()
	var out []engine.JobPlan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: active plans: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
