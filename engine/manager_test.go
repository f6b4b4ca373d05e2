package engine_test

import (
	stdcmp "cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// bundle is what setup gives a test.
type bundle struct {
	m       *engine.Manager
	store   engine.Store
	dataDir string
	record  string // the fake solver's record file
	project string // an existing .aedt file
	tel     *host.FakeSource
	envExe  string
	opts    engine.Options
}

type setupOpts struct {
	limits  engine.Limits
	dataDir string // reuse (restart tests)
	store   engine.Store
	grace   time.Duration
	// progressEvery is Options.ProgressEvery; 0 means 50ms here.
	progressEvery time.Duration
	gates         []engine.Gate
	retention     engine.Retention
	// runner replaces the local runner (a FakeRunner); cluster, when set,
	// puts the manager in scheduler mode, with scheduler the policy's type.
	runner    runner.Runner
	cluster   runner.Runner
	scheduler string
	// wrap, if not nil, wraps the store the manager uses.
	wrap func(engine.Store) engine.Store
	// edit changes the options last.
	edit []func(*engine.Options)
}

// setup starts a manager on a real SQLite file with the real local runner;
// the configured solver is the fake solver.
func setup(t *testing.T, so setupOpts) *bundle {
	t.Helper()
	b := &bundle{dataDir: so.dataDir, tel: host.NewFakeSource(host.IdleSample())}
	if b.dataDir == "" {
		b.dataDir = t.TempDir()
	}
	b.record = filepath.Join(b.dataDir, "record.txt")
	b.project = filepath.Join(b.dataDir, "board.aedt")
	if err := os.WriteFile(b.project, []byte("fake project"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.tel.Set(host.IdleSample())
	envExe, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env(1) on PATH:", err)
	}
	b.envExe = envExe
	policy, err := engine.NewPolicy(fakesolver.Path(), []string{envExe}, nil, stdcmp.Or(so.scheduler, "none"))
	if err != nil {
		t.Fatal(err)
	}
	policy.DefaultUser = "tester"
	b.store = so.store
	if b.store == nil {
		st, err := store.Open(context.Background(), filepath.Join(b.dataDir, "simjobs.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		b.store = st
	}
	if so.wrap != nil {
		b.store = so.wrap(b.store)
	}
	grace := so.grace
	if grace == 0 {
		grace = 2 * time.Second
	}
	var run runner.Runner = so.runner
	if run == nil {
		run = local.New(local.Options{KillGrace: grace})
	}
	b.opts = engine.Options{
		Store:         b.store,
		Runner:        run,
		Cluster:       so.cluster,
		Telemetry:     b.tel,
		Policy:        policy,
		Limits:        so.limits,
		DataDir:       b.dataDir,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		ProgressEvery: so.progressEvery,
		Gates:         so.gates,
		Retention:     so.retention,
	}
	if b.opts.ProgressEvery == 0 {
		b.opts.ProgressEvery = 50 * time.Millisecond
	}
	for _, e := range so.edit {
		e(&b.opts)
	}
	b.m, err = engine.New(context.Background(), b.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		b.m.Close(ctx)
	})
	return b
}

// command is a plain command job running the fake solver with env.
func (b *bundle) command(id string, env ...string) json.RawMessage {
	argv := append([]string{b.envExe, "FAKE_SOLVER_RECORD=" + b.record}, env...)
	argv = append(argv, fakesolver.Path(), "--job", id)
	js, _ := json.Marshal(engine.CommandConfig{Command: argv, JobID: id})
	return js
}

func (b *bundle) submit(t *testing.T, id string, prio int, env ...string) engine.SubmitResult {
	t.Helper()
	res, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: b.command(id, env...), Priority: prio})
	if err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
	return res
}

// waitFor reads events until one named name for job id arrives.
func waitFor(t *testing.T, sub *engine.Subscription, name, id string) engine.Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed waiting for %s of %s", name, id)
			}
			if ev.Name == name && jobOf(ev) == id {
				return ev
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s of %s", name, id)
		}
	}
}

func jobOf(ev engine.Event) string {
	switch d := ev.Data.(type) {
	case engine.JobQueuedData:
		return d.JobID
	case engine.JobStartedData:
		return d.JobID
	case engine.JobEndedData:
		return d.JobID
	case engine.PriorityChangedData:
		return d.JobID
	case engine.JobProgressData:
		return d.JobID
	}
	return ""
}

