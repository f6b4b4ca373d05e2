package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

// openTest opens a store in a new file under t.TempDir and closes it when
// the test ends.
func openTest(t *testing.T, opts ...Option) *SQLite {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "jobs.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The writer indexes lazily: let it catch up, then compare.
		if err := s.flushSearch(context.Background()); err != nil && !errors.Is(err, engine.ErrClosed) {
			t.Error(err)
		}
		checkDatabase(t, s.Path())
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// checkDatabase checks the invariants a store keeps beyond what its methods
// show: a sound file, counters equal to a count of the rows, a search index
// equal to the jobs it indexes. It uses a connection of its own.
func checkDatabase(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check: %q, %v", ok, err)
	}
	// With rank 1, FTS5 compares its index with the content table.
	if _, err := db.Exec(`INSERT INTO jobs_search (jobs_search, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("search index: %v", err)
	}
	var bad int
	if err := db.QueryRow(`SELECT count(*)
		FROM (SELECT status, count(*) AS n FROM jobs GROUP BY status) AS a
		FULL JOIN job_counts AS c USING (status)
		WHERE COALESCE(a.n, 0) != COALESCE(c.n, 0)`).Scan(&bad); err != nil || bad != 0 {
		t.Errorf("job_counts differs from jobs for %d statuses (%v)", bad, err)
	}
}

// onWriter runs fn on the writer goroutine, which owns the write
// connection and the search queue, and waits for it.
func onWriter(t *testing.T, s *SQLite, fn func()) {
	t.Helper()
	r := &writeReq{ctx: t.Context(), fn: fn, done: make(chan struct{})}
	if err := s.write(t.Context(), r); err != nil {
		t.Fatal(err)
	}
}

func TestSQLite(t *testing.T) {
	storetest.RunSuite(t, func(t *testing.T) engine.Store { return openTest(t) })
}

// TestSQLiteReopened runs the suite on a store that closes and reopens its
// file before every read that follows a write, so each check of the suite
// also checks that the data survived a restart.
func TestSQLiteReopened(t *testing.T) {
	storetest.RunSuite(t, func(t *testing.T) engine.Store {
		path := filepath.Join(t.TempDir(), "jobs.db")
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		r := &reopening{path: path, s: s}
		t.Cleanup(func() {
			// Close applies the pending search changes; check after.
			if err := r.Close(); err != nil {
				t.Error(err)
			}
			checkDatabase(t, path)
		})
		return r
	})
}

// reopening is the engine.Store of TestSQLiteReopened.
type reopening struct {
	path  string
	dirty atomic.Bool // written since the last reopen

	mu     sync.RWMutex // held for writing while s is swapped
	s      *SQLite
	closed bool
}

func (r *reopening) current(write bool) (*SQLite, func(), error) {
	if !write && r.dirty.Load() {
		r.mu.Lock()
		if r.dirty.Load() && !r.closed {
			if err := r.s.Close(); err != nil {
				r.mu.Unlock()
				return nil, nil, err
			}
			s, err := Open(context.Background(), r.path)
			if err != nil {
				r.mu.Unlock()
				return nil, nil, err
			}
			r.s = s
			r.dirty.Store(false)
		}
		r.mu.Unlock()
	}
	r.mu.RLock()
	if write {
		r.dirty.Store(true)
	}
	return r.s, r.mu.RUnlock, nil
}

func reopenCall[T any](r *reopening, write bool, f func(s *SQLite) (T, error)) (T, error) {
	s, unlock, err := r.current(write)
	if err != nil {
		var zero T
		return zero, err
	}
	defer unlock()
	return f(s)
}

func (r *reopening) JobInsert(ctx context.Context, p engine.JobInsertParams) (engine.Job, error) {
	return reopenCall(r, true, func(s *SQLite) (engine.Job, error) { return s.JobInsert(ctx, p) })
}

func (r *reopening) JobUpdate(ctx context.Context, p engine.JobUpdateParams) error {
	_, err := reopenCall(r, true, func(s *SQLite) (int, error) { return 0, s.JobUpdate(ctx, p) })
	return err
}

func (r *reopening) JobGet(ctx context.Context, id string) (engine.Job, error) {
	return reopenCall(r, false, func(s *SQLite) (engine.Job, error) { return s.JobGet(ctx, id) })
}

func (r *reopening) JobList(ctx context.Context, p engine.JobListParams) ([]engine.Job, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.Job, error) { return s.JobList(ctx, p) })
}

func (r *reopening) JobCount(ctx context.Context, p engine.JobListParams) (int, error) {
	return reopenCall(r, false, func(s *SQLite) (int, error) { return s.JobCount(ctx, p) })
}

func (r *reopening) JobCountByStatus(ctx context.Context) (map[engine.Status]int, error) {
	return reopenCall(r, false, func(s *SQLite) (map[engine.Status]int, error) { return s.JobCountByStatus(ctx) })
}

func (r *reopening) JobListActive(ctx context.Context) ([]engine.Job, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.Job, error) { return s.JobListActive(ctx) })
}

func (r *reopening) TransitionList(ctx context.Context, id string) ([]engine.Transition, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.Transition, error) { return s.TransitionList(ctx, id) })
}

func (r *reopening) AttemptList(ctx context.Context, id string) ([]engine.Job, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.Job, error) { return s.AttemptList(ctx, id) })
}

func (r *reopening) AuditInsert(ctx context.Context, p engine.AuditInsertParams) error {
	_, err := reopenCall(r, true, func(s *SQLite) (struct{}, error) { return struct{}{}, s.AuditInsert(ctx, p) })
	return err
}

func (r *reopening) AuditList(ctx context.Context, p engine.AuditListParams) ([]engine.AuditEntry, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.AuditEntry, error) { return s.AuditList(ctx, p) })
}

func (r *reopening) SweepInsert(ctx context.Context, p engine.SweepInsertParams) ([]engine.Job, error) {
	return reopenCall(r, true, func(s *SQLite) ([]engine.Job, error) { return s.SweepInsert(ctx, p) })
}

func (r *reopening) SweepGet(ctx context.Context, id string) (engine.Sweep, error) {
	return reopenCall(r, false, func(s *SQLite) (engine.Sweep, error) { return s.SweepGet(ctx, id) })
}

func (r *reopening) SweepList(ctx context.Context, p engine.SweepListParams) ([]engine.Sweep, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.Sweep, error) { return s.SweepList(ctx, p) })
}

func (r *reopening) SweepCount(ctx context.Context, p engine.SweepListParams) (int, error) {
	return reopenCall(r, false, func(s *SQLite) (int, error) { return s.SweepCount(ctx, p) })
}

func (r *reopening) SweepJobs(ctx context.Context, id string) ([]engine.Job, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.Job, error) { return s.SweepJobs(ctx, id) })
}

func (r *reopening) PlanGet(ctx context.Context, id string) (engine.JobPlan, error) {
	return reopenCall(r, false, func(s *SQLite) (engine.JobPlan, error) { return s.PlanGet(ctx, id) })
}

func (r *reopening) PlanListActive(ctx context.Context) ([]engine.JobPlan, error) {
	return reopenCall(r, false, func(s *SQLite) ([]engine.JobPlan, error) { return s.PlanListActive(ctx) })
}

func (r *reopening) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.s.Close()
}

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "jobs.db")
	for i := range 3 { // the second and third Open find the schema current
		s, err := Open(t.Context(), path, WithSynchronous("normal"))
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		var version int
		var journal string
		var sync int
		if err := s.wconn.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&version); err != nil {
			t.Fatal(err)
		}
		if err := s.r.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&journal); err != nil {
			t.Fatal(err)
		}
		if err := s.wconn.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if version != schemaVersion || journal != "wal" || sync != 1 {
			t.Errorf("Open #%d: user_version %d, journal_mode %s, synchronous %d; want %d, wal, 1 (NORMAL)",
				i+1, version, journal, sync, schemaVersion)
		}
		if _, err := s.JobInsert(t.Context(), storetest.Params(fmt.Sprint("JOB_", i))); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The default is FULL.
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var sync int
	if err := s.wconn.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != 2 {
		t.Errorf("default synchronous = %d, want 2 (FULL)", sync)
	}
	// A database from a newer program is refused.
	if _, err := s.wconn.ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", schemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), path); err == nil {
		t.Error("Open of a newer schema succeeded")
	}

	for _, tt := range []struct {
		name string
		path string
		opts []Option
	}{
		{"empty path", "", nil},
		{"question mark", filepath.Join(t.TempDir(), "a?b.db"), nil},
		{"synchronous", filepath.Join(t.TempDir(), "x.db"), []Option{WithSynchronous("OFF")}},
		{"batch", filepath.Join(t.TempDir(), "x.db"), []Option{WithMaxBatch(0)}},
		{"parent is a file", filepath.Join(path, "x.db"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Open(t.Context(), tt.path, tt.opts...); err == nil {
				s.Close()
				t.Error("Open succeeded, want an error")
			}
		})
	}
}

// TestPersistence closes a store and checks that a new one on the same file
// sees everything, and continues the sequence.
func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	first := storetest.SeedList(t, s)
	var maxSeq int64
	snapshot := func(s engine.Store) (map[string][]engine.Job, map[string][]engine.Transition, map[engine.Status]int) {
		attempts, transitions := map[string][]engine.Job{}, map[string][]engine.Transition{}
		for id := range first {
			a, err := s.AttemptList(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := s.TransitionList(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			attempts[id], transitions[id] = a, tr
			maxSeq = max(maxSeq, a[len(a)-1].Seq)
		}
		counts, err := s.JobCountByStatus(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return attempts, transitions, counts
	}
	wantA, wantT, wantC := snapshot(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		if fi, _ := os.Stat(path + "-wal"); fi.Size() != 0 {
			t.Errorf("WAL holds %d bytes after Close, want it checkpointed", fi.Size())
		}
	}

	s = openAt(t, path)
	gotA, gotT, gotC := snapshot(s)
	if diff := cmp.Diff(wantA, gotA); diff != "" {
		t.Errorf("attempts after reopen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantT, gotT); diff != "" {
		t.Errorf("transitions after reopen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantC, gotC); diff != "" {
		t.Errorf("counts after reopen (-want +got):\n%s", diff)
	}
	j, err := s.JobInsert(t.Context(), storetest.Params("JOB_after"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Seq <= maxSeq {
		t.Errorf("Seq after reopen = %d, want above %d", j.Seq, maxSeq)
	}
}

func openAt(t *testing.T, path string) *SQLite {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		checkDatabase(t, path)
	})
	return s
}

// TestBatchKeepsEachResult runs one batch of writes that succeed and fail in
// every way, and checks that each kept its own outcome.
func TestBatchKeepsEachResult(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	storetest.Insert(t, s, storetest.Params("active"))
	done := storetest.Insert(t, s, storetest.Params("done"))
	storetest.Finish(t, s, done, engine.StatusCompleted)
	// Make the transition of job "bad" fail after its jobs row is written,
	// so only its savepoint can undo that row.
	if _, err := s.wconn.ExecContext(ctx, `CREATE TEMP TRIGGER inject BEFORE INSERT ON transitions
		WHEN new.job_id = 'bad' BEGIN SELECT RAISE(ABORT, 'injected'); END`); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ins := func(ctx context.Context, id string) *writeReq {
		p := storetest.Params(id)
		return &writeReq{ctx: ctx, insert: &p, done: make(chan struct{})}
	}
	upd := func(p engine.JobUpdateParams) *writeReq {
		return &writeReq{ctx: ctx, update: &p, done: make(chan struct{})}
	}
	batch := []*writeReq{
		ins(ctx, "new"),
		ins(ctx, "active"),
		upd(engine.JobUpdateParams{ID: "active", Attempt: 2, Status: engine.StatusRunning}),
		ins(ctx, "bad"),
		upd(engine.JobUpdateParams{ID: "missing", Attempt: 1, Priority: storetest.Ptr(1)}),
		ins(ctx, "done"),
		ins(cancelled, "cancelled"),
		ins(ctx, "new"), // sees the first write of this batch
		upd(engine.JobUpdateParams{ID: "new", Attempt: 1, FromStatus: engine.StatusQueued, Status: engine.StatusRunning}),
	}
	wantErr := []error{nil, engine.ErrJobActive, engine.ErrStale, errors.New("injected"), engine.ErrNotFound,
		nil, context.Canceled, engine.ErrJobActive, nil}
	// The writer goroutine is idle between batches, so the test can run
	// one on its connection directly and choose exactly what is in it.
	onWriter(t, s, func() { s.runBatch(batch) })
	for i, r := range batch {
		<-r.done
		switch want := wantErr[i]; {
		case want == nil && r.err != nil,
			want != nil && r.err == nil,
			want != nil && !errors.Is(r.err, want) && !strings.Contains(r.err.Error(), want.Error()):
			t.Errorf("write %d: err = %v, want %v", i, r.err, want)
		}
	}
	if got := batch[5].job.Attempt; got != 2 {
		t.Errorf("insert of done: attempt %d, want 2", got)
	}
	if got := batch[1].job.ID; got != "active" {
		t.Errorf("refused insert returned job %q, want the active one", got)
	}
	for _, id := range []string{"bad", "cancelled"} {
		if _, err := s.JobGet(ctx, id); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("JobGet(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if got := storetest.Get(t, s, "new").Status; got != engine.StatusRunning {
		t.Errorf("new: status %s, want running", got)
	}
	if got := storetest.Get(t, s, "active").Status; got != engine.StatusQueued {
		t.Errorf("active: status %s, want queued", got)
	}
	storetest.CheckCounts(t, s, "after mixed batch")
}

// TestSearchIndexInBatch changes a job's search text several times within
// one batch, for a job new in the batch and for one indexed before it, and
// checks that the index ends up holding exactly the final texts.
func TestSearchIndexInBatch(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	old := storetest.Insert(t, s, storetest.Params("old"))
	storetest.Finish(t, s, old, engine.StatusCompleted)
	ins := func(id, user, project string) *writeReq {
		p := storetest.Params(id)
		p.User = user
		p.Config = json.RawMessage(fmt.Sprintf(`{"project_path":%q}`, project))
		return &writeReq{ctx: ctx, insert: &p, projectPath: project, done: make(chan struct{})}
	}
	finish := func(id string, attempt int) *writeReq {
		return &writeReq{ctx: ctx, update: &engine.JobUpdateParams{ID: id, Attempt: attempt, Status: engine.StatusCancelled},
			done: make(chan struct{})}
	}
	batch := []*writeReq{
		ins("new", "user_a", "/v/first.aedt"),
		finish("new", 1),
		ins("new", "user_b", "/v/second.aedt"),
		ins("old", "user_c", "/v/third.aedt"),
		finish("old", 2),
		ins("old", "user_d", "/v/fourth.aedt"),
		finish("old", 3),
		ins("old", "user_d", "/v/fourth.aedt"), // same text again
		ins("other", "user_e", "/v/fifth.aedt"),
	}
	onWriter(t, s, func() { s.runBatch(batch) })
	for i, r := range batch {
		if r.err != nil {
			t.Fatalf("write %d: %v", i, r.err)
		}
	}
	for _, tt := range []struct {
		search string
		want   []string
	}{
		{"first", []string{}},
		{"user_a", []string{}},
		{"second", []string{"new"}},
		{"user_b", []string{"new"}},
		{"JOB_1", []string{}},
		{"projects", []string{}},
		{"third", []string{}},
		{"fourth", []string{"old"}},
		{"user_d", []string{"old"}},
		{"/v/", []string{"old", "new", "other"}},
	} {
		got, err := s.JobList(ctx, engine.JobListParams{Search: tt.search})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, storetest.IDs(got)); diff != "" {
			t.Errorf("search %q (-want +got):\n%s", tt.search, diff)
		}
	}
	// checkDatabase, at cleanup, compares the index with the table.
}

// TestWriteCancelledWhileWriterBusy checks that a caller whose context ends
// does not wait for a busy writer, whether or not its write was taken yet,
// and that the write is then not made.
func TestWriteCancelledWhileWriterBusy(t *testing.T) {
	s := openTest(t)
	entered, release := make(chan int), make(chan struct{})
	s.testHookBatch = func(n int) {
		select {
		case entered <- n:
			<-release
		case <-release: // closed: let every later batch through
		}
	}
	firstDone := make(chan error)
	go func() {
		_, err := s.JobInsert(context.Background(), storetest.Params("first"))
		firstDone <- err
	}()
	<-entered // the writer is now stuck in the first batch

	// Not yet taken by the writer.
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error)
	go func() {
		_, err := s.JobInsert(ctx, storetest.Params("second"))
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("JobInsert while writer busy: %v, want context.Canceled", err)
	}

	// Taken by the writer, then cancelled before its batch runs.
	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		errc <- s.JobUpdate(ctx, engine.JobUpdateParams{ID: "first", Attempt: 1, Status: engine.StatusRunning})
	}()
	release <- struct{}{} // finish the first batch
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	<-entered // the update is in the second batch
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("JobUpdate while writer busy: %v, want context.Canceled", err)
	}
	close(release)

	if _, err := s.JobGet(t.Context(), "second"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("cancelled insert was stored: %v", err)
	}
	// JobGet goes to the read pool; wait for the writer by writing.
	storetest.Insert(t, s, storetest.Params("third"))
	if got := storetest.Get(t, s, "first").Status; got != engine.StatusQueued {
		t.Errorf("cancelled update was applied: status %s", got)
	}
}

// TestCloseDrains closes the store under a stream of writes: every write
// that reported success is in the database afterwards, and every other
// one failed with engine.ErrClosed.
func TestCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	enough := make(chan struct{})
	var once sync.Once
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("JOB_%d_%d", w, i)
				_, err := s.JobInsert(context.Background(), storetest.Params(id))
				if errors.Is(err, engine.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("JobInsert: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				if len(acked) == 100 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	<-enough
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = openAt(t, path)
	for _, id := range acked {
		if _, err := s.JobGet(t.Context(), id); err != nil {
			t.Errorf("acknowledged %s: %v", id, err)
		}
	}
}

const crashChildEnv = "SIMJOBS_STORE_CRASH_CHILD"

// TestCrashDurability kills a process that is inserting jobs with SIGKILL
// and checks that every insert it had acknowledged survived.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			acked = append(acked, id)
			if len(acked) == 300 {
				// SIGKILL: no deferred Close, no checkpoint, nothing flushed.
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		} else if strings.HasPrefix(line, "error ") {
			t.Error(line)
		}
	}
	err = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged %d inserts before it ended (%v), want 300", len(acked), err)
	}
	s := openAt(t, path)
	for _, id := range acked {
		if _, err := s.JobGet(t.Context(), id); err != nil {
			t.Errorf("acknowledged %s lost: %v", id, err)
		}
	}
	n, err := s.JobCount(t.Context(), engine.JobListParams{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("child acknowledged %d inserts; %d in the database after the kill", len(acked), n)
	storetest.CheckCounts(t, s, "after crash")
	// The search changes still queued at the kill were lost with the
	// process; Open caught up from search_seq, so every job is found.
	for _, id := range []string{acked[0], acked[len(acked)/2], acked[len(acked)-1]} {
		got, err := s.JobList(t.Context(), engine.JobListParams{Search: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != id {
			t.Errorf("search %q after the crash found %v", id, storetest.IDs(got))
		}
	}
}

// TestSearchCatchUp opens a database whose search index lags behind its
// jobs, as a crash leaves it, with new jobs and a new attempt whose old
// text is indexed, and checks Open brings the index up to date exactly.
func TestSearchCatchUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	redo := storetest.Insert(t, s, storetest.Params("redo_one"))
	storetest.Finish(t, s, redo, engine.StatusFailed)
	if err := s.flushSearch(t.Context()); err != nil {
		t.Fatal(err)
	}
	var indexed int64
	onWriter(t, s, func() { indexed = s.nextSeq - 1 })
	p := storetest.Params("redo_one")
	p.User = "someone_else"
	storetest.Insert(t, s, p)
	storetest.Insert(t, s, storetest.Params("brand_new"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Undo what Close indexed: back to the index as it was at search_seq.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO jobs_search (jobs_search) VALUES ('delete-all')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The index held redo_one's first attempt, by its first_seq.
	if _, err := db.Exec(`INSERT INTO jobs_search (rowid, id, user, project_path)
		SELECT j.first_seq, a.id, a.user, a.project_path FROM attempts a JOIN jobs j ON j.id = a.id WHERE a.id = 'redo_one'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE meta SET value = ? WHERE key = 'search_seq'`, indexed); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openAt(t, path)
	for _, tt := range []struct {
		search string
		want   []string
	}{
		{"brand_new", []string{"brand_new"}},
		{"someone_else", []string{"redo_one"}},
		{"redo_one", []string{"redo_one"}},
	} {
		got, err := s.JobList(t.Context(), engine.JobListParams{Search: tt.search})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, storetest.IDs(got)); diff != "" {
			t.Errorf("search %q after catch-up (-want +got):\n%s", tt.search, diff)
		}
	}
}

// crashChild inserts jobs from several goroutines until it is killed,
// printing each id once JobInsert has returned.
func crashChild(path string) {
	s, err := Open(context.Background(), path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("JOB_%d_%d", w, i)
				if _, err := s.JobInsert(context.Background(), storetest.Params(id)); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println("ack", id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestQueryPlans checks that every shape of JobList walks an index in
// listing order and stops at its LIMIT, rather than scanning or sorting the
// table.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	q, r := engine.StatusQueued, engine.StatusRunning
	for _, tt := range []struct {
		p    engine.JobListParams
		want []string // plan lines, in order
	}{
		{engine.JobListParams{Limit: 50}, []string{"SCAN jobs"}},
		{engine.JobListParams{Limit: 50, Offset: 100, Descending: true}, []string{"SCAN jobs"}},
		{engine.JobListParams{Limit: 50, AfterSeq: 5}, []string{"SEARCH jobs USING INTEGER PRIMARY KEY (rowid>?)"}},
		{engine.JobListParams{Limit: 50, BeforeSeq: 5, Descending: true}, []string{"SEARCH jobs USING INTEGER PRIMARY KEY (rowid<?)"}},
		{engine.JobListParams{Limit: 50, Statuses: []engine.Status{q}}, []string{"SEARCH jobs USING INDEX jobs_status_order (status=?)"}},
		{engine.JobListParams{Limit: 50, Statuses: []engine.Status{q}, BeforeSeq: 9, Descending: true},
			[]string{"SEARCH jobs USING INDEX jobs_status_order (status=? AND first_seq<?)"}},
		{engine.JobListParams{Limit: 50, User: "u"}, []string{"SEARCH jobs USING INDEX jobs_user_order (user=?)"}},
		{engine.JobListParams{Limit: 50, User: "u", AfterSeq: 3}, []string{"SEARCH jobs USING INDEX jobs_user_order (user=? AND first_seq>?)"}},
		{engine.JobListParams{Limit: 50, User: "u", Statuses: []engine.Status{q}},
			[]string{"SEARCH jobs USING INDEX jobs_user_status_order (user=? AND status=?)"}},
		// Searches of three characters or more walk the trigram index in
		// rowid order (idxStr 64: ORDER BY rowid; 192: DESC; ">": rowid
		// bound), one primary-key lookup per match; shorter ones scan.
		{engine.JobListParams{Limit: 50, Search: "x"}, []string{"SCAN jobs"}},
		{engine.JobListParams{Limit: 50, Search: "abc"},
			[]string{"SCAN jobs_search VIRTUAL TABLE INDEX 64:M3", "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"}},
		{engine.JobListParams{Limit: 50, Search: "abc", Descending: true, AfterSeq: 4},
			[]string{"SCAN jobs_search VIRTUAL TABLE INDEX 192:M3>", "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"}},
		{engine.JobListParams{Limit: 50, Search: "abc", User: "u", Statuses: []engine.Status{q, r}},
			[]string{"SCAN jobs_search VIRTUAL TABLE INDEX 64:M3", "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"}},
		{engine.JobListParams{Limit: 50, Search: "x", Statuses: []engine.Status{q}},
			[]string{"SEARCH jobs USING INDEX jobs_status_order (status=?)"}},
		// Several statuses: one bounded index range per status, merged.
		// Each branch holds at most Limit+Offset rows, so sorting them is
		// bounded too.
		{engine.JobListParams{Limit: 50, Statuses: []engine.Status{q, r}}, []string{
			"MERGE (UNION ALL)", "LEFT", "CO-ROUTINE (subquery-1)",
			"SEARCH jobs USING INDEX jobs_status_order (status=?)", "SCAN (subquery-1)", "USE TEMP B-TREE FOR ORDER BY",
			"RIGHT", "CO-ROUTINE (subquery-3)",
			"SEARCH jobs USING INDEX jobs_status_order (status=?)", "SCAN (subquery-3)", "USE TEMP B-TREE FOR ORDER BY",
		}},
		{engine.JobListParams{Limit: 50, User: "u", Statuses: []engine.Status{q, r}}, []string{
			"MERGE (UNION ALL)", "LEFT", "CO-ROUTINE (subquery-1)",
			"SEARCH jobs USING INDEX jobs_user_status_order (user=? AND status=?)", "SCAN (subquery-1)", "USE TEMP B-TREE FOR ORDER BY",
			"RIGHT", "CO-ROUTINE (subquery-3)",
			"SEARCH jobs USING INDEX jobs_user_status_order (user=? AND status=?)", "SCAN (subquery-3)", "USE TEMP B-TREE FOR ORDER BY",
		}},
	} {
		query, args := listQuery(tt.p)
		if diff := cmp.Diff(tt.want, queryPlan(t, s, query, args...)); diff != "" {
			t.Errorf("plan of %+v (-want +got):\n%s", tt.p, diff)
		}
	}
	for _, tt := range []struct {
		name  string
		query string
		args  []any
		want  []string
	}{
		{"get", `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`, []any{"x"},
			[]string{"SEARCH jobs USING INDEX sqlite_autoindex_jobs_1 (id=?)"}},
		{"count by status", `SELECT status, n FROM job_counts`, nil, []string{"SCAN job_counts"}},
		{"transitions", `SELECT job_id, attempt, status, time, message FROM transitions WHERE job_id = ? ORDER BY rowid`, []any{"x"},
			[]string{"SEARCH transitions USING INDEX transitions_job (job_id=?)"}},
		{"count user", `SELECT count(*) FROM jobs WHERE user = ?`, []any{"u"},
			[]string{"SEARCH jobs USING COVERING INDEX jobs_user_order (user=?)"}},
	} {
		if diff := cmp.Diff(tt.want, queryPlan(t, s, tt.query, tt.args...)); diff != "" {
			t.Errorf("plan of %s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func queryPlan(t *testing.T, s *SQLite, query string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestFaulty(t *testing.T) {
	f := storetest.NewFaulty(openTest(t))
	injected := errors.New("disk on fire")
	storetest.Insert(t, f, storetest.Params("JOB_1"))

	f.SetFail(storetest.MethodJobInsert, injected)
	if _, err := f.JobInsert(t.Context(), storetest.Params("JOB_2")); !errors.Is(err, injected) {
		t.Errorf("JobInsert: %v, want the injected error", err)
	}
	if _, err := f.JobGet(t.Context(), "JOB_2"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("failed JobInsert stored the job: %v", err)
	}
	f.SetFail(storetest.MethodJobInsert, nil)
	storetest.Insert(t, f, storetest.Params("JOB_2"))

	f.FailAll(injected)
	for name, call := range storetest.Calls(t.Context(), f) {
		if err := call(); !errors.Is(err, injected) {
			t.Errorf("%s: %v, want the injected error", name, err)
		}
	}
	f.FailAll(nil)
	for name, call := range storetest.Calls(t.Context(), f) {
		if name == "JobInsert" {
			continue // JOB_2 exists and is active
		}
		if err := call(); err != nil {
			t.Errorf("%s after FailAll(nil): %v", name, err)
		}
	}
	if got := f.Calls(storetest.MethodJobGet); got != 3 {
		t.Errorf("Calls(JobGet) = %d, want 3", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("SetFail of a Method that names no method did not panic")
		}
	}()
	f.SetFail(storetest.Method(99), injected)
}

// A batch of NoSync updates commits without fsync; any batch with another
// write goes back to the configured FULL.
func TestNoSyncBatches(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mode := func() int {
		var sync int
		if err := s.wconn.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		return sync
	}
	j := storetest.Insert(t, s, storetest.Params("lazy"))
	if got := mode(); got != 2 {
		t.Fatalf("after an insert: synchronous %d, want 2 (FULL)", got)
	}
	storetest.Update(t, s, engine.JobUpdateParams{ID: j.ID, Attempt: 1, Status: engine.StatusRunning, NoSync: true})
	if got := mode(); got != 1 {
		t.Fatalf("after a NoSync update: synchronous %d, want 1 (NORMAL)", got)
	}
	storetest.Update(t, s, engine.JobUpdateParams{ID: j.ID, Attempt: 1, Status: engine.StatusCompleted})
	if got := mode(); got != 2 {
		t.Fatalf("after a durable update: synchronous %d, want 2 (FULL)", got)
	}
	if got := storetest.Get(t, s, j.ID).Status; got != engine.StatusCompleted {
		t.Fatalf("status %s", got)
	}
}
