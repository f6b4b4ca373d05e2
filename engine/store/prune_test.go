package store

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

// Retention deletes a hundred thousand old jobs in small batches while
// submissions go on: every batch is bounded, submissions commit between the
// batches, and afterwards the counts and the search index are exact (the
// cleanup's checkDatabase compares the index with the table).
func TestRetentionWhileSubmitting(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 jobs")
	}
	s := openTest(t)
	ctx := t.Context()
	old := time.Now().Add(-100 * 24 * time.Hour)
	// A hundred thousand; a fifth under the race detector, which checks the
	// concurrency while .ci/run checks the scale without it.
	nOld := 100_000
	if raceEnabled {
		nOld = 20_000
	}
	if v := os.Getenv("PRUNE_N"); v != "" {
		nOld, _ = strconv.Atoi(v)
	}
	if err := s.Seed(ctx, SeedParams{IDPrefix: "OLD_", N: nOld, User: "bob", Status: engine.StatusCompleted, Submit: old}); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(ctx, SeedParams{IDPrefix: "NEW_", N: 1000, User: "bob", Status: engine.StatusFailed, Submit: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Old but not ended: never deleted, however old.
	if err := s.Seed(ctx, SeedParams{IDPrefix: "WAIT_", N: 10, User: "bob", Status: engine.StatusQueued, Submit: old}); err != nil {
		t.Fatal(err)
	}
	// An old job with an earlier attempt and transitions: all of it goes.
	for attempt := range 2 {
		p := storetest.Params("RESUBMITTED")
		p.SubmitTime = old
		if _, err := s.JobInsert(ctx, p); err != nil {
			t.Fatal(err)
		}
		end := old.Add(time.Minute)
		if err := s.JobUpdate(ctx, engine.JobUpdateParams{ID: "RESUBMITTED", Attempt: attempt + 1, Status: engine.StatusCompleted, EndTime: &end, Time: end}); err != nil {
			t.Fatal(err)
		}
	}

	var (
		stop      atomic.Bool
		submitted atomic.Int64
		slowest   atomic.Int64
		wg        sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				t0 := time.Now()
				if _, err := s.JobInsert(ctx, storetest.Params(fmt.Sprintf("LIVE_%d_%d", w, i))); err != nil {
					t.Error(err)
					return
				}
				d := int64(time.Since(t0))
				for cur := slowest.Load(); d > cur && !slowest.CompareAndSwap(cur, d); cur = slowest.Load() {
				}
				submitted.Add(1)
			}
		}()
	}
	const limit = 200
	cutoff := time.Now().Add(-90 * 24 * time.Hour)
	deleted, batches := 0, 0
	submittedAtStart := submitted.Load()
	t0 := time.Now()
	for {
		ids, err := s.JobPrune(ctx, engine.JobPruneParams{EndedBefore: cutoff, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > limit {
			t.Fatalf("a batch deleted %d jobs, limit %d", len(ids), limit)
		}
		deleted += len(ids)
		batches++
		if len(ids) < limit {
			break
		}
	}
	took := time.Since(t0)
	during := submitted.Load() - submittedAtStart
	stop.Store(true)
	wg.Wait()
	t.Logf("deleted %d jobs in %d batches in %v (%.0f jobs/s) while %d submissions committed; slowest submission %v",
		deleted, batches, took.Round(time.Millisecond), float64(deleted)/took.Seconds(), during, time.Duration(slowest.Load()).Round(time.Millisecond))
	if deleted != nOld+1 {
		t.Errorf("deleted %d jobs, want %d", deleted, nOld+1)
	}
	if during < int64(batches) {
		t.Errorf("only %d submissions committed during %d prune batches: the prune held the writer", during, batches)
	}
	for _, id := range []string{"OLD_000000", "OLD_099999", "RESUBMITTED"} {
		if _, err := s.JobGet(ctx, id); err == nil {
			t.Errorf("%s is still there", id)
		}
		if got, err := s.AttemptList(ctx, id); err == nil && len(got) > 0 {
			t.Errorf("%s: %d attempts left", id, len(got))
		}
		if got, err := s.TransitionList(ctx, id); err == nil && len(got) > 0 {
			t.Errorf("%s: %d transitions left", id, len(got))
		}
	}
	for _, id := range []string{"NEW_000999", "WAIT_000009"} {
		if _, err := s.JobGet(ctx, id); err != nil {
			t.Errorf("%s: %v, want it kept", id, err)
		}
	}
	if err := s.flushSearch(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.JobList(ctx, engine.JobListParams{Search: "OLD_0000"}); err != nil || len(got) != 0 {
		t.Errorf("search finds %d pruned jobs (%v)", len(got), err)
	}
	if got, err := s.JobList(ctx, engine.JobListParams{Search: "NEW_00099"}); err != nil || len(got) != 10 {
		t.Errorf("search for kept jobs found %d, want 10 (%v)", len(got), err)
	}
	counts, err := s.JobCountByStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[engine.StatusCompleted] != 0 || counts[engine.StatusFailed] != 1000 || counts[engine.StatusQueued] != 10+int(submitted.Load()) {
		t.Errorf("counts after the prune: %v", counts)
	}
	storetest.CheckCounts(t, s, "after the prune")
}