// waitRecord polls the fake solver's record file, which the solver (an
// outside process) writes, until ok holds.
func (b *bundle) waitRecord(t *testing.T, ok func([]fakesolver.Run) bool) {
	t.Helper()
	enginetest.WaitForNil(t, func() error {
		runs, err := fakesolver.ReadRecord(b.record)
		if err == nil && ok(runs) {
			return nil
		}
		return fmt.Errorf("record never got there: %+v %v", runs, err)
	})
}

func (b *bundle) wait(t *testing.T, id string) engine.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := b.m.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

// startOrder reads which job ids the fake solver ran, in start order.
func (b *bundle) startOrder(t *testing.T) []string {
	t.Helper()
	runs, err := fakesolver.ReadRecord(b.record)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		for i, a := range r.Args {
			if a == "--job" && i+1 < len(r.Args) {
				ids = append(ids, r.Args[i+1])
			}
		}
	}
	return ids
}

func TestPriorityOrderAndFIFO(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	// Hold every job back until all are queued: the CPU gate is closed.
	busy := host.IdleSample()
	busy.CPUPercent = 99
	b.tel.Set(busy)
	subs := []struct {
		id   string
		prio int
	}{{"low1", -1}, {"norm1", 0}, {"high1", 5}, {"norm2", 0}, {"high2", 5}, {"top", 10}, {"low2", -1}, {"norm3", 0}}
	for _, s := range subs {
		b.submit(t, s.id, s.prio)
	}
	sub := b.m.Events().Subscribe(-1, 100)
	defer sub.Close()
	b.tel.Set(host.IdleSample())
	b.m.TelemetryUpdated()
	for _, s := range subs {
		if j := b.wait(t, s.id); j.Status != engine.StatusCompleted {
			t.Fatalf("%s ended %s: %s", s.id, j.Status, j.Error)
		}
	}
	want := []string{"top", "high1", "high2", "norm1", "norm2", "norm3", "low1", "low2"}
	if diff := cmp.Diff(want, b.startOrder(t)); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
}

func TestConcurrencyLimitNeverExceeded(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: engine.Limits{MaxConcurrentJobs: 2, MaxCPUPercent: 100, MinMemoryGB: 0, MinDiskGB: 0}})
	var ids []string
	for i := range 7 {
		id := fmt.Sprintf("job%d", i)
		ids = append(ids, id)
		b.submit(t, id, 0, "FAKE_SOLVER_SLEEP=0.3")
	}
	for _, id := range ids {
		b.wait(t, id)
	}
	runs, err := fakesolver.ReadRecord(b.record)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(ids) {
		t.Fatalf("%d runs recorded, want %d", len(runs), len(ids))
	}
	if n := fakesolver.MaxOverlap(runs); n > 2 {
		t.Errorf("%d jobs ran at once; the limit is 2", n)
	}
}

func TestRaisingTheLimitStartsWaitingJobsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 100)
	defer sub.Close()
	b.submit(t, "long", 0, "FAKE_SOLVER_SLEEP=30")
	waitFor(t, sub, engine.EventJobStarted, "long")
	b.submit(t, "second", 0)
	b.submit(t, "third", 0)
	if got := b.m.QueueStats().TotalQueued; got != 2 {
		t.Fatalf("queued = %d, want 2 while the only slot is taken", got)
	}
	n := 3
	if _, _, err := b.m.SetLimits(engine.LimitsPatch{MaxConcurrentJobs: &n}); err != nil {
		t.Fatal(err)
	}
	// Both start (and finish) while "long" still holds its slot: the raise
	// took effect at once, not when a running job ended.
	for _, id := range []string{"second", "third"} {
		if j := b.wait(t, id); j.Status != engine.StatusCompleted {
			t.Fatalf("%s: %s", id, j.Status)
		}
	}
	if j, _ := b.m.Job(context.Background(), "long"); j.Status != engine.StatusRunning {
		t.Fatalf("long is %s, want still running", j.Status)
	}
	if _, err := b.m.Cancel(context.Background(), "long", "test"); err != nil {
		t.Fatal(err)
	}
}

func TestResourceGatesHoldJobsBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		sample func(*host.Sample)
		reason string
	}{
		{"cpu", func(s *host.Sample) { s.CPUPercent = 95 }, "CPU"},
		{"memory", func(s *host.Sample) { s.MemoryFreeGB = 1 }, "memory"},
		{"disk", func(s *host.Sample) { s.DiskFreeGB = 0.5 }, "disk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{})
			s := host.IdleSample()
			tc.sample(&s)
			b.tel.Set(s)
			sub := b.m.Events().Subscribe(-1, 100)
			defer sub.Close()
			b.submit(t, "gated", 0)
			// The dispatcher records why it holds the job; wait for that
			// rather than for time to pass.
			enginetest.WaitForNil(t, func() error {
				if got := b.m.QueueStats().BlockedBy; !strings.Contains(got, tc.reason) {
					return fmt.Errorf("blocked_by = %q, want it to name %s", got, tc.reason)
				}
				return nil
			})
			if j, _ := b.m.Job(context.Background(), "gated"); j.Status != engine.StatusQueued {
				t.Fatalf("gated job is %s, want queued", j.Status)
			}
			b.tel.Set(host.IdleSample())
			b.m.TelemetryUpdated()
			waitFor(t, sub, engine.EventJobStarted, "gated")
			b.wait(t, "gated")
		})
	}
}

func TestCancelQueuedAndRunning(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{grace: 500 * time.Millisecond})
	sub := b.m.Events().Subscribe(-1, 100)
	defer sub.Close()
	b.submit(t, "running", 0, "FAKE_SOLVER_SLEEP=60", "FAKE_SOLVER_CHILD=1")
	waitFor(t, sub, engine.EventJobStarted, "running")
	// The solver's child must exist before the cancel, or there would be
	// nothing to prove gone.
	b.waitRecord(t, func(runs []fakesolver.Run) bool { return len(runs) == 1 && runs[0].Child != 0 })
	b.submit(t, "waiting", 0)

	res, err := b.m.Cancel(context.Background(), "waiting", "alice")
	if err != nil || !res.Cancelled {
		t.Fatalf("cancel queued: %+v, %v", res, err)
	}
	if j := b.wait(t, "waiting"); j.Status != engine.StatusCancelled || !strings.Contains(j.Error, "alice") {
		t.Fatalf("queued job: status %s error %q", j.Status, j.Error)
	}
	res, err = b.m.Cancel(context.Background(), "running", "alice")
	if err != nil || !res.Cancelled {
		t.Fatalf("cancel running: %+v, %v", res, err)
	}
	j := b.wait(t, "running")
	if j.Status != engine.StatusCancelled {
		t.Fatalf("running job ended %s (%s)", j.Status, j.Error)
	}
	runs, err := fakesolver.ReadRecord(b.record)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		for _, pid := range []int{r.PID, r.Child} {
			if pid != 0 && processAlive(pid) {
				t.Errorf("process %d of the cancelled job still runs", pid)
			}
		}
	}
	if got := b.startOrder(t); !cmp.Equal(got, []string{"running"}) {
		t.Errorf("ran %v; the cancelled queued job must never start", got)
	}
	// Cancelling again changes nothing and says so.
	res, err = b.m.Cancel(context.Background(), "running", "alice")
	if err != nil || res.Cancelled {
		t.Fatalf("second cancel: %+v, %v", res, err)
	}
	if _, err := b.m.Cancel(context.Background(), "nope", "alice"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("cancel unknown: %v, want ErrNotFound", err)
	}
}

func TestWallTimeLimitKills(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{grace: 200 * time.Millisecond})
	cmd := b.command("slow", "FAKE_SOLVER_SLEEP=60")
	var cfg engine.CommandConfig
	json.Unmarshal(cmd, &cfg)
	cfg.Time = "0:00:01"
	js, _ := json.Marshal(cfg)
	if _, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: js}); err != nil {
		t.Fatal(err)
	}
	j := b.wait(t, "slow")
	if j.Status != engine.StatusFailed || !strings.Contains(j.Error, "wall-time") {
		t.Fatalf("status %s error %q, want failed for the wall-time limit", j.Status, j.Error)
	}
}

