package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

func TestJobImport(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	before := storetest.Insert(t, s, storetest.Params("BEFORE"))
	const n = 3000 // several chunks, and SeedActive active jobs
	got, err := s.JobImport(ctx, storetest.SeedJobs(n))
	if err != nil || got != n {
		t.Fatalf("JobImport = %d, %v; want %d", got, err, n)
	}
	storetest.CheckCounts(t, s, "after the import")

	// Each record reads back as it was given, listed after the job stored
	// before, in the order given.
	for _, i := range []int{0, 7, 100, 150, n - storetest.SeedActive, n - 3, n - 1} {
		want := storetest.SeedJob(i, n)
		j := storetest.Get(t, s, want.ID)
		if j.Seq <= before.Seq {
			t.Errorf("%s: seq %d, want above %d", j.ID, j.Seq, before.Seq)
		}
		want.Seq = j.Seq
		if diff := cmp.Diff(want, j); diff != "" {
			t.Errorf("%s (-want +got):\n%s", want.ID, diff)
		}
	}
	list, err := s.JobList(ctx, engine.JobListParams{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"BEFORE", storetest.SeedID(0), storetest.SeedID(1)}, storetest.IDs(list)); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}

	// The history the records imply.
	for _, tt := range []struct {
		i    int
		want []engine.Status
	}{
		{200, []engine.Status{engine.StatusQueued, engine.StatusRunning, engine.StatusCompleted}},
		{100, []engine.Status{engine.StatusQueued, engine.StatusRunning, engine.StatusCancelled}},
		{n - 5, []engine.Status{engine.StatusQueued}},                          // queued
		{n - 3, []engine.Status{engine.StatusQueued, engine.StatusRunning}},    // running
		{n - 2, []engine.Status{engine.StatusPending, engine.StatusScheduled}}, // scheduled
		{n - 1, []engine.Status{engine.StatusPending}},                         // pending
	} {
		trs, err := s.TransitionList(ctx, storetest.SeedID(tt.i))
		if err != nil {
			t.Fatal(err)
		}
		var got []engine.Status
		for _, tr := range trs {
			got = append(got, tr.Status)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("transitions of job %d (-want +got):\n%s", tt.i, diff)
		}
		if trs[0].Actor != storetest.SeedJob(tt.i, n).User || trs[0].Message != "imported" {
			t.Errorf("first transition of job %d: %+v", tt.i, trs[0])
		}
	}

	// Searchable at once, by project; active ones listed for recovery.
	found, err := s.JobCount(ctx, engine.JobListParams{Search: "pcb_stack"})
	if err != nil || found != n/len(storetest.SeedProjects) {
		t.Errorf("search pcb_stack: %d, %v; want %d", found, err, n/len(storetest.SeedProjects))
	}
	active, err := s.JobListActive(ctx)
	if err != nil || len(active) != storetest.SeedActive+1 {
		t.Errorf("active jobs: %d, %v; want %d", len(active), err, storetest.SeedActive+1)
	}
	// The outbox had not yet seen BEFORE's submission: its cursor stays,
	// so it is not skipped (the imported history is then seen too).
	if cursor, err := s.OutboxCursorGet(ctx); err != nil || cursor != 0 {
		t.Errorf("outbox cursor %d, %v; want 0", cursor, err)
	}

	// Later writes carry on after the imported seqs.
	after := storetest.Insert(t, s, storetest.Params("AFTER"))
	if last := storetest.Get(t, s, storetest.SeedID(n-1)); after.Seq <= last.Seq {
		t.Errorf("seq after the import %d, want above %d", after.Seq, last.Seq)
	}
	storetest.CheckCounts(t, s, "after a write")
}

