package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// A writeReq is one write waiting for the writer goroutine. Exactly one of
// insert and update is set. The writer fills job and err and then closes
// done; the caller reads them only after done is closed.
type writeReq struct {
	ctx    context.Context
	insert *engine.JobInsertParams
	update *engine.JobUpdateParams
	audit  *engine.AuditInsertParams
	// sweep, set alone, is a SweepInsert; its jobs come back in jobs.
	sweep *engine.SweepInsertParams
	jobs  []engine.Job
	// flush, set alone, asks the writer to bring the search index up to
	// date before it answers (a search must see every committed job).
	flush bool
	// fn, set alone, runs on the writer goroutine (tests hand it batches).
	fn func()
	// tx, set alone, is a write of its own (the outbox) run inside the
	// batch's transaction, in a savepoint like the others.
	tx func(ctx context.Context, c *sql.Conn) error
	// txNoSync lets a tx commit without waiting for the disk (see
	// JobUpdateParams.NoSync).
	txNoSync bool
	// projectPath is the insert's config.project_path, parsed by the caller.
	projectPath string

	job  engine.Job
	err  error
	done chan struct{}
}

// JobInsert implements engine.Store.
func (s *SQLite) JobInsert(ctx context.Context, p engine.JobInsertParams) (engine.Job, error) {
	project, err := checkInsert(&p)
	if err != nil {
		return engine.Job{}, err
	}
	r := &writeReq{ctx: ctx, insert: &p, projectPath: project, done: make(chan struct{})}
	if err := s.write(ctx, r); err != nil {
		return engine.Job{}, err
	}
	return r.job, r.err
}

// JobUpdate implements engine.Store.
func (s *SQLite) JobUpdate(ctx context.Context, p engine.JobUpdateParams) error {
	if p.Status != "" && !p.Status.Valid() {
		return fmt.Errorf("store: update %q: invalid status %q", p.ID, p.Status)
	}
	if p.FromStatus != "" && !p.FromStatus.Valid() {
		return fmt.Errorf("store: update %q: invalid from-status %q", p.ID, p.FromStatus)
	}
	if p.Progress != nil && !json.Valid(p.Progress) {
		return fmt.Errorf("store: update %q: progress is not valid JSON", p.ID)
	}
	r := &writeReq{ctx: ctx, update: &p, done: make(chan struct{})}
	if err := s.write(ctx, r); err != nil {
		return err
	}
	return r.err
}

