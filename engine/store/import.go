package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/simjobs/simjobs/engine"
)

// importChunk is how many records the caller's goroutine checks and hands
// to the writer at a time.
const importChunk = 1024

// sqliteConstraint is SQLite's primary result code for a violated
// constraint; the only one an import can meet is the unique job id.
const sqliteConstraint = 19

// importRow is one record checked and converted in the caller's goroutine.
type importRow struct {
	id, user, status, kind, project, errText string
	priority, attempt                        int
	config, progress                         any // string or NULL
	submit                                   int64
	start, end, rc, schedID, pid, pstart     any // int64/string or NULL
	// transitions the record implies: status and time of each.
	trStatus []engine.Status
	trTime   []int64
}

// JobImport writes complete job records as they are, in the order given,
// in one transaction: all of them or, on any error, none. It is for loading
// history in bulk (the million-job benchmark seeds, a migration from another
// system) where JobInsert and JobUpdate would commit each step of each job.
//
// Each record becomes a job's current attempt; the store assigns seqs in
// order (Job.Seq and ListSeq are ignored), so imported jobs list after every
// job already stored. An id already stored is an error. The transitions a
// record implies are recorded (its first status at SubmitTime, running at
// StartTime, its status at EndTime) with the message "imported". Imported
// jobs are history, not news: the notification outbox does not announce
// them. It returns how many jobs were written.
func (s *SQLite) JobImport(ctx context.Context, jobs iter.Seq[engine.Job]) (int, error) {
	if err := s.readable(ctx); err != nil {
		return 0, err
	}
	chunks := make(chan []importRow, 2)
	stop := make(chan struct{}) // closed when the writer is done or never started
	closeStop := sync.OnceFunc(func() { close(stop) })
	checkErr := make(chan error, 1)
	// Records are checked and converted (their configs parsed for the
	// project path) here while the writer inserts the previous chunk.
	go func() {
		defer close(chunks)
		chunk := make([]importRow, 0, importChunk)
		send := func() bool {
			select {
			case chunks <- chunk:
				chunk = make([]importRow, 0, importChunk)
				return true
			case <-stop:
				return false
			case <-ctx.Done():
				return false
			}
		}
		for j := range jobs {
			row, err := importRecord(j)
			if err != nil {
				checkErr <- err
				return
			}
			if chunk = append(chunk, row); len(chunk) == importChunk && !send() {
				return
			}
		}
		if len(chunk) > 0 {
			send()
		}
	}()
	var n int
	var werr error
	r := &writeReq{ctx: ctx, done: make(chan struct{}), fn: func() {
		defer closeStop()
		n, werr = s.importRows(ctx, chunks, checkErr)
	}}
	if err := s.write(ctx, r); err != nil {
		// Not handed over, or given up on while the writer runs: the
		// goroutine above stops at its next send either way.
		closeStop()
		return 0, err
	}
	if werr != nil {
		return 0, fmt.Errorf("store: import: %w", werr)
	}
	return n, nil
}

// importRecord checks one record and converts it for importRows.
func importRecord(j engine.Job) (importRow, error) {
	switch {
	case j.ID == "":
		return importRow{}, errors.New("empty job id")
	case !j.Status.Valid():
		return importRow{}, fmt.Errorf("job %q: invalid status %q", j.ID, j.Status)
	case j.Kind != engine.KindHFSS && j.Kind != engine.KindCommand:
		return importRow{}, fmt.Errorf("job %q: invalid kind %q", j.ID, j.Kind)
	case j.SubmitTime.IsZero():
		return importRow{}, fmt.Errorf("job %q: no submit time", j.ID)
	case len(j.Progress) > 0 && !json.Valid(j.Progress):
		return importRow{}, fmt.Errorf("job %q: progress is not valid JSON", j.ID)
	}
	row := importRow{id: j.ID, user: j.User, status: string(j.Status), kind: string(j.Kind),
		errText: j.Error, priority: j.Priority, attempt: max(j.Attempt, 1)}
	if len(j.Config) > 0 {
		// checkInsert reads the project path as JobInsert does (and
		// rejects a config that is not JSON).
		p := engine.JobInsertParams{ID: j.ID, Status: j.Status, Config: j.Config}
		project, err := checkInsert(&p)
		if err != nil {
			return importRow{}, fmt.Errorf("job %q: config is not valid JSON", j.ID)
		}
		row.config, row.project = string(j.Config), project
	}
	if len(j.Progress) > 0 {
		row.progress = string(j.Progress)
	}
	var err error
	if row.submit, err = unixNano(j.SubmitTime); err != nil {
		return importRow{}, fmt.Errorf("job %q: submit time: %w", j.ID, err)
	}
	if row.start, err = nullTime(j.StartTime); err != nil {
		return importRow{}, fmt.Errorf("job %q: start time: %w", j.ID, err)
	}
	if row.end, err = nullTime(j.EndTime); err != nil {
		return importRow{}, fmt.Errorf("job %q: end time: %w", j.ID, err)
	}
	if j.ReturnCode != nil {
		row.rc = int64(*j.ReturnCode)
	}
	if j.SchedulerJobID != nil {
		row.schedID = *j.SchedulerJobID
	}
	if j.Process != nil {
		row.pid, row.pstart = int64(j.Process.PID), int64(j.Process.StartTime)
	}

	// The history the record implies: accepted (pending when it went to a
	// scheduler), running when it started, its status when it ended.
	first := engine.StatusQueued
	if j.Status == engine.StatusPending || j.Status == engine.StatusScheduled || j.SchedulerJobID != nil {
		first = engine.StatusPending
	}
	row.trStatus, row.trTime = append(row.trStatus, first), append(row.trTime, row.submit)
	last, at := first, row.submit
	if t, ok := row.start.(int64); ok && j.Status != first {
		last, at = engine.StatusRunning, t
		row.trStatus, row.trTime = append(row.trStatus, last), append(row.trTime, at)
	}
	if t, ok := row.end.(int64); ok {
		at = t
	}
	if j.Status != last {
		row.trStatus, row.trTime = append(row.trStatus, j.Status), append(row.trTime, at)
	}
	return row, nil
}

