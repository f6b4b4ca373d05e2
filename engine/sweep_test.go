package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// roomy lets many jobs run at once, so only a sweep's cap holds them.
var roomy = engine.Limits{MaxConcurrentJobs: 8, MaxCPUPercent: 100}

// sweepTemplate is a plain command template running the fake solver; the
// job is recorded as "--job <tag>", env is added to its environment.
func (b *bundle) sweepTemplate(tag string, env ...string) json.RawMessage {
	argv := append([]string{b.envExe, "FAKE_SOLVER_RECORD=" + b.record}, env...)
	argv = append(argv, fakesolver.Path(), "--job", tag)
	js, _ := json.Marshal(map[string]any{"command": argv})
	return js
}

func params(t *testing.T, js string) expand.Params {
	t.Helper()
	var ps expand.Params
	if err := json.Unmarshal([]byte(js), &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestSweepMaxParallelNeverExceeded(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	res, err := b.m.SubmitSweep(context.Background(), engine.SweepRequest{
		Name:        "cap",
		Template:    b.sweepTemplate("w${W}", "FAKE_SOLVER_SLEEP=0.3"),
		Parameters:  params(t, `{"W": [1, 2, 3, 4, 5, 6, 7]}`),
		MaxParallel: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.JobIDs) != 7 || res.JobIDs[3] != res.SweepID+"_3" {
		t.Fatalf("job ids = %v", res.JobIDs)
	}
	for _, id := range res.JobIDs {
		if j := b.wait(t, id); j.Status != engine.StatusCompleted {
			t.Fatalf("%s: %s %s", id, j.Status, j.Error)
		}
	}
	runs, err := fakesolver.ReadRecord(b.record)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 7 {
		t.Fatalf("%d runs, want 7", len(runs))
	}
	// The ledger's timestamps come from the solver processes themselves.
	if n := fakesolver.MaxOverlap(runs); n != 2 {
		t.Errorf("%d of the sweep ran at once; max_parallel is 2 (and the host allows 8)", n)
	}
	sw, err := b.m.Sweep(context.Background(), res.SweepID)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Total != 7 || sw.Counts[engine.StatusCompleted] != 7 || sw.EndTime == nil || sw.MaxParallel != 2 {
		t.Errorf("sweep = %+v", sw)
	}
}

func TestSweepWaitingReasonAndCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	ctx := context.Background()
	sub := b.m.Events().Subscribe(-1, 1000)
	defer sub.Close()
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{
		Template:    b.sweepTemplate("${W}", "FAKE_SOLVER_SLEEP=30"),
		Parameters:  params(t, `{"W": ["a", "b", "c", "d"]}`),
		MaxParallel: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, sub, engine.EventJobStarted, res.JobIDs[0])
	j, err := b.m.Job(ctx, res.JobIDs[2])
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != engine.StatusQueued || !strings.Contains(j.WaitingReason, "max_parallel") || j.SweepID != res.SweepID {
		t.Errorf("a capped job: %s %q sweep %q", j.Status, j.WaitingReason, j.SweepID)
	}
	n, err := b.m.CancelSweep(ctx, res.SweepID, "tester")
	if err != nil || n != 4 {
		t.Fatalf("CancelSweep = %d, %v; want 4", n, err)
	}
	for i, id := range res.JobIDs {
		j := b.wait(t, id)
		if j.Status != engine.StatusCancelled {
			t.Errorf("%s: %s", id, j.Status)
		}
		// Only the first ever started: the cancel of the running job did
		// not let a queued one in.
		if i > 0 && j.StartTime != nil {
			t.Errorf("%s started while its sweep was being cancelled", id)
		}
	}
}

func TestSweepRefusedWhole(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	dir := t.TempDir()
	for _, tt := range []struct {
		name, params, mode, field string
		template                  json.RawMessage
	}{
		{"unequal zip", `{"A": [1, 2], "B": [1, 2, 3]}`, "zip", "parameters", b.sweepTemplate("${A}${B}")},
		{"unknown variable", `{"A": [1]}`, "", "template", b.sweepTemplate("${B}")},
		{"bad mode", `{"A": [1]}`, "cross", "mode", b.sweepTemplate("${A}")},
		{"too many", `{"A": [` + strings.Repeat("1,", 100) + `1], "B": [` + strings.Repeat("1,", 100) + `1]}`, "", "parameters", b.sweepTemplate("${A}")},
		{"one bad working directory", `{"D": ["` + dir + `", "` + dir + `/missing"]}`, "",
			"template.working_directory", mustJSON(map[string]any{"command": []string{fakesolver.Path()}, "working_directory": "${D}"})},
		{"one bad project", `{"P": ["` + b.project + `", "/nowhere/x.aedt"]}`, "", "template.project_path",
			mustJSON(map[string]any{"config": map[string]any{"project_path": "${P}", "design_name": "D${P}"}})},
	} {
		_, err := b.m.SubmitSweep(ctx, engine.SweepRequest{Template: tt.template, Parameters: params(t, tt.params), Mode: tt.mode})
		var ve *engine.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("%s: %v, want a validation error on %s", tt.name, err, tt.field)
		}
	}
	if n, err := b.m.CountSweeps(ctx, engine.SweepListParams{}); err != nil || n != 0 {
		t.Errorf("sweeps stored after refusals: %d, %v", n, err)
	}
	if n, err := b.m.CountJobs(ctx, engine.JobListParams{}); err != nil || n != 0 {
		t.Errorf("jobs stored after refusals: %d, %v", n, err)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestSweepSubstitutesEveryString(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	if _, err := b.m.Drain(ctx), error(nil); err != nil {
		t.Fatal(err)
	}
	tpl := mustJSON(map[string]any{"config": map[string]any{
		"project_path": b.project, "design_name": "Board_${W}", "setup_name": "Setup ${F}",
		"machine_nodes": []any{map[string]any{"hostname": "localhost", "cores": 4}},
	}})
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{Template: tpl, Parameters: params(t, `{"W": ["0.1", "0.2"], "F": ["1GHz", "5GHz"]}`), Mode: "zip"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][2]string{{"Board_0.1", "Setup 1GHz"}, {"Board_0.2", "Setup 5GHz"}} {
		j, err := b.m.Job(ctx, res.JobIDs[i])
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			JobID, DesignName, SetupName string `json:"-"`
		}
		var raw map[string]any
		json.Unmarshal(j.Config, &raw)
		cfg.JobID, cfg.DesignName, cfg.SetupName = fmt.Sprint(raw["jobid"]), fmt.Sprint(raw["design_name"]), fmt.Sprint(raw["setup_name"])
		if cfg.JobID != res.JobIDs[i] || cfg.DesignName != want[0] || cfg.SetupName != want[1] {
			t.Errorf("job %d config: %+v", i, cfg)
		}
	}
}

func TestDependencyOrderAndFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	ctx := context.Background()
	submit := func(id string, deps []engine.Dependency, env ...string) {
		t.Helper()
		if _, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command(id, env...), DependsOn: deps}); err != nil {
			t.Fatalf("submit %s: %v", id, err)
		}
	}
	submit("solve", nil, "FAKE_SOLVER_SLEEP=0.5")
	submit("extract", []engine.Dependency{{JobID: "solve", Condition: "afterok"}})
	submit("bad", nil, "FAKE_SOLVER_EXIT=3")
	submit("after-bad", []engine.Dependency{{JobID: "bad"}})
	submit("after-after-bad", []engine.Dependency{{JobID: "after-bad", Condition: "afterany"}})
	submit("cleanup", []engine.Dependency{{JobID: "bad", Condition: "afternotok"}})

	j, err := b.m.Job(ctx, "extract")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status == engine.StatusQueued && !strings.Contains(j.WaitingReason, "solve") {
		t.Errorf("waiting reason %q does not name the dependency", j.WaitingReason)
	}
	if len(j.DependsOn) != 1 || j.DependsOn[0].Condition != "afterok" {
		t.Errorf("depends_on on the record: %+v", j.DependsOn)
	}
	for id, want := range map[string]engine.Status{"extract": engine.StatusCompleted, "after-bad": engine.StatusCancelled,
		"after-after-bad": engine.StatusCompleted, "cleanup": engine.StatusCompleted} {
		j := b.wait(t, id)
		if j.Status != want {
			t.Errorf("%s: %s (%s), want %s", id, j.Status, j.Error, want)
		}
		if id == "after-bad" && !strings.Contains(j.Error, "dependency bad ended failed") {
			t.Errorf("after-bad's error %q does not say why", j.Error)
		}
	}
	runs, err := fakesolver.ReadRecord(b.record)
	if err != nil {
		t.Fatal(err)
	}
	var solveEnd, extractStart time.Time
	for _, r := range runs {
		switch r.Args[len(r.Args)-1] {
		case "solve":
			solveEnd = r.End
		case "extract":
			extractStart = r.Start
		}
	}
	if solveEnd.IsZero() || !extractStart.After(solveEnd) {
		t.Errorf("extract started %v, solve ended %v", extractStart, solveEnd)
	}

	// Refused: an unknown job, and a condition that can no longer hold.
	for _, tt := range []struct {
		deps  []engine.Dependency
		field string
	}{
		{[]engine.Dependency{{JobID: "nope"}}, "depends_on[0].job_id"},
		{[]engine.Dependency{{JobID: "solve"}, {JobID: "bad", Condition: "afterok"}}, "depends_on[1].job_id"},
		{[]engine.Dependency{{JobID: "solve", Condition: "before"}}, "depends_on[0].condition"},
	} {
		_, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command("late"), DependsOn: tt.deps})
		var ve *engine.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("depends_on %+v: %v, want an error on %s", tt.deps, err, tt.field)
		}
	}
}

func TestRetryOnLicenseFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	marker := filepath.Join(b.dataDir, "license-busy-once")
	fixture, _ := filepath.Abs("testdata/license/hfss-users-reached.log")
	res, err := b.m.Submit(ctx, engine.SubmitRequest{
		Config: b.command("lic", "FAKE_SOLVER_FAIL_ONCE="+marker, "FAKE_SOLVER_FAIL_LOG="+fixture),
		Retry:  &engine.RetryPolicy{MaxAttempts: 3, Backoff: "1s", On: "license"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sub := b.m.Events().Subscribe(-1, 100)
	defer sub.Close()
	waitFor(t, sub, engine.EventJobFailed, "lic")
	ev := waitFor(t, sub, engine.EventJobQueued, "lic")
	if d := ev.Data.(engine.JobQueuedData); d.Attempt != 2 {
		t.Fatalf("queued again as attempt %d, want 2", d.Attempt)
	}
	j, err := b.m.Job(ctx, "lic")
	if err != nil {
		t.Fatal(err)
	}
	// The second attempt waits out its backoff in the queue, saying so.
	if j.Status != engine.StatusQueued || j.Attempt != 2 || !strings.Contains(j.WaitingReason, "retry: attempt 2 of 3") ||
		!strings.Contains(j.WaitingReason, "license checkout failed") {
		t.Errorf("during the backoff: attempt %d %s, waiting %q", j.Attempt, j.Status, j.WaitingReason)
	}
	for {
		j = b.wait(t, "lic")
		if j.Attempt >= 2 {
			break
		}
	}
	if j.Status != engine.StatusCompleted || j.Attempt != 2 {
		t.Fatalf("after the retry: attempt %d %s %s", j.Attempt, j.Status, j.Error)
	}
	attempts, err := b.m.Attempts(ctx, res.JobID)
	if err != nil || len(attempts) != 2 || attempts[0].Status != engine.StatusFailed {
		t.Fatalf("attempts: %+v, %v", attempts, err)
	}
	if gap := attempts[1].StartTime.Sub(*attempts[0].EndTime); gap < time.Second {
		t.Errorf("attempt 2 started %v after attempt 1 ended; the backoff is 1s", gap)
	}

	// A failure that is not a license's is not retried under on=license.
	if _, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command("plain", "FAKE_SOLVER_EXIT=2"),
		Retry: &engine.RetryPolicy{MaxAttempts: 3, On: "license"}}); err != nil {
		t.Fatal(err)
	}
	if j := b.wait(t, "plain"); j.Status != engine.StatusFailed || j.Attempt != 1 {
		t.Errorf("plain failure: attempt %d %s", j.Attempt, j.Status)
	}
	// on=any retries every failure, up to max_attempts in all.
	if _, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command("any", "FAKE_SOLVER_EXIT=2"),
		Retry: &engine.RetryPolicy{MaxAttempts: 3, On: "any"}}); err != nil {
		t.Fatal(err)
	}
	for {
		j = b.wait(t, "any")
		if j.Attempt >= 3 {
			break
		}
	}
	if j.Status != engine.StatusFailed || j.Attempt != 3 {
		t.Errorf("on=any: attempt %d %s", j.Attempt, j.Status)
	}
}

func TestLicenseFailureFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/license/*.log")
	if err != nil || len(files) == 0 {
		t.Fatal("no license fixtures", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !engine.LicenseFailure(b) {
			t.Errorf("%s: not recognised as a license checkout failure", f)
		}
	}
	// Logs of runs that failed, or worked, for other reasons.
	others, _ := filepath.Glob("solverlog/testdata/*.log")
	if s, _ := filepath.Glob("../../shared/samples/*.log"); len(s) > 0 {
		others = append(others, s...)
	}
	for _, f := range others {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if engine.LicenseFailure(b) {
			t.Errorf("%s: taken for a license failure", f)
		}
	}
}

func FuzzLicenseFailure(f *testing.F) {
	f.Add([]byte("FlexNet Licensing error:-4,132"))
	f.Add([]byte("[info] Batch Solve/Save: Completed"))
	f.Fuzz(func(t *testing.T, b []byte) {
		engine.LicenseFailure(b)
	})
}

func TestRestartInTheMiddleOfASweepAndAChain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, setupOpts{dataDir: dir, store: st, limits: roomy})
	sub := b.m.Events().Subscribe(-1, 1000)
	defer sub.Close()
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{
		Template:    b.sweepTemplate("${W}", "FAKE_SOLVER_SLEEP=${S}"),
		Parameters:  params(t, `{"W": ["a", "b", "c", "d"], "S": ["0.2"]}`),
		MaxParallel: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	last := res.JobIDs[3]
	if _, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command("post"), DependsOn: []engine.Dependency{{JobID: last, Condition: "afterok"}}}); err != nil {
		t.Fatal(err)
	}
	b.wait(t, res.JobIDs[0])
	closeCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := b.m.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	// Close returns once every local process has ended, so a run the
	// shutdown killed (its shell dies without recording an end) ended by
	// now; without this it would count as alive for ever and overlap the
	// next run whenever the machine was slow enough for one to be
	// running at the restart.
	closed := time.Now()
	st.Close()

	st2, err := store.Open(ctx, filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	b2 := setup(t, setupOpts{dataDir: dir, store: st2, limits: roomy})
	for _, id := range append(res.JobIDs[1:], "post") {
		j := b2.wait(t, id)
		// The job running at the restart was interrupted; the others ran.
		if j.Status != engine.StatusCompleted && !(j.Status == engine.StatusFailed && strings.Contains(j.Error, "shut down")) {
			t.Errorf("%s after the restart: %s %s", id, j.Status, j.Error)
		}
	}
	runs, err := fakesolver.ReadRecord(b.record)
	if err != nil {
		t.Fatal(err)
	}
	for i := range runs {
		if runs[i].End.IsZero() && runs[i].Start.Before(closed) {
			runs[i].End = closed
		}
	}
	if n := fakesolver.MaxOverlap(runs); n > 1 {
		t.Errorf("%d of the sweep ran at once across the restart; max_parallel is 1", n)
	}
	order := b2.startOrder(t)
	if len(order) == 0 || order[len(order)-1] != "post" {
		t.Errorf("start order %v: post must come last, after %s", order, last)
	}
}

func TestTenThousandJobSweepInOneRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	if err := b.m.Drain(ctx); err != nil { // nothing starts: only acceptance is measured
		t.Fatal(err)
	}
	values := make([]string, 100)
	for i := range values {
		values[i] = fmt.Sprint(i)
	}
	ps := expand.Params{{Name: "A", Values: values}, {Name: "B", Values: values}}
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{Template: b.sweepTemplate("${A}-${B}"), Parameters: ps, MaxParallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.JobIDs) != 10000 {
		t.Fatalf("%d jobs", len(res.JobIDs))
	}
	sw, err := b.m.Sweep(ctx, res.SweepID)
	if err != nil || sw.Total != 10000 || sw.Counts[engine.StatusQueued] != 10000 || len(sw.JobIDs) != 10000 {
		t.Fatalf("sweep: total %d counts %v, %v", sw.Total, sw.Counts, err)
	}
	if got := b.m.QueueStats().TotalQueued; got != 10000 {
		t.Errorf("queued %d", got)
	}
}

func TestSweepCapAndDependencyHoldClusterJobsBeforeSubmission(t *testing.T) {
	t.Parallel()
	c := newFakePBS(t)
	b := clusterSetup(t, c, t.TempDir(), 50*time.Millisecond, nil)
	ctx := context.Background()
	sub := b.m.Events().Subscribe(-1, 256)
	defer sub.Close()
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{
		Template:    b.sweepTemplate("${W}", "FAKE_SOLVER_SLEEP=0.3"),
		Parameters:  params(t, `{"W": ["a", "b", "c"]}`),
		MaxParallel: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command("post"), DependsOn: []engine.Dependency{{JobID: res.JobIDs[2]}}}); err != nil {
		t.Fatal(err)
	}
	// The goroutines submitting the sweep's jobs race: any one goes first.
	var first string
	for first == "" {
		select {
		case ev := <-sub.C:
			if d, ok := ev.Data.(engine.JobScheduledData); ok {
				first = d.JobID
			}
		case <-time.After(30 * time.Second):
			t.Fatal("nothing scheduled")
		}
	}
	for _, id := range res.JobIDs {
		if id == first {
			continue
		}
		j, err := b.m.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != engine.StatusPending || !strings.Contains(j.WaitingReason, "max_parallel") {
			t.Errorf("%s while %s runs: %s %q, want pending at the cap", id, first, j.Status, j.WaitingReason)
		}
	}
	if j, _ := b.m.Job(ctx, "post"); j.Status != engine.StatusPending || !strings.Contains(j.WaitingReason, res.JobIDs[2]) {
		t.Errorf("post: %s %q, want pending for its dependency", j.Status, j.WaitingReason)
	}
	if n := c.calls(t, "qsub"); n != 1 {
		t.Errorf("qsub ran %d times; the capped jobs must not reach the scheduler", n)
	}
	for _, id := range append(res.JobIDs, "post") {
		if j := b.wait(t, id); j.Status != engine.StatusCompleted {
			t.Fatalf("%s: %s %s", id, j.Status, j.Error)
		}
	}
	runs, err := fakesolver.ReadRecord(b.record)
	if err != nil {
		t.Fatal(err)
	}
	var sweepRuns []fakesolver.Run
	var cEnd, postStart time.Time
	for _, r := range runs {
		switch r.Args[len(r.Args)-1] {
		case "post":
			postStart = r.Start
		case "c":
			cEnd = r.End
			sweepRuns = append(sweepRuns, r)
		default:
			sweepRuns = append(sweepRuns, r)
		}
	}
	if n := fakesolver.MaxOverlap(sweepRuns); n > 1 || len(sweepRuns) != 3 {
		t.Errorf("%d runs of the sweep, %d at once; max_parallel is 1: %+v", len(sweepRuns), n, runs)
	}
	if !postStart.After(cEnd) {
		t.Errorf("post started %v, before its dependency ended %v", postStart, cEnd)
	}
}

// A sweep may wait for a job as a whole; when that job fails, every job of
// the sweep is cancelled with the reason, and the dispatcher is not walking
// the waiting jobs meanwhile (they are parked).
func TestSweepDependsOnAJob(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	ctx := context.Background()
	sub := b.m.Events().Subscribe(-1, 1000)
	defer sub.Close()
	b.submit(t, "mesh", 0, "FAKE_SOLVER_SLEEP=0.5", "FAKE_SOLVER_EXIT=1")
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{
		Template:   b.sweepTemplate("${W}"),
		Parameters: params(t, `{"W": ["a", "b", "c", "d", "e"]}`),
		DependsOn:  []engine.Dependency{{JobID: "mesh"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, sub, engine.EventJobStarted, "mesh")
	if got := b.m.QueueStats().TotalQueued; got != 5 {
		t.Errorf("queued %d, want the 5 waiting jobs counted", got)
	}
	j, err := b.m.Job(ctx, res.JobIDs[4])
	if err != nil || j.Status != engine.StatusQueued || !strings.Contains(j.WaitingReason, "waiting for job mesh") {
		t.Errorf("a waiting job of the sweep: %+v, %v", j, err)
	}
	for _, id := range res.JobIDs {
		if j := b.wait(t, id); j.Status != engine.StatusCancelled || !strings.Contains(j.Error, "dependency mesh ended failed") {
			t.Errorf("%s: %s %q", id, j.Status, j.Error)
		}
	}
	if got := b.startOrder(t); len(got) != 1 {
		t.Errorf("ran: %v; only mesh should have", got)
	}
}

func TestResubmitSweepKeepsCapAndRetry(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	ctx := context.Background()
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{
		Template:    b.sweepTemplate("${W}", "FAKE_SOLVER_EXIT=${E}", "FAKE_SOLVER_SLEEP=0.2"),
		Parameters:  params(t, `{"W": ["a", "b", "c"], "E": ["0", "1"]}`),
		Mode:        "product",
		MaxParallel: 1,
		Retry:       &engine.RetryPolicy{MaxAttempts: 1, On: "any"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range res.JobIDs {
		b.wait(t, id)
	}
	ids, err := b.m.ResubmitSweep(ctx, res.SweepID, "")
	if err != nil || len(ids) != 3 {
		t.Fatalf("resubmitted %v, %v; want the 3 failed", ids, err)
	}
	for _, id := range ids {
		b.wait(t, id)
		j, err := b.m.Job(ctx, id) // with its plan
		if err != nil {
			t.Fatal(err)
		}
		if j.Attempt != 2 || j.Status != engine.StatusFailed || j.Retry == nil || j.SweepID != res.SweepID {
			t.Errorf("%s: attempt %d %s retry %v sweep %q", id, j.Attempt, j.Status, j.Retry, j.SweepID)
		}
	}
	runs, _ := fakesolver.ReadRecord(b.record)
	if n := fakesolver.MaxOverlap(runs); n != 1 || len(runs) != 9 {
		t.Errorf("%d runs, %d at once; the cap of 1 holds for the resubmitted jobs too", len(runs), n)
	}
}

// sweep_ended comes once, when the last job of the sweep ended for good: a
// failed attempt that its retry policy queues again does not end the sweep.
func TestSweepEndedAfterItsLastRetry(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	ctx := context.Background()
	sub := b.m.Events().Subscribe(-1, 1000)
	defer sub.Close()
	fixture, _ := filepath.Abs("testdata/license/hfss-users-reached.log")
	marker := filepath.Join(b.dataDir, "busy-once-${W}")
	res, err := b.m.SubmitSweep(ctx, engine.SweepRequest{
		Name:       "retried",
		Template:   b.sweepTemplate("r${W}", "FAKE_SOLVER_FAIL_ONCE="+marker, "FAKE_SOLVER_FAIL_LOG="+fixture),
		Parameters: params(t, `{"W": [1, 2]}`),
		Retry:      &engine.RetryPolicy{MaxAttempts: 2, Backoff: "1s", On: "license"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ended []string
	failed := 0
	for len(ended) == 0 {
		select {
		case ev := <-sub.C:
			switch ev.Name {
			case engine.EventJobFailed:
				failed++
			case engine.EventSweepEnded:
				ended = append(ended, ev.Data.(engine.SweepEndedData).SweepID)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no sweep_ended")
		}
	}
	if ended[0] != res.SweepID || failed != 2 {
		t.Fatalf("sweep_ended %v after %d failed attempts; want %s after 2", ended, failed, res.SweepID)
	}
	sw, err := b.m.Sweep(ctx, res.SweepID)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Counts[engine.StatusCompleted] != 2 || sw.EndTime == nil {
		t.Fatalf("at sweep_ended the sweep is %+v; want both jobs completed (second attempts)", sw.Counts)
	}
}