// checkInsert validates p and extracts the project path for the search
// column. It runs in the caller's goroutine, keeping JSON parsing off the
// single writer.
func checkInsert(p *engine.JobInsertParams) (projectPath string, err error) {
	switch {
	case p.ID == "":
		return "", errors.New("store: insert: empty job id")
	case !p.Status.Valid():
		return "", fmt.Errorf("store: insert %q: invalid status %q", p.ID, p.Status)
	case len(p.Config) == 0:
		return "", nil
	case p.ProjectPath != "":
		return p.ProjectPath, nil
	}
	// Unmarshal checks the whole document, so this also rejects invalid JSON.
	// A config that is not an object (a plain command's argv, say) has no
	// project path and is searched by id and user only.
	var c struct {
		ProjectPath string `json:"project_path"`
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(p.Config, &c); err != nil && !errors.As(err, &typeErr) {
		return "", fmt.Errorf("store: insert %q: config: %w", p.ID, err)
	}
	return c.ProjectPath, nil
}

// write hands r to the writer and waits for its answer. It returns an error
// only when r was not answered (closed store, cancelled context); the
// answer's own error is in r.err.
//
// A context cancelled after the hand-over returns ctx.Err() at once, but the
// write may still commit: like a lost network reply, the caller cannot tell.
// JobInsert is idempotent on the job id, so a retry is safe.
func (s *SQLite) write(ctx context.Context, r *writeReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed.Load() {
		s.mu.RUnlock()
		return errClosed
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		select {
		case <-r.done: // answered meanwhile: report what happened
			return nil
		default:
			return ctx.Err()
		}
	}
}

// writeLoop is the writer goroutine: it takes one request, gathers whatever
// else is already waiting (up to maxBatch) and commits them all in one
// transaction, so concurrent writers share one fsync.
func (s *SQLite) writeLoop() {
	defer close(s.done)
	batch := make([]*writeReq, 0, s.opts.maxBatch)
	for {
		var r *writeReq
		select {
		case r = <-s.reqs:
		case <-s.search.due():
			// Writes were quiet for a while: index what is pending.
			s.search.flush(context.Background(), s)
			s.ckpt.committed()
			continue
		case <-s.quit:
			// Close holds mu, so no hand-over is in progress and every
			// request received so far has been answered.
			s.search.flush(context.Background(), s)
			return
		}
		batch = append(batch[:0], r)
	gather:
		for len(batch) < s.opts.maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.runWrites(batch)
		s.ckpt.committed() // whatever the batch was, it may have added WAL frames
		clear(batch)       // drop references so answered requests can be collected
	}
}

// runWrites runs a batch of writes, then, if any request asked for it or
// too much is pending, brings the search index up to date.
func (s *SQLite) runWrites(batch []*writeReq) {
	writes, flushes := batch[:0:0], []*writeReq(nil)
	for _, r := range batch {
		switch {
		case r.fn != nil:
			r.fn()
			close(r.done)
		case r.flush:
			flushes = append(flushes, r)
		default:
			writes = append(writes, r)
		}
	}
	if len(writes) > 0 {
		s.runBatch(writes)
	}
	if len(flushes) > 0 || s.search.full() {
		err := s.search.flush(context.Background(), s)
		for _, r := range flushes {
			r.err = err
			close(r.done)
		}
	}
}

// flushSearch brings the search index up to date with every committed
// write, through the writer.
func (s *SQLite) flushSearch(ctx context.Context) error {
	r := &writeReq{ctx: ctx, flush: true, done: make(chan struct{})}
	if err := s.write(ctx, r); err != nil {
		return err
	}
	return r.err
}

// runBatch commits batch in one transaction and answers every request. Each
// write runs inside its own savepoint: a write that fails is rolled back
// alone and keeps its own error, the others commit. The search index is
// brought up to date once, after the writes.
func (s *SQLite) runBatch(batch []*writeReq) {
	if s.testHookBatch != nil {
		s.testHookBatch(len(batch))
	}
	defer func() {
		// Name the cause of failures that come from the volume (full,
		// read-only), so callers answer 503 with it, and remember it for
		// Health until a write succeeds again.
		var fault error
		inserted := false
		for _, r := range batch {
			r.err = s.classify(r.err)
			if errors.Is(r.err, engine.ErrStoreUnavailable) {
				fault = r.err
			}
			inserted = inserted || (r.insert != nil && r.err == nil)
		}
		// A small update can still fit in a full volume (in WAL space
		// already allocated) while a submission does not: only a stored
		// submission says the fault is over.
		if fault != nil || inserted {
			s.noteResult(fault)
		}
		for _, r := range batch {
			close(r.done)
		}
	}()
	// The batch serves many callers; no one caller's context may abort it.
	ctx := context.Background()
	failAll := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.job, r.err = engine.Job{}, fmt.Errorf("store: %w", err)
			}
		}
	}
	if err := s.syncFor(ctx, batch); err != nil {
		failAll(err)
		return
	}
	if _, err := s.ws.begin.ExecContext(ctx); err != nil {
		failAll(fmt.Errorf("begin: %w", err))
		return
	}
	seq := s.nextSeq
	var search ftsBatch
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // the caller has gone; do not write on its behalf
			continue
		}
		if _, err := s.ws.savepoint.ExecContext(ctx); err != nil {
			s.abort(ctx, fmt.Errorf("savepoint: %w", err), failAll)
			return
		}
		if r.insert != nil {
			var change ftsChange
			r.job, change, r.err = s.insert(ctx, r.insert, r.projectPath)
			if r.err == nil {
				search.add(change)
			}
		} else if r.tx != nil {
			r.err = r.tx(ctx, s.wconn)
		} else if r.audit != nil {
			r.err = s.auditInsert(ctx, r.audit)
		} else if r.sweep != nil {
			r.jobs, r.err = s.insertSweep(ctx, r.sweep, &search)
		} else {
			r.err = s.update(ctx, r.update)
		}
		if r.err != nil {
			if _, err := s.ws.rollbackTo.ExecContext(ctx); err != nil {
				s.abort(ctx, fmt.Errorf("rollback to savepoint: %w", err), failAll)
				return
			}
		}
		if _, err := s.ws.release.ExecContext(ctx); err != nil {
			s.abort(ctx, fmt.Errorf("release savepoint: %w", err), failAll)
			return
		}
	}
	if s.nextSeq != seq {
		if _, err := s.ws.setNextSeq.ExecContext(ctx, s.nextSeq); err != nil {
			s.abort(ctx, fmt.Errorf("save next_seq: %w", err), failAll)
			return
		}
	}
	if _, err := s.ws.commit.ExecContext(ctx); err != nil {
		s.abort(ctx, fmt.Errorf("commit: %w", err), failAll)
		return
	}
	s.search.queue(&search)
}