// importRows runs on the writer goroutine between batches: it writes every
// chunk in one transaction of its own.
func (s *SQLite) importRows(ctx context.Context, chunks <-chan []importRow, checkErr <-chan error) (int, error) {
	// The index must be current before the import, so that the import can
	// index its own rows in one statement and record the index as current.
	if err := s.search.flush(ctx, s); err != nil {
		return 0, err
	}
	if err := s.setSync(ctx, false); err != nil {
		return 0, err
	}
	c := s.wconn
	// One large transaction: a page cache big enough for the indexes'
	// working set keeps pages from being spilled to the WAL and written
	// again, and statement journals (every insert fires the counting
	// trigger, so SQLite keeps one) in memory rather than a temp file
	// save a write per page touched. Both are put back afterwards.
	restore, err := s.pragmas(ctx, map[string]string{"cache_size": "-262144", "temp_store": "MEMORY"})
	if err != nil {
		return 0, err
	}
	defer restore()
	// The driver's cost per statement (binding, a goroutine watching a
	// cancellable context) was most of a one-row insert's: rows go in
	// many to a statement, under a context that cannot be cancelled
	// (ctx is checked between chunks instead).
	xctx := context.WithoutCancel(ctx)
	jobsW := &rowWriter{c: c, per: 32, head: `INSERT INTO jobs (first_seq, id, seq, attempt, user, priority, status, kind,
		config, project_path, submit_time, start_time, end_time, return_code, scheduler_job_id, error,
		progress, pid, pid_start) VALUES `, tuple: `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`}
	trW := &rowWriter{c: c, per: 64, head: `INSERT INTO transitions (job_id, attempt, status, time, message, actor) VALUES `,
		tuple: `(?, ?, ?, ?, 'imported', ?)`}
	defer jobsW.close()
	defer trW.close()

	if _, err := s.ws.begin.ExecContext(xctx); err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	n, err := func() (int, error) {
		// Whether the outbox has seen every transition so far: then it
		// skips the imported ones too.
		var caughtUp bool
		if err := c.QueryRowContext(xctx, `SELECT (SELECT value FROM meta WHERE key = 'outbox_seq') >=
			(SELECT COALESCE(MAX(rowid), 0) FROM transitions)`).Scan(&caughtUp); err != nil {
			return 0, fmt.Errorf("outbox cursor: %w", err)
		}
		from, n := s.nextSeq, 0
		for chunk := range chunks {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			for _, r := range chunk {
				seq := s.takeSeq()
				wrote, err := jobsW.add(xctx, seq, r.id, seq, r.attempt, r.user, r.priority, r.status, r.kind,
					r.config, r.project, r.submit, r.start, r.end, r.rc, r.schedID, r.errText,
					r.progress, r.pid, r.pstart)
				if err != nil {
					return 0, s.importInsertError(xctx, err, jobsW.failed)
				}
				for i, st := range r.trStatus {
					actor := engine.SystemActor
					if i == 0 {
						actor = actorOf(r.user)
					}
					trW.args = append(trW.args, r.id, r.attempt, string(st), r.trTime[i], actor)
					trW.rows++
				}
				// A transition names its job (a foreign key): written
				// only once the jobs it names are.
				if wrote {
					if _, err := trW.writeFull(xctx); err != nil {
						return 0, fmt.Errorf("transitions: %w", err)
					}
				}
				n++
			}
		}
		if err := jobsW.flush(xctx); err != nil {
			return 0, s.importInsertError(xctx, err, jobsW.failed)
		}
		if err := trW.flush(xctx); err != nil {
			return 0, fmt.Errorf("transitions: %w", err)
		}
		select {
		case err := <-checkErr:
			return 0, err
		default:
		}
		if err := ctx.Err(); err != nil {
			return 0, err // the records stopped coming because ctx ended
		}
		// One statement indexes every imported row: FTS5 writes a segment
		// per statement.
		if _, err := c.ExecContext(ctx, `INSERT INTO jobs_search (rowid, id, user, project_path)
			SELECT first_seq, id, user, project_path FROM jobs WHERE first_seq >= ?`, from); err != nil {
			return 0, fmt.Errorf("search index: %w", err)
		}
		if _, err := s.ws.setNextSeq.ExecContext(ctx, s.nextSeq); err != nil {
			return 0, fmt.Errorf("save next_seq: %w", err)
		}
		if _, err := c.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'search_seq'`, s.nextSeq-1); err != nil {
			return 0, fmt.Errorf("save search_seq: %w", err)
		}
		if caughtUp {
			if _, err := c.ExecContext(ctx, `UPDATE meta SET value = (SELECT COALESCE(MAX(rowid), 0) FROM transitions)
				WHERE key = 'outbox_seq'`); err != nil {
				return 0, fmt.Errorf("outbox cursor: %w", err)
			}
		}
		return n, nil
	}()
	if err == nil {
		if _, err = s.ws.commit.ExecContext(ctx); err == nil {
			return n, nil
		}
		err = fmt.Errorf("commit: %w", err)
	}
	// Seqs taken stay used (as after a failed batch): a gap is harmless.
	if _, rerr := s.ws.rollback.ExecContext(context.WithoutCancel(ctx)); rerr != nil {
		err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
	}
	return 0, err
}

// pragmas sets the write connection's pragmas to the values given and
// returns a function that puts the old values back.
func (s *SQLite) pragmas(ctx context.Context, set map[string]string) (restore func(), err error) {
	old := map[string]string{}
	restore = func() {
		for name, v := range old {
			// Names and values are ours, not input: PRAGMA takes no
			// bound parameters.
			s.wconn.ExecContext(context.WithoutCancel(ctx), "PRAGMA "+name+" = "+v)
		}
	}
	for name, v := range set {
		var was string
		if err := s.wconn.QueryRowContext(ctx, "PRAGMA "+name).Scan(&was); err != nil {
			restore()
			return nil, fmt.Errorf("pragma %s: %w", name, err)
		}
		if _, err := s.wconn.ExecContext(ctx, "PRAGMA "+name+" = "+v); err != nil {
			restore()
			return nil, fmt.Errorf("pragma %s: %w", name, err)
		}
		old[name] = was
	}
	return restore, nil
}

// importInsertError names the job a failed insert of jobs rows (args, as
// rowWriter held them) is about: one already stored, or given twice.
func (s *SQLite) importInsertError(ctx context.Context, err error, args []any) error {
	if sqliteCode(err) != sqliteConstraint {
		return fmt.Errorf("jobs: %w", err)
	}
	seen := map[string]bool{}
	for i := 1; i < len(args); i += rowWriterJobCols {
		id := args[i].(string)
		var one int
		if s.wconn.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ?`, id).Scan(&one) == nil {
			return fmt.Errorf("job %q: already stored", id)
		}
		if seen[id] {
			return fmt.Errorf("job %q: given twice", id)
		}
		seen[id] = true
	}
	return fmt.Errorf("jobs: %w", err)
}

