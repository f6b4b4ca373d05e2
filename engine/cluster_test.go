package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/pbs"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/testdata/fakesched"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// fakePBS is a fake PBS cluster (testdata/fakesched/pbs) that outlives
// the managers a test starts on it, as a real cluster outlives servers.
type fakePBS struct {
	state    string
	instance string
}

func newFakePBS(t *testing.T) fakePBS {
	return fakePBS{state: t.TempDir(), instance: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

func (c fakePBS) options(pollMin time.Duration) pbs.Options {
	return pbs.Options{
		Dir: fakesched.Dir("pbs"),
		Env: []string{fakesched.EnvDir + "=" + c.state},
		Runner: cluster.Options{Instance: c.instance, PollMin: pollMin, PollMax: 4 * pollMin,
			LostAfter: 10 * time.Second},
	}
}

func (c fakePBS) calls(t *testing.T, cmd string) int {
	t.Helper()
	calls, err := fakesched.Calls(c.state)
	if err != nil {
		t.Fatal(err)
	}
	return fakesched.Count(calls, cmd)
}

// clusterSetup starts a manager in scheduler mode on c, with its data in
// dataDir (reused across restarts). wrap, if not nil, wraps the store.
func clusterSetup(t *testing.T, c fakePBS, dataDir string, pollMin time.Duration, wrap func(engine.Store) engine.Store, edit ...func(*engine.Options)) *bundle {
	t.Helper()
	// The solver's progress is read at the engine's own pace here.
	edit = append([]func(*engine.Options){func(o *engine.Options) { o.ProgressEvery = 0 }}, edit...)
	return setup(t, setupOpts{dataDir: dataDir, scheduler: "pbs", cluster: pbs.New(c.options(pollMin)), wrap: wrap, edit: edit})
}

func TestClusterJobLifecycle(t *testing.T) {
	t.Parallel()
	c := newFakePBS(t)
	b := clusterSetup(t, c, t.TempDir(), 50*time.Millisecond, nil)
	sub := b.m.Events().Subscribe(0, 256)
	defer sub.Close()

	res := b.submit(t, "pbs_fail", 0, fakesolver.EnvExit+"=3", fakesolver.EnvSleep+"=1")
	if res.Status != engine.StatusPending {
		t.Errorf("status at submission = %s, want pending (persisted before qsub runs)", res.Status)
	}
	ext := waitScheduled(t, sub, "pbs_fail")
	if ext == "" {
		t.Fatal("job_scheduled without a scheduler job id")
	}
	waitFor(t, sub, engine.EventJobStarted, "pbs_fail")
	end := waitFor(t, sub, engine.EventJobFailed, "pbs_fail").Data.(engine.JobEndedData)
	if end.ReturnCode == nil || *end.ReturnCode != 3 {
		t.Errorf("return code = %v, want 3 from the accounting", end.ReturnCode)
	}
	j := b.wait(t, "pbs_fail")
	if j.Status != engine.StatusFailed || j.SchedulerJobID == nil || *j.SchedulerJobID != ext || j.StartTime == nil {
		t.Errorf("stored job = status %s, scheduler id %v, start %v; want failed, %s, a start time", j.Status, j.SchedulerJobID, j.StartTime, ext)
	}

	b.submit(t, "pbs_cancel", 0, fakesolver.EnvSleep+"=300")
	waitFor(t, sub, engine.EventJobStarted, "pbs_cancel")
	if _, err := b.m.Cancel(context.Background(), "pbs_cancel", "alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sub, engine.EventJobCancelled, "pbs_cancel")
	if got := c.calls(t, "qdel"); got != 1 {
		t.Errorf("qdel ran %d times, want 1", got)
	}

	parts, err := b.m.Partitions(context.Background())
	if err != nil || len(parts) != 2 {
		t.Errorf("Partitions = %+v, %v", parts, err)
	}
}

// waitScheduled reads events until job id is scheduled and returns its
// scheduler job id.
func waitScheduled(t *testing.T, sub *engine.Subscription, id string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if d, ok := ev.Data.(engine.JobScheduledData); ok && d.JobID == id {
				return d.SchedulerJobID
			}
		case <-timeout:
			t.Fatalf("timed out waiting for job_scheduled of %s", id)
		}
	}
}

// gatedStore holds every update that records a job as scheduled until
// the gate opens: a slow disk between qsub's answer and its record.
type gatedStore struct {
	engine.Store
	gate chan struct{}
}

func (s *gatedStore) JobUpdate(ctx context.Context, p engine.JobUpdateParams) error {
	if p.Status == engine.StatusScheduled {
		<-s.gate
	}
	return s.Store.JobUpdate(ctx, p)
}

// TestClusterEndBeforeSubmissionIsRecorded: a job ends at the scheduler
// (and the runner reports it) before the manager has recorded its
// submission. The manager must apply the runner's updates after that
// record, so the job keeps its scheduler id, start and real end.
func TestClusterEndBeforeSubmissionIsRecorded(t *testing.T) {
	t.Parallel()
	c := newFakePBS(t)
	gate := make(chan struct{})
	b := clusterSetup(t, c, t.TempDir(), 10*time.Millisecond, func(s engine.Store) engine.Store { return &gatedStore{Store: s, gate: gate} })
	b.submit(t, "early_end", 0, fakesolver.EnvExit+"=2")
	// The runner asked the accounting for the job's end: it has sent the
	// end, which the manager must not apply yet.
	enginetest.WaitFor(t, "the runner to look up the job's end", func() bool { return c.calls(t, "qstat -x -f") > 0 })
	close(gate)
	j := b.wait(t, "early_end")
	if j.Status != engine.StatusFailed || j.ReturnCode == nil || *j.ReturnCode != 2 || j.SchedulerJobID == nil || j.StartTime == nil {
		t.Errorf("job = %s, return code %v, scheduler id %v, start %v; want failed with 2, an id and a start",
			j.Status, j.ReturnCode, j.SchedulerJobID, j.StartTime)
	}
}

// TestClusterCrashAfterQsub: the server crashed after qsub accepted a job
// but before it recorded the job as scheduled. On restart the job is
// still pending in the store; the manager must find it at the scheduler
// by name and track it, not submit it again.
func TestClusterCrashAfterQsub(t *testing.T) {
	t.Parallel()
	c := newFakePBS(t)
	dataDir := t.TempDir()

	// What Submit persisted before the crash.
	st, err := store.Open(context.Background(), filepath.Join(dataDir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	envExe, _ := exec.LookPath("env")
	argv := []string{envExe, fakesolver.EnvExit + "=5", fakesolver.EnvSleep + "=1", fakesolver.Path()}
	cfg, _ := json.Marshal(engine.CommandConfig{Command: argv, JobID: "crashed"})
	if _, err := st.JobInsert(context.Background(), engine.JobInsertParams{ID: "crashed", User: "tester", Status: engine.StatusPending,
		Kind: engine.KindCommand, Config: cfg, SubmitTime: time.Now().UTC(), Message: "submitted"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// What qsub did before the crash.
	r := pbs.New(c.options(50 * time.Millisecond))
	h, err := r.Start(context.Background(), runner.Spec{JobID: "crashed", Attempt: 1, Argv: argv, Dir: dataDir,
		Stdout: filepath.Join(dataDir, "out.log"), Stderr: filepath.Join(dataDir, "err.log")})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()

	b := clusterSetup(t, c, dataDir, 50*time.Millisecond, nil)
	j := b.wait(t, "crashed")
	if j.Status != engine.StatusFailed || j.ReturnCode == nil || *j.ReturnCode != 5 {
		t.Errorf("job = %s with return code %v, want failed with 5", j.Status, j.ReturnCode)
	}
	if j.SchedulerJobID == nil || *j.SchedulerJobID != h.ExternalID {
		t.Errorf("scheduler job id = %v, want the first submission %s", j.SchedulerJobID, h.ExternalID)
	}
	if got := c.calls(t, "qsub"); got != 1 {
		t.Errorf("qsub ran %d times, want 1: the restart submitted the job again", got)
	}
}

// pbsDown is what PBS Professional's commands print when the server
// cannot be reached.
const pbsDown = "Connection refused\nqstat: cannot connect to server pbs01 (errno=111)\n"

// outage starts (down true) or ends an outage of the fake cluster.
func (c fakePBS) outage(t *testing.T, down bool) {
	t.Helper()
	path := filepath.Join(c.state, "down")
	var err error
	if down {
		err = os.WriteFile(path, []byte(pbsDown), 0o644)
	} else {
		err = os.Remove(path)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// waitWaiting waits until job id is pending with the reason it waits for
// the scheduler in its error, and returns the job.
func (b *bundle) waitWaiting(t *testing.T, id string) engine.Job {
	t.Helper()
	var j engine.Job
	enginetest.WaitForNil(t, func() error {
		var err error
		j, err = b.m.Job(context.Background(), id)
		if err == nil && j.Status == engine.StatusPending && strings.Contains(j.Error, "waiting for pbs") {
			return nil
		}
		return fmt.Errorf("job %s never said it waits for the scheduler: %+v, %v", id, j, err)
	})
	return j
}

// While the scheduler cannot be reached, jobs stay pending and say why;
// they are submitted (once) when it answers again, cancelled at once when
// asked, and still pending after a restart.
func TestClusterSchedulerUnreachable(t *testing.T) {
	t.Parallel()
	retry := func(first, most time.Duration) func(*engine.Options) {
		return func(o *engine.Options) { o.RetryFirst, o.RetryMax = first, most }
	}

	t.Run("submitted when it answers again", func(t *testing.T) {
		t.Parallel()
		c := newFakePBS(t)
		b := clusterSetup(t, c, t.TempDir(), 50*time.Millisecond, nil, retry(20*time.Millisecond, 100*time.Millisecond))
		c.outage(t, true)
		b.submit(t, "blip", 0, fakesolver.EnvSleep+"=0.2")
		j := b.waitWaiting(t, "blip")
		if !strings.Contains(j.Error, "cannot connect to server pbs01") {
			t.Errorf("the reason does not quote the scheduler: %q", j.Error)
		}
		if n := c.calls(t, "qsub"); n != 0 {
			t.Errorf("qsub ran %d times during the outage: nothing may be submitted before the lookup by name answers", n)
		}
		c.outage(t, false)
		j = b.wait(t, "blip")
		if j.Status != engine.StatusCompleted || j.Error != "" || j.SchedulerJobID == nil {
			t.Errorf("after the outage: %s, error %q, scheduler id %v; want completed, no error, an id", j.Status, j.Error, j.SchedulerJobID)
		}
		if n := c.calls(t, "qsub"); n != 1 {
			t.Errorf("qsub ran %d times, want 1", n)
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		c := newFakePBS(t)
		// The next try would be in an hour: the cancel must not wait for it.
		b := clusterSetup(t, c, t.TempDir(), 50*time.Millisecond, nil, retry(time.Hour, time.Hour))
		c.outage(t, true)
		b.submit(t, "doomed", 0)
		b.waitWaiting(t, "doomed")
		if _, err := b.m.Cancel(context.Background(), "doomed", "alice"); err != nil {
			t.Fatal(err)
		}
		j := b.wait(t, "doomed")
		if j.Status != engine.StatusCancelled || !strings.Contains(j.Error, "cancelled by alice before it reached the scheduler") {
			t.Errorf("job = %s, %q; want cancelled before it reached the scheduler", j.Status, j.Error)
		}
	})

	t.Run("cancelled as it starts waiting", func(t *testing.T) {
		t.Parallel()
		c := newFakePBS(t)
		// The cancel comes while the reason is being recorded: before the
		// submitter waits, so nothing is there yet to wake.
		hook := &hookStore{}
		b := clusterSetup(t, c, t.TempDir(), 50*time.Millisecond, func(s engine.Store) engine.Store { hook.Store = s; return hook },
			retry(time.Hour, time.Hour))
		hook.onWaiting = func() {
			if _, err := b.m.Cancel(context.Background(), "early", "alice"); err != nil {
				t.Error(err)
			}
		}
		c.outage(t, true)
		b.submit(t, "early", 0)
		if j := b.wait(t, "early"); j.Status != engine.StatusCancelled {
			t.Errorf("job = %s, want cancelled", j.Status)
		}
	})

	t.Run("still pending after a restart", func(t *testing.T) {
		t.Parallel()
		c := newFakePBS(t)
		dataDir := t.TempDir()
		b := clusterSetup(t, c, dataDir, 50*time.Millisecond, nil, retry(time.Hour, time.Hour))
		c.outage(t, true)
		b.submit(t, "patient", 0)
		b.waitWaiting(t, "patient")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.m.Close(ctx); err != nil {
			t.Fatal(err)
		}
		b.store.Close()
		c.outage(t, false)
		b = clusterSetup(t, c, dataDir, 50*time.Millisecond, nil)
		if j := b.wait(t, "patient"); j.Status != engine.StatusCompleted || c.calls(t, "qsub") != 1 {
			t.Errorf("after the restart: %s with %d qsub calls; want completed, submitted once", j.Status, c.calls(t, "qsub"))
		}
	})
}

// hookStore calls onWaiting once, when a job's reason for waiting for the
// scheduler is recorded.
type hookStore struct {
	engine.Store
	once      sync.Once
	onWaiting func()
}

func (s *hookStore) JobUpdate(ctx context.Context, p engine.JobUpdateParams) error {
	err := s.Store.JobUpdate(ctx, p)
	if p.Error != nil && strings.HasPrefix(*p.Error, "waiting for") && s.onWaiting != nil {
		s.once.Do(s.onWaiting)
	}
	return err
}
