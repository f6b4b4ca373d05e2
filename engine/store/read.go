package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/simjobs/simjobs/engine"
)

// jobColumns is what scanJob reads; jobs and attempts both have them.
const jobColumns = `id, seq, attempt, user, priority, status, kind, config, submit_time,
	start_time, end_time, return_code, scheduler_job_id, error, progress, pid, pid_start`

// attemptColumns is every column an archived attempt keeps.
const attemptColumns = `id, attempt, seq, user, priority, status, kind, config, project_path,
	submit_time, start_time, end_time, return_code, scheduler_job_id, error, progress, pid, pid_start`

type scanner interface{ Scan(dest ...any) error }

// scanJob reads jobColumns, preceded by extra destinations if any.
func scanJob(row scanner, extra ...any) (engine.Job, error) {
	var (
		j                           engine.Job
		config, progress            []byte
		submit                      int64
		start, end, rc, pid, pstart sql.NullInt64
		schedID                     sql.NullString
	)
	dest := append(extra, &j.ID, &j.Seq, &j.Attempt, &j.User, &j.Priority, &j.Status, &j.Kind, &config,
		&submit, &start, &end, &rc, &schedID, &j.Error, &progress, &pid, &pstart)
	if err := row.Scan(dest...); err != nil {
		return engine.Job{}, err
	}
	// Scanning into *[]byte copies, and leaves nil for NULL.
	j.Config, j.Progress = config, progress
	j.SubmitTime = time.Unix(0, submit).UTC()
	j.StartTime, j.EndTime = timePtr(start), timePtr(end)
	if rc.Valid {
		v := int(rc.Int64)
		j.ReturnCode = &v
	}
	if schedID.Valid {
		j.SchedulerJobID = &schedID.String
	}
	if pid.Valid {
		j.Process = &engine.ProcessRef{PID: int(pid.Int64), StartTime: uint64(pstart.Int64)}
	}
	return j, nil
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64).UTC()
	return &t
}

// readStmts are prepared on the read pool (database/sql prepares them on
// each connection as it is first used).
type readStmts struct {
	get, attempts, transitions, exists, counts, active *sql.Stmt
	built                                              stmtCache
}

// maxBuiltStmts caps how many built queries stay prepared. The listing
// shapes in use are few (the dashboard's filters, the API's), but every
// combination of filters is a query text of its own.
const maxBuiltStmts = 128

// stmtCache keeps the queries that listQuery and JobCount build (one text
// per shape of filters) prepared on the read pool. Preparing the query was
// a tenth of the CPU of GET /jobs?limit=50 at a million jobs; the rows
// themselves are read through an index either way.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// query runs a built query through its prepared statement, preparing it
// the first time, or once the cache is full, directly.
func (c *stmtCache) query(ctx context.Context, db *sql.DB, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, db, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxBuiltStmts {
		return nil, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts = nil
	return errors.Join(errs...)
}

func (rs *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&rs.get, `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`},
		{&rs.attempts, `SELECT ` + jobColumns + ` FROM attempts WHERE id = ?
			UNION ALL SELECT ` + jobColumns + ` FROM jobs WHERE id = ?
			ORDER BY attempt`},
		{&rs.transitions, `SELECT job_id, attempt, status, time, message, actor FROM transitions
			WHERE job_id = ? ORDER BY rowid`},
		{&rs.exists, `SELECT 1 FROM jobs WHERE id = ?`},
		{&rs.counts, `SELECT status, n FROM job_counts`},
		{&rs.active, `SELECT ` + jobColumns + ` FROM jobs
			WHERE status IN ('pending', 'queued', 'scheduled', 'running') ORDER BY seq`},
	} {
		var err error
		if *p.stmt, err = db.PrepareContext(ctx, p.query); err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	return nil
}