// rowWriterJobCols is how many values one jobs row of the import has.
const rowWriterJobCols = 19

// rowWriter inserts rows into one table, per rows to a statement.
type rowWriter struct {
	c           *sql.Conn
	head, tuple string // "INSERT INTO t (a, b) VALUES ", "(?, ?)"
	per         int
	full        *sql.Stmt // per rows, prepared on first use
	args        []any     // the rows not yet written
	rows        int
	failed      []any // the rows of the statement that failed
}

func (w *rowWriter) statement(rows int) string {
	return w.head + strings.TrimSuffix(strings.Repeat(w.tuple+", ", rows), ", ")
}

// add queues a row and, if the queue holds enough, writes all of it but
// the remainder of a statement; wrote says whether it wrote.
func (w *rowWriter) add(ctx context.Context, row ...any) (wrote bool, err error) {
	w.args = append(w.args, row...)
	w.rows++
	return w.writeFull(ctx)
}

// writeFull writes the queue in statements of per rows, keeping the rest.
func (w *rowWriter) writeFull(ctx context.Context) (wrote bool, err error) {
	if w.rows < w.per {
		return false, nil
	}
	if w.full == nil {
		if w.full, err = w.c.PrepareContext(ctx, w.statement(w.per)); err != nil {
			return false, err
		}
	}
	cols := len(w.args) / w.rows
	for w.rows >= w.per {
		group := w.args[:w.per*cols]
		if _, err := w.full.ExecContext(ctx, group...); err != nil {
			w.failed = group
			return false, err
		}
		w.args, w.rows = w.args[w.per*cols:], w.rows-w.per
	}
	// What is left moves to the front, so the queue does not grow.
	w.args = append(make([]any, 0, (w.per+1)*cols), w.args...)
	return true, nil
}

// flush writes what is queued.
func (w *rowWriter) flush(ctx context.Context) error {
	if w.rows == 0 {
		return nil
	}
	if _, err := w.c.ExecContext(ctx, w.statement(w.rows), w.args...); err != nil {
		w.failed = w.args
		return err
	}
	w.args, w.rows = nil, 0
	return nil
}

func (w *rowWriter) close() {
	if w.full != nil {
		w.full.Close()
	}
}