func TestExitCodesAndLogs(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	b.submit(t, "ok", 0)
	b.submit(t, "bad", 0, "FAKE_SOLVER_EXIT=3")
	ok, bad := b.wait(t, "ok"), b.wait(t, "bad")
	if ok.Status != engine.StatusCompleted || ok.ReturnCode == nil || *ok.ReturnCode != 0 {
		t.Errorf("ok: %s rc %v", ok.Status, ok.ReturnCode)
	}
	if bad.Status != engine.StatusFailed || bad.ReturnCode == nil || *bad.ReturnCode != 3 {
		t.Errorf("bad: %s rc %v", bad.Status, bad.ReturnCode)
	}
	path, err := b.m.LogPath("ok", 1, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(out), "CONVERGE") {
		t.Errorf("stdout log %q: %v", out, err)
	}
	tr, err := b.m.Transitions(context.Background(), "bad")
	if err != nil {
		t.Fatal(err)
	}
	var got []engine.Status
	for _, x := range tr {
		got = append(got, x.Status)
	}
	if diff := cmp.Diff([]engine.Status{engine.StatusQueued, engine.StatusRunning, engine.StatusFailed}, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestIdempotentResubmission(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 100)
	defer sub.Close()
	first := b.submit(t, "same", 3, "FAKE_SOLVER_SLEEP=30")
	waitFor(t, sub, engine.EventJobStarted, "same")
	dup := b.submit(t, "same", 7)
	if !dup.Duplicate || dup.Attempt != 1 || dup.Status != engine.StatusRunning || !strings.Contains(dup.Message, "already exists") {
		t.Fatalf("duplicate submission: %+v", dup)
	}
	if first.Attempt != 1 {
		t.Fatalf("first attempt = %d", first.Attempt)
	}
	if _, err := b.m.Cancel(context.Background(), "same", ""); err != nil {
		t.Fatal(err)
	}
	b.wait(t, "same")
	again := b.submit(t, "same", 1)
	if again.Duplicate || again.Attempt != 2 {
		t.Fatalf("resubmission after the end: %+v, want attempt 2", again)
	}
	j := b.wait(t, "same")
	if j.Attempt != 2 || j.Status != engine.StatusCompleted || j.Priority != 1 {
		t.Fatalf("attempt 2: %+v", j)
	}
	attempts, err := b.m.Attempts(context.Background(), "same")
	if err != nil || len(attempts) != 2 || attempts[0].Status != engine.StatusCancelled {
		t.Fatalf("attempts: %+v, %v", attempts, err)
	}
	// Attempt 1's log is still there.
	p1, _ := b.m.LogPath("same", 1, "stdout")
	if _, err := os.Stat(p1); err != nil {
		t.Errorf("attempt 1 log: %v", err)
	}
}

func TestPriorityChange(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	busy := host.IdleSample()
	busy.CPUPercent = 99
	b.tel.Set(busy)
	b.submit(t, "a", 0)
	b.submit(t, "b", 0)
	if err := b.m.SetPriority(context.Background(), "b", 9); err != nil {
		t.Fatal(err)
	}
	if j, _ := b.m.Job(context.Background(), "b"); j.Priority != 9 {
		t.Fatalf("stored priority = %d", j.Priority)
	}
	b.tel.Set(host.IdleSample())
	b.m.TelemetryUpdated()
	b.wait(t, "a")
	b.wait(t, "b")
	if diff := cmp.Diff([]string{"b", "a"}, b.startOrder(t)); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
	// A finished job's priority cannot change, and it never runs again.
	err := b.m.SetPriority(context.Background(), "a", 5)
	if !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("priority of a finished job: %v, want ErrConflict", err)
	}
	if got := b.startOrder(t); len(got) != 2 {
		t.Fatalf("ran %v: a finished job ran again", got)
	}
	if err := b.m.SetPriority(context.Background(), "missing", 5); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestSubmitValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	good := func(mut func(m map[string]any)) json.RawMessage {
		m := map[string]any{"project_path": b.project, "jobid": "ok_1"}
		mut(m)
		js, _ := json.Marshal(m)
		return js
	}
	cases := []struct {
		name  string
		cfg   json.RawMessage
		field string
	}{
		{"not an object", json.RawMessage(`[1]`), "config"},
		{"bad jobid", good(func(m map[string]any) { m["jobid"] = "a b" }), "jobid"},
		{"missing project", good(func(m map[string]any) { m["project_path"] = "/nope/x.aedt" }), "project_path"},
		{"wrong suffix", good(func(m map[string]any) { m["project_path"] = b.project + ".txt" }), "project_path"},
		{"wrong type", good(func(m map[string]any) { m["machine_nodes"] = "x" }), "machine_nodes"},
		{"command not allowed", json.RawMessage(`{"command": ["/bin/rm", "-rf", "/"]}`), "command[0]"},
		{"empty command", json.RawMessage(`{"command": []}`), "command"},
		{"command wrong type", json.RawMessage(`{"command": "ls"}`), "command"},
		{"bad working dir", json.RawMessage(`{"command": ["env"], "working_directory": "/does/not/exist"}`), "working_directory"},
	}
	for _, tc := range cases {
		_, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: tc.cfg})
		var ve *engine.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a validation error for field %q", tc.name, err, tc.field)
		}
	}
	if n, _ := b.m.CountJobs(context.Background(), engine.JobListParams{}); n != 0 {
		t.Errorf("%d jobs stored from invalid submissions", n)
	}
}

