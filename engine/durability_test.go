package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// diskFull is the error a store gives when its volume is full.
var diskFull = &engine.StoreFault{Cause: "the data volume is full (test): free some space", Err: syscall.ENOSPC}

// faultySetup is setup on a store whose writes the test can fail.
func faultySetup(t *testing.T, so setupOpts) (*bundle, *storetest.Faulty) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := storetest.NewFaulty(st)
	so.dataDir, so.store = dir, f
	return setup(t, so), f
}

// until polls cond (state held by other goroutines or processes).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	enginetest.WaitFor(t, what, cond)
}

func (b *bundle) status(t *testing.T, id string) engine.Status {
	t.Helper()
	j, err := b.m.Job(context.Background(), id)
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return j.Status
}

// hold keeps the dispatcher from starting anything (CPU above the limit).
func (b *bundle) hold() {
	b.tel.Update(func(s *host.Sample) { s.CPUPercent = 100 })
	b.m.TelemetryUpdated()
}
func (b *bundle) release() { b.tel.Set(host.IdleSample()); b.m.TelemetryUpdated() }

// Every engine path meets a store that cannot write (a full or read-only
// volume) and recovers when it can again: nothing is acknowledged that is
// not stored, nothing starts that is not recorded as started, and every
// end is recorded once writes work.
func TestStoreFaultEveryPath(t *testing.T) {
	t.Parallel()
	unavailable := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, engine.ErrStoreUnavailable) || !strings.Contains(err.Error(), "full") {
			t.Fatalf("error %v, want one wrapping ErrStoreUnavailable that names the cause", err)
		}
	}
	t.Run("submit", func(t *testing.T) {
		t.Parallel()
		b, f := faultySetup(t, setupOpts{})
		f.FailWrites(diskFull)
		_, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: b.command("s")})
		unavailable(t, err)
		if _, err := f.Store.JobGet(context.Background(), "s"); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("refused submission is in the store: %v", err)
		}
		if err := b.m.StoreHealth(context.Background()); !errors.Is(err, engine.ErrStoreUnavailable) {
			t.Errorf("StoreHealth while failing: %v", err)
		}
		f.FailWrites(nil)
		b.submit(t, "s", 0)
		if j := b.wait(t, "s"); j.Status != engine.StatusCompleted {
			t.Fatalf("after recovery: %s", j.Status)
		}
	})
	t.Run("start", func(t *testing.T) {
		t.Parallel()
		b, f := faultySetup(t, setupOpts{})
		b.hold()
		b.submit(t, "st", 0)
		f.FailWrites(diskFull)
		before := f.Calls(storetest.MethodJobUpdate)
		b.release()
		until(t, "a start attempt", func() bool { return f.Calls(storetest.MethodJobUpdate) > before })
		if st := b.status(t, "st"); st != engine.StatusQueued {
			t.Fatalf("job whose start could not be recorded is %s, want queued", st)
		}
		if runs, _ := fakesolver.ReadRecord(b.record); len(runs) != 0 {
			t.Fatalf("the job ran although its start was not recorded: %v", runs)
		}
		f.FailWrites(nil)
		b.m.TelemetryUpdated()
		if j := b.wait(t, "st"); j.Status != engine.StatusCompleted {
			t.Fatalf("after recovery: %s", j.Status)
		}
		if runs, _ := fakesolver.ReadRecord(b.record); len(runs) != 1 {
			t.Fatalf("ran %d times", len(runs))
		}
	})
	t.Run("end", func(t *testing.T) {
		t.Parallel()
		b, f := faultySetup(t, setupOpts{})
		b.submit(t, "e", 0, "FAKE_SOLVER_SLEEP=0.3", "FAKE_SOLVER_EXIT=4")
		b.waitRecord(t, func(r []fakesolver.Run) bool { return len(r) == 1 })
		f.FailWrites(diskFull)
		until(t, "the job's end to be tried", func() bool {
			runs, _ := fakesolver.ReadRecord(b.record)
			return len(runs) == 1 && !runs[0].End.IsZero()
		})
		before := f.Calls(storetest.MethodJobUpdate)
		until(t, "retries of the end", func() bool { return f.Calls(storetest.MethodJobUpdate) >= before+2 })
		if st := b.status(t, "e"); st != engine.StatusRunning {
			t.Fatalf("while the end cannot be written the store says %s", st)
		}
		f.FailWrites(nil)
		j := b.wait(t, "e")
		if j.Status != engine.StatusFailed || j.ReturnCode == nil || *j.ReturnCode != 4 {
			t.Fatalf("after recovery: %s rc %v", j.Status, j.ReturnCode)
		}
	})
	t.Run("cancel queued", func(t *testing.T) {
		t.Parallel()
		b, f := faultySetup(t, setupOpts{})
		b.hold()
		b.submit(t, "c", 0)
		f.FailWrites(diskFull)
		_, err := b.m.Cancel(context.Background(), "c", "tester")
		unavailable(t, err)
		if st := b.status(t, "c"); st != engine.StatusQueued {
			t.Fatalf("after a failed cancel: %s", st)
		}
		f.FailWrites(nil)
		if res, err := b.m.Cancel(context.Background(), "c", "tester"); err != nil || !res.Cancelled {
			t.Fatalf("cancel after recovery: %+v %v", res, err)
		}
		if st := b.status(t, "c"); st != engine.StatusCancelled {
			t.Fatalf("after recovery: %s", st)
		}
	})
	t.Run("cancel running", func(t *testing.T) {
		t.Parallel()
		b, f := faultySetup(t, setupOpts{})
		b.submit(t, "cr", 0, "FAKE_SOLVER_SLEEP=30")
		b.waitRecord(t, func(r []fakesolver.Run) bool { return len(r) == 1 })
		until(t, "running", func() bool { return b.status(t, "cr") == engine.StatusRunning })
		f.FailWrites(diskFull)
		before := f.Calls(storetest.MethodJobUpdate)
		if res, err := b.m.Cancel(context.Background(), "cr", "tester"); err != nil || !res.Cancelled {
			t.Fatalf("cancel: %+v %v", res, err)
		}
		// The process is stopped at once; its end is retried until it can
		// be written.
		until(t, "retries of the end", func() bool { return f.Calls(storetest.MethodJobUpdate) >= before+2 })
		if st := b.status(t, "cr"); st != engine.StatusRunning {
			t.Fatalf("while the end cannot be written the store says %s", st)
		}
		f.FailWrites(nil)
		if j := b.wait(t, "cr"); j.Status != engine.StatusCancelled {
			t.Fatalf("after recovery: %s", j.Status)
		}
	})
	t.Run("priority", func(t *testing.T) {
		t.Parallel()
		b, f := faultySetup(t, setupOpts{})
		b.hold()
		b.submit(t, "p", 1)
		f.FailWrites(diskFull)
		unavailable(t, b.m.SetPriority(context.Background(), "p", 9))
		if j, _ := b.m.Job(context.Background(), "p"); j.Priority != 1 {
			t.Fatalf("priority %d after a failed change", j.Priority)
		}
		f.FailWrites(nil)
		if err := b.m.SetPriority(context.Background(), "p", 9); err != nil {
			t.Fatal(err)
		}
		if j, _ := b.m.Job(context.Background(), "p"); j.Priority != 9 {
			t.Fatalf("priority %d after recovery", j.Priority)
		}
	})
	t.Run("limits", func(t *testing.T) {
		t.Parallel()
		b, f := faultySetup(t, setupOpts{limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 80, MinMemoryGB: 1, MinDiskGB: 1}})
		b.submit(t, "l1", 0, "FAKE_SOLVER_SLEEP=30")
		b.submit(t, "l2", 0)
		b.waitRecord(t, func(r []fakesolver.Run) bool { return len(r) == 1 })
		f.FailWrites(diskFull)
		before := f.Calls(storetest.MethodJobUpdate)
		// Limits live in memory: they change while the store fails, and the
		// job they let through stays queued until its start can be recorded.
		two := 2
		if _, _, err := b.m.SetLimits(engine.LimitsPatch{MaxConcurrentJobs: &two}); err != nil {
			t.Fatal(err)
		}
		until(t, "a start attempt", func() bool { return f.Calls(storetest.MethodJobUpdate) > before })
		if st := b.status(t, "l2"); st != engine.StatusQueued {
			t.Fatalf("l2 is %s, want queued while its start cannot be recorded", st)
		}
		f.FailWrites(nil)
		b.m.TelemetryUpdated()
		if j := b.wait(t, "l2"); j.Status != engine.StatusCompleted {
			t.Fatalf("l2 after recovery: %s", j.Status)
		}
		if _, err := b.m.Cancel(context.Background(), "l1", "tester"); err != nil {
			t.Fatal(err)
		}
	})
}

