package enginetest_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
)

// fakeSpec asks a FakeRunner to run job as the conformance suite wants.
func fakeSpec(t *testing.T, job runnertest.Job) runner.Spec {
	dir := t.TempDir()
	return runner.Spec{
		JobID: job.JobID, Attempt: job.Attempt, Dir: dir, Argv: []string{"solve"},
		Env:    []string{enginetest.EnvRun + "=" + job.Duration.String(), fmt.Sprintf("%s=%d", enginetest.EnvExit, job.ExitCode)},
		Stdout: filepath.Join(dir, "stdout.log"), Stderr: filepath.Join(dir, "stderr.log"),
	}
}

// The fake passes what every runner passes, so what the engine's tests
// learn from it holds for the real ones.
func TestFakeRunnerConformance(t *testing.T) {
	host := enginetest.NewFakeRunner()
	host.Close()
	runnertest.RunConformance(t, func(*testing.T) runner.Runner { return host.Reopen() }, fakeSpec)
}

// As a scheduler's runner (running reported, jobs found again by name
// after a restart) it passes the scheduler tests too.
func TestFakeRunnerConformanceAsScheduler(t *testing.T) {
	host := enginetest.NewFakeRunner()
	host.Close()
	runnertest.RunConformance(t, func(*testing.T) runner.Runner {
		r := host.Reopen()
		r.SetScheduler(true)
		return r
	}, fakeSpec, runnertest.Scheduler())
}

func next(t *testing.T, r runner.Runner) runner.Update {
	t.Helper()
	select {
	case u := <-r.Updates():
		return u
	case <-time.After(enginetest.Timeout()):
		t.Fatal("no update")
	}
	panic("unreachable")
}

func TestFakeRunnerScripts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec := runner.Spec{JobID: "j", Attempt: 1}

	t.Run("StartErr", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		r.SetStartErr(runner.ErrUnavailable)
		if _, err := r.Start(ctx, spec); !errors.Is(err, runner.ErrUnavailable) {
			t.Fatalf("Start = %v, want ErrUnavailable", err)
		}
		r.SetStartErr(nil)
		if _, err := r.Start(ctx, spec); err != nil {
			t.Fatalf("Start after the error was cleared: %v", err)
		}
		if n := len(r.Starts()); n != 2 {
			t.Errorf("%d starts recorded, want 2", n)
		}
	})

	t.Run("StartBlock", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		block := make(chan struct{})
		r.SetStartBlock(block)
		done := make(chan error, 1)
		go func() { _, err := r.Start(ctx, spec); done <- err }()
		enginetest.WaitFor(t, "Start to be called", func() bool { return len(r.Starts()) == 1 })
		select {
		case err := <-done:
			t.Fatalf("Start returned (%v) before its block was released", err)
		default:
		}
		if r.Running("j", 1) {
			t.Error("job runs before its Start was released")
		}
		close(block)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !r.Running("j", 1) {
			t.Error("job not running after Start returned")
		}
	})

	t.Run("StartBlockCancelled", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		r.SetStartBlock(make(chan struct{}))
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := r.Start(c, spec); !errors.Is(err, context.Canceled) {
			t.Errorf("Start with its context ended = %v, want context.Canceled", err)
		}
	})

	t.Run("SendEndsTheJobOnce", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		if _, err := r.Start(ctx, spec); err != nil {
			t.Fatal(err)
		}
		code := 2
		r.Send(runner.Update{JobID: "j", Attempt: 1, State: runner.StateFailed, ExitCode: &code, Message: "boom"})
		u := next(t, r)
		if u.State != runner.StateFailed || u.Time.IsZero() || *u.ExitCode != 2 {
			t.Errorf("update = %+v, want failed with code 2 and a time", u)
		}
		if r.Running("j", 1) {
			t.Error("job runs on after a terminal Send")
		}
		// A cancel after the end sends nothing more.
		_ = r.Cancel(ctx, runner.Ref{JobID: "j", Attempt: 1})
		r.Send(runner.Update{JobID: "j", Attempt: 1, State: runner.StateCompleted})
		if !r.Delivered() {
			t.Error("updates queued after the job ended")
		}
	})

	t.Run("SendBeforeStart", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		r.Send(runner.Update{JobID: "stray", Attempt: 1, State: runner.StateRunning})
		if u := next(t, r); u.JobID != "stray" || u.State != runner.StateRunning {
			t.Errorf("update = %+v, want the stray running update", u)
		}
	})

	t.Run("OnStart", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		var got runner.Handle
		r.SetOnStart(func(_ runner.Spec, h runner.Handle) { got = h })
		h, err := r.Start(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if got != h || h.ExternalID == "" {
			t.Errorf("OnStart saw %+v, Start returned %+v", got, h)
		}
	})

	t.Run("AdoptErr", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		boom := errors.New("boom")
		r.SetAdoptErr(boom)
		if err := r.Adopt(ctx, runner.Ref{JobID: "j", Attempt: 1}); !errors.Is(err, boom) {
			t.Errorf("Adopt = %v, want %v", err, boom)
		}
	})

	t.Run("BadScript", func(t *testing.T) {
		r := enginetest.NewFakeRunner()
		defer r.Close()
		bad := spec
		bad.Env = []string{enginetest.EnvRun + "=soon"}
		if _, err := r.Start(ctx, bad); err == nil {
			t.Error("Start with an unreadable run time succeeded")
		}
	})
}
