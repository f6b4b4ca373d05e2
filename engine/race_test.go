package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/runner"
)

// The races the engine guards against, hit on purpose with a FakeRunner
// instead of by chance with real processes. Run them with -race.

func waitJob(t *testing.T, b *bundle, id string) engine.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), enginetest.Timeout())
	defer cancel()
	j, err := b.m.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

// A scheduler's runner tracks a job from the moment the scheduler accepts
// it, so its end can arrive before the engine has recorded the submission.
// The end must wait for that record: applied first, it would end the job
// and the record of the submission (its scheduler id) would be refused.
func TestRaceUpdateBeforeSubmissionRecorded(t *testing.T) {
	t.Parallel()
	fake := enginetest.NewFakeRunner()
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	zero := 0
	fake.SetOnStart(func(spec runner.Spec, h runner.Handle) {
		fake.Send(runner.Update{JobID: spec.JobID, Attempt: spec.Attempt, State: runner.StateCompleted, ExitCode: &zero})
		<-release // Start returns only once the engine has read the end

	})
	b := setup(t, setupOpts{scheduler: "pbs", cluster: fake})
	t.Cleanup(free) // before the manager's close, which waits for Start
	b.submit(t, "early", 0)
	enginetest.WaitFor(t, "the engine to read the end before Start returns", func() bool { return len(fake.Starts()) == 1 && fake.Delivered() })
	free()
	j := waitJob(t, b, "early")
	if j.Status != engine.StatusCompleted {
		t.Errorf("status = %s (%q), want completed", j.Status, j.Error)
	}
	if j.SchedulerJobID == nil || *j.SchedulerJobID != "fake-1" {
		t.Errorf("scheduler job id = %v, want fake-1: the submission's record was lost to the early end", j.SchedulerJobID)
	}
}

// blockRunning is a store whose write of a job's start (queued → running)
// succeeds, then waits for the test: the moment between the persisted
// start and the runner's Start.
type blockRunning struct {
	engine.Store
	once      sync.Once
	persisted chan struct{}
	release   chan struct{}
}

func (s *blockRunning) JobUpdate(ctx context.Context, p engine.JobUpdateParams) error {
	err := s.Store.JobUpdate(ctx, p)
	if err == nil && p.FromStatus == engine.StatusQueued && p.Status == engine.StatusRunning {
		s.once.Do(func() {
			close(s.persisted)
			<-s.release
		})
	}
	return err
}

// A cancel after the start is persisted but before the runner starts the
// job: the job ends cancelled and the runner never starts it.
func TestRaceCancelBetweenPersistAndStart(t *testing.T) {
	t.Parallel()
	fake := enginetest.NewFakeRunner()
	blk := &blockRunning{persisted: make(chan struct{}), release: make(chan struct{})}
	b := setup(t, setupOpts{runner: fake, wrap: func(s engine.Store) engine.Store { blk.Store = s; return blk }})
	b.submit(t, "caught", 0)
	select {
	case <-blk.persisted:
	case <-time.After(enginetest.Timeout()):
		t.Fatal("the start was never persisted")
	}
	if _, err := b.m.Cancel(context.Background(), "caught", "alice"); err != nil {
		t.Fatal(err)
	}
	close(blk.release)
	j := waitJob(t, b, "caught")
	if j.Status != engine.StatusCancelled || !strings.Contains(j.Error, "before it started") {
		t.Errorf("job = %s (%q), want cancelled before it started", j.Status, j.Error)
	}
	if n := len(fake.Starts()); n != 0 {
		t.Errorf("the runner was asked to start the cancelled job %d times", n)
	}
}

// A cancel while the runner's Start is under way: the job is cancelled at
// the runner as soon as Start returns, and ends cancelled.
func TestRaceCancelDuringStart(t *testing.T) {
	t.Parallel()
	fake := enginetest.NewFakeRunner()
	block := make(chan struct{})
	fake.SetStartBlock(block)
	b := setup(t, setupOpts{runner: fake})
	b.submit(t, "mid", 0)
	enginetest.WaitFor(t, "the runner's Start", func() bool { return len(fake.Starts()) == 1 })
	if _, err := b.m.Cancel(context.Background(), "mid", "alice"); err != nil {
		t.Fatal(err)
	}
	close(block)
	j := waitJob(t, b, "mid")
	if j.Status != engine.StatusCancelled {
		t.Errorf("job = %s (%q), want cancelled", j.Status, j.Error)
	}
	if c := fake.Cancels(); len(c) != 1 || c[0].JobID != "mid" {
		t.Errorf("runner cancels = %+v, want one for mid", c)
	}
	if fake.Running("mid", 1) {
		t.Error("the job runs on at the runner")
	}
}