// syncFor sets how the batch's commit reaches the disk: a batch made only of
// NoSync updates commits with synchronous=NORMAL (no fsync; the WAL still
// keeps it across a process crash), any other with the configured setting.
// Switching costs one statement, and only when the kind of batch changes.
func (s *SQLite) syncFor(ctx context.Context, batch []*writeReq) error {
	if s.opts.synchronous != SynchronousFull {
		return nil
	}
	lazy := true
	for _, r := range batch {
		if (r.update == nil || !r.update.NoSync) && (r.tx == nil || !r.txNoSync) {
			lazy = false
			break
		}
	}
	return s.setSync(ctx, lazy)
}

// setSync switches the write connection between the configured FULL and
// NORMAL (lazy), when it is not there already.
func (s *SQLite) setSync(ctx context.Context, lazy bool) error {
	if s.opts.synchronous != SynchronousFull || lazy == s.lazySync {
		return nil
	}
	// Not prepared: SQLite applies this pragma when it compiles it.
	query := "PRAGMA synchronous = FULL"
	if lazy {
		query = "PRAGMA synchronous = NORMAL"
	}
	if _, err := s.wconn.ExecContext(ctx, query); err != nil {
		return fmt.Errorf("set synchronous: %w", err)
	}
	s.lazySync = lazy
	return nil
}

// abort rolls the batch's transaction back and fails every write that had
// not already failed. Seqs taken by the batch stay used: a gap is harmless,
// reuse is not.
func (s *SQLite) abort(ctx context.Context, err error, failAll func(error)) {
	if _, rerr := s.ws.rollback.ExecContext(ctx); rerr != nil {
		err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
	}
	failAll(err)
}

func (s *SQLite) takeSeq() int64 {
	seq := s.nextSeq
	s.nextSeq++
	return seq
}

// insert runs one JobInsert inside the batch's transaction.
func (s *SQLite) insert(ctx context.Context, p *engine.JobInsertParams, project string) (engine.Job, ftsChange, error) {
	j, change, err := s.insertAttempt(ctx, p, project)
	if err != nil {
		err = fmt.Errorf("store: insert %q: %w", p.ID, err)
	}
	return j, change, err
}