func (rs *readStmts) close() error {
	errs := []error{rs.built.close()}
	for _, st := range []*sql.Stmt{rs.get, rs.attempts, rs.transitions, rs.exists, rs.counts, rs.active} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// readable reports why a read cannot start, if it cannot.
func (s *SQLite) readable(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}

// JobGet implements engine.Store.
func (s *SQLite) JobGet(ctx context.Context, id string) (engine.Job, error) {
	if err := s.readable(ctx); err != nil {
		return engine.Job{}, err
	}
	j, err := scanJob(s.rs.get.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return engine.Job{}, fmt.Errorf("store: get %q: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return engine.Job{}, fmt.Errorf("store: get %q: %w", id, err)
	}
	return j, nil
}

// searchable brings the search index up to date before a search, so that
// it finds every job committed before it (the writer indexes lazily).
func (s *SQLite) searchable(ctx context.Context, p engine.JobListParams) error {
	if p.Search == "" {
		return nil
	}
	return s.flushSearch(ctx)
}

// JobList implements engine.Store. It returns an empty, non-nil slice when
// nothing matches. Search is a case-insensitive substring match.
func (s *SQLite) JobList(ctx context.Context, p engine.JobListParams) ([]engine.Job, error) {
	jobs, _, err := s.JobListPage(ctx, p)
	return jobs, err
}

// JobListPage is JobList that also returns the listing key (the first
// attempt's seq) of the last job returned, 0 when none: pass it as AfterSeq,
// or as BeforeSeq when listing Descending, to fetch the next page. Job.Seq
// cannot serve as that cursor once a job has had a second attempt.
func (s *SQLite) JobListPage(ctx context.Context, p engine.JobListParams) (jobs []engine.Job, next int64, err error) {
	if err := s.readable(ctx); err != nil {
		return nil, 0, err
	}
	if err := s.searchable(ctx, p); err != nil {
		return nil, 0, err
	}
	query, args := listQuery(p)
	rows, err := s.rs.built.query(ctx, s.r, query, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list: %w", err)
	}
	defer rows.Close()
	jobs = []engine.Job{}
	for rows.Next() {
		j, err := scanJob(rows, &next)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list: %w", err)
		}
		j.ListSeq = next
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list: %w", err)
	}
	return jobs, next, nil
}

// JobCount implements engine.Store. Filtering by status alone reads the
// per-status counters; user, seq bounds and searches count over an index
// (a search under three characters scans the table).
func (s *SQLite) JobCount(ctx context.Context, p engine.JobListParams) (int, error) {
	if err := s.readable(ctx); err != nil {
		return 0, err
	}
	if err := s.searchable(ctx, p); err != nil {
		return 0, err
	}
	var query string
	var args []any
	statuses := dedupe(p.Statuses)
	if p.User == "" && p.Search == "" && p.AfterSeq <= 0 && p.BeforeSeq <= 0 {
		query = `SELECT COALESCE(SUM(n), 0) FROM job_counts`
		if len(statuses) > 0 {
			query += ` WHERE status IN (` + placeholders(len(statuses)) + `)`
			for _, st := range statuses {
				args = append(args, string(st))
			}
		}
	} else {
		query, args = countQuery(p)
	}
	rows, err := s.rs.built.query(ctx, s.r, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	defer rows.Close()
	var n int
	if !rows.Next() {
		return 0, fmt.Errorf("store: count: %w", errors.Join(rows.Err(), errors.New("no row")))
	}
	if err := rows.Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, rows.Err()
}

// JobCountByStatus implements engine.Store. It reads the counters the
// schema's triggers keep, one row per status, and reports every known
// status, zero or not.
func (s *SQLite) JobCountByStatus(ctx context.Context) (map[engine.Status]int, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	counts := make(map[engine.Status]int, len(engine.Statuses))
	for _, st := range engine.Statuses {
		counts[st] = 0
	}
	rows, err := s.rs.counts.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: count by status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st engine.Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: count by status: %w", err)
		}
		counts[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: count by status: %w", err)
	}
	return counts, nil
}

// JobListActive implements engine.Store.
func (s *SQLite) JobListActive(ctx context.Context) ([]engine.Job, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	jobs, err := collect(s.rs.active.QueryContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("store: list active: %w", err)
	}
	return jobs, nil
}

// AttemptList implements engine.Store. An unknown id is ErrNotFound.
func (s *SQLite) AttemptList(ctx context.Context, id string) ([]engine.Job, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	// One statement reads both tables from one snapshot.
	jobs, err := collect(s.rs.attempts.QueryContext(ctx, id, id))
	if err != nil {
		return nil, fmt.Errorf("store: attempts of %q: %w", id, err)
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("store: attempts of %q: %w", id, engine.ErrNotFound)
	}
	return jobs, nil
}

// TransitionList implements engine.Store. An unknown id is ErrNotFound.
func (s *SQLite) TransitionList(ctx context.Context, id string) ([]engine.Transition, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	rows, err := s.rs.transitions.QueryContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("store: transitions of %q: %w", id, err)
	}
	defer rows.Close()
	var list []engine.Transition
	for rows.Next() {
		var t engine.Transition
		var at int64
		if err := rows.Scan(&t.JobID, &t.Attempt, &t.Status, &at, &t.Message, &t.Actor); err != nil {
			return nil, fmt.Errorf("store: transitions of %q: %w", id, err)
		}
		t.Time = time.Unix(0, at).UTC()
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: transitions of %q: %w", id, err)
	}
	if len(list) == 0 {
		// Every stored job has its insert transition, so no rows means no
		// job; checked anyway rather than assumed.
		var one int
		err := s.rs.exists.QueryRowContext(ctx, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("store: transitions of %q: %w", id, engine.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("store: transitions of %q: %w", id, err)
		}
		return []engine.Transition{}, nil
	}
	return list, nil
}

func collect(rows *sql.Rows, err error) ([]engine.Job, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	jobs := []engine.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// listColumns is jobColumns qualified, for queries that join jobs_search.
var listColumns = func() string {
	cols := strings.Split(jobColumns, ",")
	for i, c := range cols {
		cols[i] = "jobs." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// listQuery builds JobListPage's query. Every shape walks an index in
// listing order and stops at LIMIT (see TestQueryPlans):
//   - no status or one status: one index range (the table itself, or
//     status/user/user+status indexes, all ending in first_seq);
//   - several statuses with a limit: one bounded range per status, merged.
//     An IN list would make SQLite either sort every matching row or scan
//     the whole table for a rare status;
//   - a search of three characters or more: the trigram index, in rowid
//     (first_seq) order, other filters checked on each match.
func listQuery(p engine.JobListParams) (string, []any) {
	statuses := dedupe(p.Statuses)
	match, fts := ftsPhrase(p.Search)
	key := "jobs.first_seq"
	from := " FROM jobs"
	if fts {
		key = "jobs_search.rowid"
		from = " FROM jobs_search JOIN jobs ON jobs.first_seq = jobs_search.rowid"
	}
	order := " ORDER BY " + key
	if p.Descending {
		order += " DESC"
	}
	limit, offset := max(p.Limit, 0), max(p.Offset, 0)
	var page string
	var pageArgs []any
	switch {
	case limit > 0:
		page, pageArgs = " LIMIT ? OFFSET ?", []any{limit, offset}
	case offset > 0:
		page, pageArgs = " LIMIT -1 OFFSET ?", []any{offset}
	}
	cols := "SELECT jobs.first_seq, " + listColumns + from

	if fts || len(statuses) < 2 || limit == 0 {
		where, args := whereClause(p, statuses, match)
		return cols + where + order + page, append(args, pageArgs...)
	}
	var b strings.Builder
	var args []any
	for i, st := range statuses {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		where, wargs := whereClause(p, []engine.Status{st}, "")
		b.WriteString("SELECT * FROM (" + cols + where + order + " LIMIT ?)")
		args = append(append(args, wargs...), limit+offset)
	}
	// The compound's ORDER BY names the result column, unqualified.
	order = " ORDER BY first_seq"
	if p.Descending {
		order += " DESC"
	}
	return b.String() + order + page, append(args, pageArgs...)
}

// countQuery builds JobCount's query for filters the per-status counters
// cannot answer.
func countQuery(p engine.JobListParams) (string, []any) {
	match, fts := ftsPhrase(p.Search)
	statuses := dedupe(p.Statuses)
	from := " FROM jobs"
	switch {
	case fts && len(statuses) == 0 && p.User == "":
		// Every condition is on the index: counting there saves a row
		// lookup per match (60 ms instead of 900 for 200,000 matches).
		from = " FROM jobs_search"
	case fts:
		from = " FROM jobs_search JOIN jobs ON jobs.first_seq = jobs_search.rowid"
	}
	where, args := whereClause(p, statuses, match)
	return "SELECT count(*)" + from + where, args
}

// ftsPhrase turns a search into an FTS5 phrase: with the trigram tokenizer
// a phrase matches wherever the text contains it, case-insensitively. A
// search shorter than a trigram cannot use the index; ok is false and the
// search falls back to LIKE over the table.
func ftsPhrase(search string) (phrase string, ok bool) {
	if utf8.RuneCountInString(search) < 3 {
		return "", false
	}
	return `"` + strings.ReplaceAll(search, `"`, `""`) + `"`, true
}

// whereClause renders the filters of p other than paging, with statuses
// already deduplicated. A non-empty match means the query joins
// jobs_search and searches through it.
func whereClause(p engine.JobListParams, statuses []engine.Status, match string) (string, []any) {
	var conds []string
	var args []any
	key := "jobs.first_seq"
	if match != "" {
		key = "jobs_search.rowid"
		conds, args = append(conds, "jobs_search MATCH ?"), append(args, match)
	}
	switch len(statuses) {
	case 0:
	case 1:
		conds, args = append(conds, "jobs.status = ?"), append(args, string(statuses[0]))
	default:
		conds = append(conds, "jobs.status IN ("+placeholders(len(statuses))+")")
		for _, st := range statuses {
			args = append(args, string(st))
		}
	}
	if p.User != "" {
		conds, args = append(conds, "jobs.user = ?"), append(args, p.User)
	}
	if p.AfterSeq > 0 {
		conds, args = append(conds, key+" > ?"), append(args, p.AfterSeq)
	}
	if p.BeforeSeq > 0 {
		conds, args = append(conds, key+" < ?"), append(args, p.BeforeSeq)
	}
	if p.Search != "" && match == "" {
		pat := "%" + likeEscaper.Replace(p.Search) + "%"
		conds = append(conds, `(jobs.id LIKE ? ESCAPE '\' OR jobs.user LIKE ? ESCAPE '\' OR jobs.project_path LIKE ? ESCAPE '\')`)
		args = append(args, pat, pat, pat)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func dedupe(statuses []engine.Status) []engine.Status {
	if len(statuses) < 2 {
		return statuses
	}
	out := slices.Clone(statuses)
	slices.Sort(out)
	return slices.Compact(out)
}