// Retention deletes old ended jobs with their files, keeps the rest, and
// caps logs at the job's end.
func TestRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	old := time.Now().Add(-100 * 24 * time.Hour)
	if err := st.Seed(context.Background(), store.SeedParams{IDPrefix: "OLD_", N: 450, User: "bob", Status: engine.StatusCompleted, Submit: old}); err != nil {
		t.Fatal(err)
	}
	oldDir := filepath.Join(dir, "jobs", "OLD_000007", "1")
	if err := os.MkdirAll(oldDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := setup(t, setupOpts{dataDir: dir, store: st, retention: engine.Retention{KeepFor: 90 * 24 * time.Hour, MaxLogBytes: 4096}})
	script := filepath.Join(t.TempDir(), "script.txt")
	if err := os.WriteFile(script, []byte(strings.Repeat("a line of solver output\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	b.submit(t, "chatty", 0, "FAKE_SOLVER_SCRIPT="+script)
	if j := b.wait(t, "chatty"); j.Status != engine.StatusCompleted {
		t.Fatalf("chatty: %s", j.Status)
	}
	n, err := b.m.PruneNow(context.Background())
	if err != nil || n != 450 {
		t.Fatalf("PruneNow deleted %d (%v), want 450", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs", "OLD_000007")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pruned job's folder is still there: %v", err)
	}
	if _, err := b.m.Job(context.Background(), "chatty"); err != nil {
		t.Errorf("a recent job was pruned: %v", err)
	}
	path, err := b.m.LogPath("chatty", 1, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) > 4096 || !strings.HasPrefix(string(log), "[simjobs: ") || !strings.HasSuffix(string(log), "a line of solver output\n") {
		t.Errorf("capped log: %d bytes, starts %q", len(log), string(log[:min(80, len(log))]))
	}
}