// insertAttempt stores the job's first attempt, or archives its terminal
// attempt and stores the next; it returns the change to the search text.
func (s *SQLite) insertAttempt(ctx context.Context, p *engine.JobInsertParams, project string) (engine.Job, ftsChange, error) {
	submit := p.SubmitTime
	if submit.IsZero() {
		submit = time.Now()
	}
	submit = submit.Round(0).UTC()
	submitNS, err := unixNano(submit)
	if err != nil {
		return engine.Job{}, ftsChange{}, fmt.Errorf("submit time: %w", err)
	}
	var config any // NULL for no config
	if len(p.Config) > 0 {
		config = string(p.Config)
	}

	var (
		attempt  int
		status   engine.Status
		seq      int64
		firstSeq int64
		old      searchText
	)
	change := ftsChange{text: searchText{p.ID, p.User, project}}
	// Most submissions are new jobs: try the insert first, and look at the
	// existing job only when the id is taken (the insert then does nothing).
	seq = s.takeSeq()
	res, err := s.ws.insertJob.ExecContext(ctx, seq, p.ID, seq, p.User, p.Priority,
		string(p.Status), string(p.Kind), config, project, submitNS)
	if err != nil {
		return engine.Job{}, ftsChange{}, err
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return engine.Job{}, ftsChange{}, err
	}
	if inserted == 1 {
		attempt = 1
		change.firstSeq = seq
	} else {
		err = s.ws.lookup.QueryRowContext(ctx, p.ID).Scan(&attempt, &status, &firstSeq, &old.user, &old.projectPath)
		switch {
		case err != nil:
			return engine.Job{}, ftsChange{}, err
		case !status.Terminal():
			job, err := scanJob(s.ws.get.QueryRowContext(ctx, p.ID))
			if err != nil {
				return engine.Job{}, ftsChange{}, err
			}
			return job, ftsChange{}, fmt.Errorf("attempt %d is %s: %w", job.Attempt, job.Status, engine.ErrJobActive)
		}
		attempt++
		seq = s.takeSeq()
		if _, err := s.ws.archive.ExecContext(ctx, p.ID); err != nil {
			return engine.Job{}, ftsChange{}, fmt.Errorf("archive attempt %d: %w", attempt-1, err)
		}
		if _, err := s.ws.renew.ExecContext(ctx, seq, attempt, p.User, p.Priority,
			string(p.Status), string(p.Kind), config, project, submitNS, p.ID); err != nil {
			return engine.Job{}, ftsChange{}, fmt.Errorf("attempt %d: %w", attempt, err)
		}
		old.id = p.ID
		change.firstSeq, change.indexed, change.old = firstSeq, true, old
	}
	change.seq = seq
	if _, err := s.ws.transition.ExecContext(ctx, p.ID, attempt, string(p.Status), submitNS, p.Message, actorOf(p.Actor)); err != nil {
		return engine.Job{}, ftsChange{}, fmt.Errorf("transition: %w", err)
	}
	if err := s.savePlan(ctx, p.ID, p.Plan, attempt > 1); err != nil {
		return engine.Job{}, ftsChange{}, err
	}
	if len(p.Notify) > 0 {
		if err := s.insertNotify(ctx, p.ID, attempt, p.Notify); err != nil {
			return engine.Job{}, ftsChange{}, fmt.Errorf("notify spec: %w", err)
		}
	}
	var cfg json.RawMessage
	if len(p.Config) > 0 {
		cfg = append(json.RawMessage(nil), p.Config...)
	}
	return engine.Job{
		ID:         p.ID,
		User:       p.User,
		Priority:   p.Priority,
		Status:     p.Status,
		Config:     cfg,
		SubmitTime: submit,
		Attempt:    attempt,
		Seq:        seq,
		Kind:       p.Kind,
	}, change, nil
}

// update runs one JobUpdate inside the batch's transaction.
func (s *SQLite) update(ctx context.Context, p *engine.JobUpdateParams) error {
	var attempt int
	var status engine.Status
	var firstSeq int64
	var user, project string
	err := s.ws.lookup.QueryRowContext(ctx, p.ID).Scan(&attempt, &status, &firstSeq, &user, &project)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: update %q: %w", p.ID, engine.ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: update %q: %w", p.ID, err)
	case p.Attempt != attempt:
		return fmt.Errorf("store: update %q: attempt %d is not the latest (%d): %w", p.ID, p.Attempt, attempt, engine.ErrStale)
	case p.FromStatus != "" && p.FromStatus != status:
		return fmt.Errorf("store: update %q: status is %s, not %s: %w", p.ID, status, p.FromStatus, engine.ErrStale)
	}

	// One prepared statement serves every combination of fields: a NULL
	// argument leaves its column as it is (COALESCE), except progress,
	// which can be cleared and so carries an explicit "set" flag.
	var newStatus, priority, start, end, rc, errText, schedID, pid, pidStart any
	if p.Status != "" {
		newStatus = string(p.Status)
	}
	if p.Priority != nil {
		priority = *p.Priority
	}
	if start, err = nullTime(p.StartTime); err != nil {
		return fmt.Errorf("store: update %q: start time: %w", p.ID, err)
	}
	if end, err = nullTime(p.EndTime); err != nil {
		return fmt.Errorf("store: update %q: end time: %w", p.ID, err)
	}
	if p.ReturnCode != nil {
		rc = *p.ReturnCode
	}
	if p.Error != nil {
		errText = *p.Error
	}
	if p.SchedulerJobID != nil {
		schedID = *p.SchedulerJobID
	}
	if p.Process != nil {
		pid, pidStart = p.Process.PID, int64(p.Process.StartTime)
	}
	setProgress, progress := false, any(nil)
	if p.Progress != nil {
		setProgress = true
		if string(bytes.TrimSpace(p.Progress)) != "null" {
			progress = string(p.Progress)
		}
	}
	at := p.Time
	if at.IsZero() {
		at = time.Now()
	}
	atNS, err := unixNano(at)
	if err != nil {
		return fmt.Errorf("store: update %q: transition time: %w", p.ID, err)
	}
	if _, err := s.ws.update.ExecContext(ctx, newStatus, priority, start, end, rc, errText, schedID,
		pid, pidStart, setProgress, progress, p.ID); err != nil {
		return fmt.Errorf("store: update %q: %w", p.ID, err)
	}
	// A message without a new status is a note in the timeline (a
	// priority change), recorded under the status the job keeps.
	rec := p.Status
	if rec == "" {
		if p.Message == "" {
			return nil
		}
		rec = status
	}
	if _, err := s.ws.transition.ExecContext(ctx, p.ID, attempt, string(rec), atNS, p.Message, actorOf(p.Actor)); err != nil {
		return fmt.Errorf("store: update %q: transition: %w", p.ID, err)
	}
	return nil
}