// TestJobImportAllOrNothing: a bad record anywhere, or an id already
// stored, leaves the store as it was.
func TestJobImportAllOrNothing(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	storetest.Insert(t, s, storetest.Params("TAKEN"))
	good := func(i int) engine.Job { return storetest.SeedJob(i, 5000) }
	for _, tt := range []struct {
		name string
		bad  func(j *engine.Job)
		want string
	}{
		{"id taken", func(j *engine.Job) { j.ID = "TAKEN" }, `"TAKEN": already stored`},
		{"empty id", func(j *engine.Job) { j.ID = "" }, "empty job id"},
		{"bad status", func(j *engine.Job) { j.Status = "done" }, `invalid status "done"`},
		{"bad kind", func(j *engine.Job) { j.Kind = "" }, "invalid kind"},
		{"no submit time", func(j *engine.Job) { j.SubmitTime = time.Time{} }, "no submit time"},
		{"bad config", func(j *engine.Job) { j.Config = json.RawMessage(`{"project_path":`) }, "config is not valid JSON"},
		{"bad progress", func(j *engine.Job) { j.Progress = json.RawMessage(`{`) }, "progress is not valid JSON"},
		{"end out of range", func(j *engine.Job) { end := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC); j.EndTime = &end }, "end time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The bad record comes late, after a few chunks went in.
			jobs := func(yield func(engine.Job) bool) {
				for i := range 4000 {
					j := good(i)
					if i == 3500 {
						tt.bad(&j)
					}
					if !yield(j) {
						return
					}
				}
			}
			n, err := s.JobImport(ctx, jobs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("JobImport = %d, %v; want an error saying %q", n, err, tt.want)
			}
			if total, err := s.JobCount(ctx, engine.JobListParams{}); err != nil || total != 1 {
				t.Errorf("jobs after a failed import: %d, %v; want 1", total, err)
			}
			storetest.CheckCounts(t, s, "after a failed import")
			if found, err := s.JobCount(ctx, engine.JobListParams{Search: "JOB_000"}); err != nil || found != 0 {
				t.Errorf("search after a failed import: %d, %v; want 0", found, err)
			}
		})
	}
	// The store still works, and a good import goes in whole.
	if n, err := s.JobImport(ctx, storetest.SeedJobs(10)); err != nil || n != 10 {
		t.Fatalf("JobImport after failures = %d, %v", n, err)
	}
	storetest.CheckCounts(t, s, "after a good import")
}

// TestJobImportStopsEarly: a caller's iterator that stops early imports
// what it gave; a cancelled context imports nothing.
func TestJobImportStopsEarly(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	seq := storetest.SeedJobs(50)
	short := func(yield func(engine.Job) bool) {
		for j := range seq {
			if j.ID == storetest.SeedID(20) || !yield(j) {
				return
			}
		}
	}
	if n, err := s.JobImport(ctx, short); err != nil || n != 20 {
		t.Fatalf("JobImport of 20 = %d, %v", n, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if n, err := s.JobImport(cctx, storetest.SeedJobs(5)); err == nil {
		t.Errorf("JobImport with a cancelled context = %d, nil", n)
	}
	if total, _ := s.JobCount(ctx, engine.JobListParams{}); total != 20 {
		t.Errorf("jobs = %d, want 20", total)
	}
}

// TestSeedCached: the seed file is made once, through the store's import,
// and reopens with every job.
func TestSeedCached(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ctx := t.Context()
	const n = 1200
	path, took, err := storetest.SeedCached(ctx, n, SchemaVersion(), openSeed)
	if err != nil || took == 0 {
		t.Fatalf("SeedCached = %s, %v, %v; want a fresh seed", path, took, err)
	}
	again, took, err := storetest.SeedCached(ctx, n, SchemaVersion(), openSeed)
	if err != nil || again != path || took != 0 {
		t.Fatalf("second SeedCached = %s, %v, %v; want the cached %s", again, took, err, path)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*"))
	if !slices.Equal(matches, []string{path}) {
		t.Errorf("files left beside the seed: %v", matches)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	counts, err := s.JobCountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	// The outbox of a new store had seen everything: it skips the
	// imported history.
	cursor, err := s.OutboxCursorGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := s.TransitionListAfter(ctx, engine.TransitionListAfterParams{After: cursor}); err != nil || len(rows) != 0 {
		t.Errorf("transitions after the outbox cursor: %d, %v; want none", len(rows), err)
	}
	if total != n || counts[engine.StatusCompleted] != 50 || counts[engine.StatusQueued] != 2*storetest.SeedActive/5 {
		t.Errorf("counts %v", counts)
	}
}

// BenchmarkJobImport is the seed's speed: jobs imported per second into a
// new store, 100,000 at a time.
func BenchmarkJobImport(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		s, err := Open(b.Context(), filepath.Join(b.TempDir(), "jobs.db"), WithSynchronous(SynchronousNormal))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.JobImport(b.Context(), storetest.SeedJobs(n)); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "jobs/s")
}