func TestClientSolverReplaced(t *testing.T) {
	b := setup(t, setupOpts{})
	t.Setenv("FAKE_SOLVER_RECORD", b.record)
	cfg := fmt.Sprintf(`{"jobid": "hfss1", "ansys_edt_path": "C:\\Program Files\\AnsysEM\\ansysedt.exe", "project_path": %q, "design_name": "board", "setup_name": "Setup1", "platform": "Windows", "version": "1.0.0"}`, b.project)
	res, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: json.RawMessage(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Message, "runs instead") {
		t.Errorf("message %q does not say the solver was replaced", res.Message)
	}
	j := b.wait(t, "hfss1")
	if j.Status != engine.StatusCompleted {
		t.Fatalf("%s: %s", j.Status, j.Error)
	}
	runs, _ := fakesolver.ReadRecord(b.record)
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	args := strings.Join(runs[0].Args, " ")
	for _, want := range []string{"-jobid hfss1", "-machinelist list=localhost:-1:20:90%", "-ng", "-monitor", "-batchsolve board:", b.project} {
		if !strings.Contains(args, want) {
			t.Errorf("solver args %q lack %q", args, want)
		}
	}
	var stored map[string]any
	json.Unmarshal(j.Config, &stored)
	if stored["ansys_edt_path"] != fakesolver.Path() {
		t.Errorf("stored ansys_edt_path = %v, want the solver that ran", stored["ansys_edt_path"])
	}
}

func TestRestartKeepsQueueAndHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, setupOpts{dataDir: dir, store: st})
	b.submit(t, "done", 0)
	b.wait(t, "done")
	busy := host.IdleSample()
	busy.CPUPercent = 99
	b.tel.Set(busy)
	for i, p := range []int{0, 2, 0, 1} {
		b.submit(t, fmt.Sprintf("q%d", i), p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st2, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	b2 := setup(t, setupOpts{dataDir: dir, store: st2})
	if j, err := b2.m.Job(context.Background(), "done"); err != nil || j.Status != engine.StatusCompleted {
		t.Fatalf("history after restart: %+v, %v", j, err)
	}
	if got := b2.m.QueueStats().TotalQueued + b2.m.QueueStats().Running; got != 4 {
		t.Fatalf("%d jobs queued or running after restart, want 4", got)
	}
	for i := range 4 {
		b2.wait(t, fmt.Sprintf("q%d", i))
	}
	want := []string{"done", "q1", "q3", "q0", "q2"}
	if diff := cmp.Diff(want, b2.startOrder(t)); diff != "" {
		t.Errorf("start order across the restart (-want +got):\n%s", diff)
	}
}

func TestCrashedRunningJobIsNeverStartedTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "simjobs.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// A previous process marked these running and then died: one before
	// its process started, one whose process is gone.
	now := time.Now().UTC()
	for _, id := range []string{"nopid", "deadpid"} {
		if _, err := st.JobInsert(context.Background(), engine.JobInsertParams{ID: id, Status: engine.StatusQueued, Kind: engine.KindCommand, Config: json.RawMessage(`{"command":["env"],"jobid":"` + id + `"}`), SubmitTime: now}); err != nil {
			t.Fatal(err)
		}
		p := engine.JobUpdateParams{ID: id, Attempt: 1, Status: engine.StatusRunning, StartTime: &now, Time: now}
		if id == "deadpid" {
			p.Process = &engine.ProcessRef{PID: deadPID(t), StartTime: 1}
		}
		if err := st.JobUpdate(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	b := setup(t, setupOpts{dataDir: dir, store: st})
	for _, id := range []string{"nopid", "deadpid"} {
		j := b.wait(t, id)
		if j.Status != engine.StatusFailed || !strings.Contains(j.Error, "lost") {
			t.Errorf("%s: %s %q, want failed as lost", id, j.Status, j.Error)
		}
	}
	if got := b.startOrder(t); len(got) != 0 {
		t.Errorf("started %v after the crash", got)
	}
}

func TestDrainLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 100)
	defer sub.Close()
	b.submit(t, "running", 0, "FAKE_SOLVER_SLEEP=0.5")
	waitFor(t, sub, engine.EventJobStarted, "running")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- b.m.Drain(ctx) }()
	// Submissions are still accepted while draining, but nothing starts.
	b.submit(t, "later", 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if j, _ := b.m.Job(context.Background(), "running"); j.Status != engine.StatusCompleted {
		t.Fatalf("running job: %s", j.Status)
	}
	if j, _ := b.m.Job(context.Background(), "later"); j.Status != engine.StatusQueued {
		t.Fatalf("job submitted during the drain: %s, want queued", j.Status)
	}
}

func TestCloseInterruptsRunningJobs(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{grace: 200 * time.Millisecond})
	sub := b.m.Events().Subscribe(-1, 100)
	defer sub.Close()
	b.submit(t, "long", 0, "FAKE_SOLVER_SLEEP=60")
	waitFor(t, sub, engine.EventJobStarted, "long")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	j, err := b.store.JobGet(context.Background(), "long")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != engine.StatusFailed || !strings.Contains(j.Error, "shut down") {
		t.Fatalf("%s %q, want failed: interrupted by the shutdown", j.Status, j.Error)
	}
}

func TestStoreFailureRefusesSubmission(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	faulty := storetest.NewFaulty(st)
	b := setup(t, setupOpts{dataDir: dir, store: faulty})
	faulty.SetFail(storetest.MethodJobInsert, errors.New("disk on fire"))
	_, err = b.m.Submit(context.Background(), engine.SubmitRequest{Config: b.command("x")})
	if err == nil {
		t.Fatal("submission acknowledged although the store failed")
	}
	faulty.SetFail(storetest.MethodJobInsert, nil)
	b.submit(t, "x", 0)
	if j := b.wait(t, "x"); j.Status != engine.StatusCompleted {
		t.Fatalf("after the store recovered: %s", j.Status)
	}
}

// TestStartTakesASpareFolder: a job's start renames one of the folders the
// manager made ahead (DataDir/.spare) into place instead of creating its
// own, and the job's logs land in it.
func TestStartTakesASpareFolder(t *testing.T) {
	b := setup(t, setupOpts{})
	spares := filepath.Join(b.dataDir, ".spare")
	names := func() map[string]bool {
		entries, _ := os.ReadDir(spares)
		set := map[string]bool{}
		for _, e := range entries {
			set[e.Name()] = true
		}
		return set
	}
	enginetest.WaitFor(t, "the spare folders made", func() bool { return len(names()) == 8 })
	before := names()
	b.submit(t, "spare1", 0)
	if j := b.wait(t, "spare1"); j.Status != engine.StatusCompleted {
		t.Fatalf("job ended %s: %s", j.Status, j.Error)
	}
	taken := 0
	after := names()
	for name := range before {
		if !after[name] {
			taken++
		}
	}
	if taken != 1 {
		t.Errorf("%d of the spares made before the start were taken, want 1 (before %v, after %v)", taken, before, after)
	}
	if out, err := os.ReadFile(filepath.Join(b.dataDir, "jobs", "spare1", "1", "stdout.log")); err != nil || len(out) == 0 {
		t.Errorf("the job's stdout.log: %q, %v", out, err)
	}
}