// unixNano converts t for storage. UnixNano covers the years 1678 to 2262;
// outside that it would silently wrap.
func unixNano(t time.Time) (int64, error) {
	if t.Year() < 1678 || t.Year() > 2261 {
		return 0, fmt.Errorf("time %v out of range", t)
	}
	return t.UnixNano(), nil
}

// nullTime converts an optional time: nil (and the zero time) to NULL.
func nullTime(t *time.Time) (any, error) {
	if t == nil || t.IsZero() {
		return nil, nil
	}
	return unixNano(*t)
}

// writeStmts are prepared once on the writer's connection.
type writeStmts struct {
	begin, savepoint, rollbackTo, release, commit, rollback                *sql.Stmt
	lookup, get, insertJob, archive, renew, update, transition, setNextSeq *sql.Stmt
	audit                                                                  *sql.Stmt
}

func (ws *writeStmts) all() []*sql.Stmt {
	return []*sql.Stmt{ws.begin, ws.savepoint, ws.rollbackTo, ws.release, ws.commit, ws.rollback,
		ws.lookup, ws.get, ws.insertJob, ws.archive, ws.renew, ws.update, ws.transition, ws.setNextSeq, ws.audit}
}

func (ws *writeStmts) prepare(ctx context.Context, c *sql.Conn) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		// Even transaction control is prepared once: the writer runs these
		// for every write, and parsing them each time showed in profiles.
		{&ws.begin, `BEGIN IMMEDIATE`},
		{&ws.savepoint, `SAVEPOINT w`},
		{&ws.rollbackTo, `ROLLBACK TO w`},
		{&ws.release, `RELEASE w`},
		{&ws.commit, `COMMIT`},
		{&ws.rollback, `ROLLBACK`},
		{&ws.lookup, `SELECT attempt, status, first_seq, user, project_path FROM jobs WHERE id = ?`},
		{&ws.get, `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`},
		{&ws.insertJob, `INSERT INTO jobs (first_seq, id, seq, attempt, user, priority, status, kind,
			config, project_path, submit_time, error) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, '')
			ON CONFLICT (id) DO NOTHING`},
		{&ws.archive, `INSERT INTO attempts (` + attemptColumns + `)
			SELECT ` + attemptColumns + ` FROM jobs WHERE id = ?`},
		{&ws.renew, `UPDATE jobs SET seq = ?, attempt = ?, user = ?, priority = ?, status = ?, kind = ?,
			config = ?, project_path = ?, submit_time = ?, start_time = NULL, end_time = NULL,
			return_code = NULL, scheduler_job_id = NULL, error = '', progress = NULL,
			pid = NULL, pid_start = NULL
			WHERE id = ?`},
		{&ws.update, `UPDATE jobs SET
			status = COALESCE(?, status),
			priority = COALESCE(?, priority),
			start_time = COALESCE(?, start_time),
			end_time = COALESCE(?, end_time),
			return_code = COALESCE(?, return_code),
			error = COALESCE(?, error),
			scheduler_job_id = COALESCE(?, scheduler_job_id),
			pid = COALESCE(?, pid),
			pid_start = COALESCE(?, pid_start),
			progress = CASE WHEN ? THEN ? ELSE progress END
			WHERE id = ?`},
		{&ws.transition, `INSERT INTO transitions (job_id, attempt, status, time, message, actor) VALUES (?, ?, ?, ?, ?, ?)`},
		{&ws.audit, `INSERT INTO audit (time, actor, action, detail) VALUES (?, ?, ?, ?)`},
		{&ws.setNextSeq, `UPDATE meta SET value = ? WHERE key = 'next_seq'`},
	} {
		var err error
		if *p.stmt, err = c.PrepareContext(ctx, p.query); err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	return nil
}

