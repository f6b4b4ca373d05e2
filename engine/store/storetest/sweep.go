package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
)

// SweepParams is a sweep of n queued jobs named <id>_<index>.
func SweepParams(id string, n int) engine.SweepInsertParams {
	p := engine.SweepInsertParams{
		ID: id, Name: "width study", User: "alice", Mode: "product", MaxParallel: 2, Priority: 1,
		Parameters: expand.Params{{Name: "W", Values: make([]string, n)}},
		SubmitTime: suiteT0,
	}
	for i := range n {
		p.Parameters[0].Values[i] = fmt.Sprint(i)
		jp := Params(fmt.Sprintf("%s_%d", id, i))
		jp.Priority = 1
		p.Jobs = append(p.Jobs, jp)
	}
	return p
}

func suiteSweepInsert(t *testing.T, s engine.Store) {
	ctx := context.Background()
	p := SweepParams("S1", 3)
	p.Jobs[1].Plan = &engine.JobPlan{Retry: &engine.RetryPolicy{MaxAttempts: 3, Backoff: "1s", On: "license"}}
	jobs, err := s.SweepInsert(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := IDs(jobs); !cmp.Equal(got, []string{"S1_0", "S1_1", "S1_2"}) {
		t.Fatalf("jobs = %v", got)
	}
	for _, j := range jobs {
		if j.Attempt != 1 || j.Seq == 0 || j.Status != engine.StatusQueued {
			t.Errorf("job %s = attempt %d seq %d %s", j.ID, j.Attempt, j.Seq, j.Status)
		}
	}
	Get(t, s, "S1_2") // each job is an ordinary job too
	sw, err := s.SweepGet(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	want := engine.Sweep{ID: "S1", Name: "width study", User: "alice", Total: 3, Mode: "product", MaxParallel: 2, Priority: 1,
		Counts: map[engine.Status]int{engine.StatusQueued: 3}, Parameters: p.Parameters,
		SubmitTime: suiteT0.UTC(), JobIDs: []string{"S1_0", "S1_1", "S1_2"}}
	if d := cmp.Diff(want, sw); d != "" {
		t.Errorf("SweepGet (-want +got):\n%s", d)
	}
	got, err := s.SweepJobs(ctx, "S1")
	if err != nil || !cmp.Equal(IDs(got), want.JobIDs) {
		t.Errorf("SweepJobs = %v, %v", IDs(got), err)
	}

	// Counts follow the jobs, and the end time comes once all ended.
	end := suiteT0.Add(time.Hour)
	for _, j := range jobs {
		Update(t, s, engine.JobUpdateParams{ID: j.ID, Attempt: j.Attempt, Status: engine.StatusCompleted, EndTime: &end})
	}
	sw, err = s.SweepGet(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	if sw.Counts[engine.StatusCompleted] != 3 || sw.EndTime == nil || !sw.EndTime.Equal(end) {
		t.Errorf("after the end: counts %v end %v", sw.Counts, sw.EndTime)
	}
	if _, err := s.SweepGet(ctx, "nope"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("SweepGet(unknown) = %v, want ErrNotFound", err)
	}
}

func suiteSweepInsertAllOrNothing(t *testing.T, s engine.Store) {
	ctx := context.Background()
	Insert(t, s, Params("S2_3"))
	p := SweepParams("S2", 5)
	if _, err := s.SweepInsert(ctx, p); !errors.Is(err, engine.ErrJobActive) {
		t.Fatalf("sweep with a taken job id: %v, want ErrJobActive", err)
	}
	for _, id := range []string{"S2_0", "S2_4"} {
		if _, err := s.JobGet(ctx, id); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("job %s of the refused sweep: %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.SweepGet(ctx, "S2"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("refused sweep readable: %v", err)
	}
	// The same sweep id is refused once taken.
	if _, err := s.SweepInsert(ctx, SweepParams("S3", 2)); err != nil {
		t.Fatal(err)
	}
	q := SweepParams("S3", 2)
	q.Jobs[0].ID, q.Jobs[1].ID = "other_0", "other_1"
	if _, err := s.SweepInsert(ctx, q); !errors.Is(err, engine.ErrJobActive) {
		t.Errorf("second sweep S3: %v, want ErrJobActive", err)
	}
	CheckCounts(t, s, "after refused sweeps")
}

func suiteSweepList(t *testing.T, s engine.Store) {
	ctx := context.Background()
	for i, user := range []string{"alice", "bob", "alice"} {
		p := SweepParams(fmt.Sprintf("L%d", i), 2)
		p.User = user
		if _, err := s.SweepInsert(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.SweepList(ctx, engine.SweepListParams{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sw := range list {
		ids = append(ids, sw.ID)
		if sw.Counts[engine.StatusQueued] != 2 {
			t.Errorf("%s counts = %v", sw.ID, sw.Counts)
		}
	}
	if !cmp.Equal(ids, []string{"L2", "L0"}) {
		t.Errorf("alice's sweeps, newest first = %v", ids)
	}
	if n, err := s.SweepCount(ctx, engine.SweepListParams{}); err != nil || n != 3 {
		t.Errorf("SweepCount = %d, %v", n, err)
	}
	page, err := s.SweepList(ctx, engine.SweepListParams{Limit: 1, Offset: 1})
	if err != nil || len(page) != 1 || page[0].ID != "L1" {
		t.Errorf("page 2 of 1 = %+v, %v", page, err)
	}
}

func suitePlans(t *testing.T, s engine.Store) {
	ctx := context.Background()
	Insert(t, s, Params("A"))
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := Params("B")
	plan := &engine.JobPlan{
		DependsOn: []engine.Dependency{{JobID: "A", Condition: "afterok"}},
		Retry:     &engine.RetryPolicy{MaxAttempts: 3, Backoff: "30s", On: "any", FirstAttempt: 1, NotBefore: &at, Reason: "x"},
	}
	p.Plan = plan
	b := Insert(t, s, p)
	got, err := s.PlanGet(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	want := engine.JobPlan{JobID: "B", DependsOn: plan.DependsOn, Retry: plan.Retry}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("PlanGet (-want +got):\n%s", d)
	}
	if got, err := s.PlanGet(ctx, "A"); err != nil || got.DependsOn != nil || got.Retry != nil {
		t.Errorf("plan of a job without one = %+v, %v", got, err)
	}
	if _, err := s.SweepInsert(ctx, SweepParams("P", 2)); err != nil {
		t.Fatal(err)
	}
	active, err := s.PlanListActive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ap := range active {
		ids = append(ids, ap.JobID)
		if ap.JobID == "P_1" && (ap.SweepID != "P" || ap.SweepIndex != 1 || ap.MaxParallel != 2) {
			t.Errorf("P_1 plan = %+v", ap)
		}
	}
	if !cmp.Equal(ids, []string{"B", "P_0", "P_1"}) {
		t.Errorf("active plans = %v", ids)
	}
	// A plan goes with its job's end from the active list, and a new
	// attempt without a plan drops it.
	Finish(t, s, b, engine.StatusFailed)
	Insert(t, s, Params("B"))
	if got, err := s.PlanGet(ctx, "B"); err != nil || got.DependsOn != nil || got.Retry != nil {
		t.Errorf("plan after a plain resubmission = %+v, %v", got, err)
	}
}