// A cluster job waiting to retry an unreachable scheduler is woken by a
// cancel: it ends at once, not after the retry's wait (an hour here), and
// is not submitted again.
func TestRaceRetryWokenByCancel(t *testing.T) {
	t.Parallel()
	fake := enginetest.NewFakeRunner()
	fake.SetStartErr(runner.ErrUnavailable)
	b := setup(t, setupOpts{scheduler: "pbs", cluster: fake, edit: []func(*engine.Options){func(o *engine.Options) {
		o.RetryFirst, o.RetryMax = time.Hour, time.Hour
	}}})
	b.submit(t, "waits", 0)
	enginetest.WaitForNil(t, func() error {
		j, err := b.m.Job(context.Background(), "waits")
		if err != nil {
			return err
		}
		if !strings.Contains(j.Error, "waiting for fake") {
			return errors.New("job error = " + j.Error + ", want it waiting for the scheduler")
		}
		return nil
	})
	if _, err := b.m.Cancel(context.Background(), "waits", "alice"); err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, b, "waits")
	if j.Status != engine.StatusCancelled || !strings.Contains(j.Error, "before it reached the scheduler") {
		t.Errorf("job = %s (%q), want cancelled before it reached the scheduler", j.Status, j.Error)
	}
	if n := len(fake.Starts()); n != 1 {
		t.Errorf("%d submissions, want the one before the cancel", n)
	}
}

// A Start that fails ends the job failed with the runner's reason and
// gives its slot back: the next job runs.
func TestRaceStartError(t *testing.T) {
	t.Parallel()
	fake := enginetest.NewFakeRunner()
	fake.SetStartErr(errors.New("exec: no such file"))
	b := setup(t, setupOpts{runner: fake, limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100}})
	b.submit(t, "broken", 0)
	j := waitJob(t, b, "broken")
	if j.Status != engine.StatusFailed || !strings.Contains(j.Error, "cannot start: exec: no such file") {
		t.Errorf("job = %s (%q), want failed with the start error", j.Status, j.Error)
	}
	fake.SetStartErr(nil)
	b.submit(t, "next", 0)
	enginetest.WaitFor(t, "the next job to start in the freed slot", func() bool { return fake.Running("next", 1) })
	zero := 0
	fake.Send(runner.Update{JobID: "next", Attempt: 1, State: runner.StateCompleted, ExitCode: &zero})
	if j := waitJob(t, b, "next"); j.Status != engine.StatusCompleted {
		t.Errorf("next = %s (%q), want completed", j.Status, j.Error)
	}
}

// A cluster Start that fails for another reason than an unreachable
// scheduler fails the job at once, naming the scheduler.
func TestRaceClusterStartError(t *testing.T) {
	t.Parallel()
	fake := enginetest.NewFakeRunner()
	fake.SetStartErr(errors.New("qsub: unknown queue"))
	b := setup(t, setupOpts{scheduler: "pbs", cluster: fake})
	b.submit(t, "refused", 0)
	j := waitJob(t, b, "refused")
	if j.Status != engine.StatusFailed || !strings.Contains(j.Error, "cannot submit to fake: qsub: unknown queue") {
		t.Errorf("job = %s (%q), want failed naming the scheduler's error", j.Status, j.Error)
	}
}

// A short local job can end before the runner's Start returns. Its end must
// wait until job_started is out: a client must never see a job complete
// before it started.
func TestRaceLocalEndBeforeStartReturns(t *testing.T) {
	t.Parallel()
	fake := enginetest.NewFakeRunner()
	zero := 0
	fake.SetOnStart(func(spec runner.Spec, h runner.Handle) {
		fake.Send(runner.Update{JobID: spec.JobID, Attempt: spec.Attempt, State: runner.StateCompleted, ExitCode: &zero})
		// Start returns only once the engine has taken the end.
		enginetest.WaitFor(t, "the engine to take the end", fake.Delivered)
	})
	b := setup(t, setupOpts{runner: fake})
	sub := b.m.Events().Subscribe(-1, 64)
	defer sub.Close()
	b.submit(t, "quick", 0)
	if j := waitJob(t, b, "quick"); j.Status != engine.StatusCompleted {
		t.Fatalf("status = %s (%q), want completed", j.Status, j.Error)
	}
	var seen []string
	for len(seen) < 2 {
		select {
		case ev := <-sub.C:
			if ev.Name == engine.EventJobStarted || ev.Name == engine.EventJobCompleted {
				seen = append(seen, ev.Name)
			}
		case <-time.After(enginetest.Timeout()):
			t.Fatalf("events %v: want job_started then job_completed", seen)
		}
	}
	if seen[0] != engine.EventJobStarted {
		t.Errorf("events %v: the job was announced complete before it started", seen)
	}
}