func (ws *writeStmts) close() error {
	var errs []error
	for _, st := range ws.all() {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// searchText is what jobs_search indexes for one job.
type searchText struct{ id, user, projectPath string }

// ftsChange is what one insert did to a job's search text: a new job
// (indexed false) or a new attempt replacing the indexed old text.
type ftsChange struct {
	firstSeq  int64
	seq       int64 // the attempt's seq: the index is current up to it once applied
	indexed   bool
	old, text searchText
}

// ftsBatch gathers a batch's search-index changes so that apply writes them
// in two statements: FTS5 writes a segment per statement, and a segment
// per job made merging dominate the writer's time.
type ftsBatch struct {
	rows  map[int64]*ftsChange // by first_seq; the latest text wins
	order []int64
}

func (b *ftsBatch) add(c ftsChange) {
	if r, ok := b.rows[c.firstSeq]; ok {
		// Seen earlier in this batch: what is indexed is still what was
		// indexed before the batch, only the text to index changes.
		r.text = c.text
		r.seq = max(r.seq, c.seq)
		return
	}
	if b.rows == nil {
		b.rows = map[int64]*ftsChange{}
	}
	b.rows[c.firstSeq] = &c
	b.order = append(b.order, c.firstSeq)
}

func (b *ftsBatch) len() int { return len(b.order) }

// merge adds the changes of o after those of b.
func (b *ftsBatch) merge(o *ftsBatch) {
	for _, seq := range o.order {
		b.add(*o.rows[seq])
	}
}

// apply removes replaced texts from the index, then adds new ones.
// External-content FTS5 must be told the exact old text to remove it.
func (b *ftsBatch) apply(ctx context.Context, c *sql.Conn) error {
	var dels, adds []*ftsChange
	for _, seq := range b.order {
		r := b.rows[seq]
		if r.indexed && r.old == r.text {
			continue
		}
		if r.indexed {
			dels = append(dels, r)
		}
		adds = append(adds, r)
	}
	// All removals first: a job's old text must leave before its new text
	// comes in, whatever the chunking.
	if err := ftsExec(ctx, c, `INSERT INTO jobs_search (jobs_search, rowid, id, user, project_path) VALUES `,
		`('delete', ?, ?, ?, ?)`, dels, func(r *ftsChange) searchText { return r.old }); err != nil {
		return err
	}
	return ftsExec(ctx, c, `INSERT INTO jobs_search (rowid, id, user, project_path) VALUES `,
		`(?, ?, ?, ?)`, adds, func(r *ftsChange) searchText { return r.text })
}

// ftsExec inserts rows into jobs_search, many to a statement.
func ftsExec(ctx context.Context, c *sql.Conn, prefix, row string, rows []*ftsChange, text func(*ftsChange) searchText) error {
	const chunk = 1000 // rows per statement, far below SQLite's 32766 variables
	for len(rows) > 0 {
		n := min(len(rows), chunk)
		args := make([]any, 0, 4*n)
		for _, r := range rows[:n] {
			t := text(r)
			args = append(args, r.firstSeq, t.id, t.user, t.projectPath)
		}
		query := prefix + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		if _, err := c.ExecContext(ctx, query, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
