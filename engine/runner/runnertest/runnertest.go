// Package runnertest is the conformance suite every runner.Runner passes:
// the local runner and each cluster-scheduler runner call RunConformance
// from their tests, with a factory for specs their runner can execute.
package runnertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// Timeout bounds every wait for an Update.
const Timeout = 60 * time.Second

// Job is what a test needs run. The caller's factory turns it into a Spec
// for its runner: typically the fake solver with FAKE_SOLVER_EXIT and
// FAKE_SOLVER_SLEEP set from ExitCode and Duration.
type Job struct {
	JobID    string
	Attempt  int
	ExitCode int           // the job must exit with this code
	Duration time.Duration // how long it runs before exiting; long jobs get cancelled
}

// Long is the Duration of jobs the suite means to cancel: long enough never
// to end on their own during a test.
const Long = 5 * time.Minute

// RunConformance runs the shared runner tests as subtests of t. newRunner
// returns a fresh runner; the suite closes it. Two runners from newRunner
// must be able to see the same jobs, as a server restarted on the same host
// (or against the same scheduler) would.
func RunConformance(t *testing.T, newRunner func(t *testing.T) runner.Runner, newSpec func(t *testing.T, job Job) runner.Spec, opts ...Option) {
	s := suite{newRunner: newRunner, newSpec: newSpec}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		test func(*testing.T)
	}{
		{"Name", s.testName},
		{"Completed", s.testCompleted},
		{"FailedExitCode", s.testFailedExitCode},
		{"Concurrent", s.testConcurrent},
		{"Cancel", s.testCancel},
		{"CancelUnknown", s.testCancelUnknown},
		{"AdoptRunning", s.testAdoptRunning},
		{"AdoptFinished", s.testAdoptFinished},
		{"Close", s.testClose},
		{"LogFolderCreated", s.testLogFolderCreated},
	}
	if o.expect != nil {
		e := *o.expect
		tests = append(tests, []struct {
			name string
			test func(*testing.T)
		}{
			{"UnknownQueueIsAClearError", func(t *testing.T) { s.testUnknownQueue(t, e) }},
			{"Partitions", func(t *testing.T) { s.testPartitions(t, e) }},
		}...)
	}
	if o.scheduler {
		tests = append(tests, []struct {
			name string
			test func(*testing.T)
		}{
			{"RunningThenCompleted", s.testRunningThenCompleted},
			{"ResumeAfterRestart", s.testResumeAfterRestart},
			{"FindsEarlierSubmission", s.testFindsEarlierSubmission},
		}...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t)
		})
	}
}

// Option adds to what RunConformance checks.
type Option func(*options)

type options struct {
	scheduler bool
	expect    *Expect
}

// Expect is what a scheduler backend's fake cluster answers (testdata/
// fakesched prints the real tools' output), checked by Expectations.
type Expect struct {
	// UnknownQueue is (part of) the error Start gives for a job sent to
	// the queue "nosuch": the scheduler's own words, which a user needs.
	UnknownQueue string
	// Partitions are the queues the cluster lists, in its order; a zero
	// count is not checked.
	Partitions []runner.Partition
}

// Expectations adds the tests of what a scheduler backend says of its
// cluster: a clear error for an unknown queue, and its partitions (the
// runner must be a runner.PartitionLister).
func Expectations(e Expect) Option { return func(o *options) { o.expect = &e } }

// Scheduler adds the tests only a cluster-scheduler runner passes: it
// reports "running" before the end; a job that runs on while the server
// restarts is tracked by the next runner to its real exit code; and a
// Start repeated after a crash (same job id and attempt) finds the job
// submitted the first time instead of submitting it again.
func Scheduler() Option { return func(o *options) { o.scheduler = true } }

type suite struct {
	newRunner func(t *testing.T) runner.Runner
	newSpec   func(t *testing.T, job Job) runner.Spec
}

// harness is one runner under test and the Updates read from it so far.
type harness struct {
	t         *testing.T
	r         runner.Runner
	closeOnce sync.Once
	seen      map[string][]runner.Update // by job id and attempt
}

func (s *suite) open(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, r: s.newRunner(t), seen: map[string][]runner.Update{}}
	t.Cleanup(func() { h.close() })
	return h
}

// close closes the runner once and records the Updates sent before it did.
func (h *harness) close() {
	h.closeOnce.Do(func() {
		if err := h.r.Close(); err != nil {
			h.t.Errorf("Close: %v", err)
		}
		for u := range h.r.Updates() {
			h.seen[ref(u.JobID, u.Attempt)] = append(h.seen[ref(u.JobID, u.Attempt)], u)
		}
	})
}

func ref(id string, attempt int) string { return fmt.Sprintf("%s#%d", id, attempt) }

// jobID turns the test's name into a job id a scheduler accepts.
func jobID(t *testing.T, suffix string) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("CONF_%s_%s", name, suffix)
}

func (h *harness) start(s *suite, job Job) runner.Ref {
	h.t.Helper()
	spec := s.newSpec(h.t, job)
	handle, err := h.r.Start(context.Background(), spec)
	if err != nil {
		h.t.Fatalf("Start(%s): %v", job.JobID, err)
	}
	return runner.Ref{JobID: spec.JobID, Attempt: spec.Attempt, Handle: handle}
}

// terminal waits for the terminal Update of a job and checks that nothing
// else arrived for it before: at most non-terminal states, in order.
func (h *harness) terminal(rf runner.Ref) runner.Update {
	h.t.Helper()
	k := ref(rf.JobID, rf.Attempt)
	timeout := time.NewTimer(Timeout)
	defer timeout.Stop()
	for {
		for _, u := range h.seen[k] {
			if u.State.Terminal() {
				return u
			}
		}
		select {
		case u, ok := <-h.r.Updates():
			if !ok {
				h.t.Fatalf("Updates closed before %s ended", k)
			}
			if u.Time.IsZero() {
				h.t.Errorf("update %+v has no time", u)
			}
			uk := ref(u.JobID, u.Attempt)
			for _, prev := range h.seen[uk] {
				if prev.State.Terminal() {
					h.t.Errorf("update %+v after terminal %+v", u, prev)
				}
			}
			h.seen[uk] = append(h.seen[uk], u)
		case <-timeout.C:
			h.t.Fatalf("no terminal update for %s within %v; seen %+v", k, Timeout, h.seen[k])
		}
	}
}

// onlyOneTerminal closes the runner and checks that the job had exactly one
// terminal Update.
func (h *harness) onlyOneTerminal(rf runner.Ref) {
	h.t.Helper()
	h.close()
	n := 0
	for _, u := range h.seen[ref(rf.JobID, rf.Attempt)] {
		if u.State.Terminal() {
			n++
		}
	}
	if n != 1 {
		h.t.Errorf("%s: %d terminal updates, want 1: %+v", rf.JobID, n, h.seen[ref(rf.JobID, rf.Attempt)])
	}
}

func checkExit(t *testing.T, u runner.Update, state runner.State, code int) {
	t.Helper()
	if u.State != state {
		t.Errorf("state = %s (%q), want %s", u.State, u.Message, state)
	}
	if u.ExitCode == nil {
		t.Errorf("ExitCode = nil, want %d", code)
	} else if *u.ExitCode != code {
		t.Errorf("ExitCode = %d, want %d", *u.ExitCode, code)
	}
}

func (s *suite) testName(t *testing.T) {
	h := s.open(t)
	if h.r.Name() == "" {
		t.Error("Name() is empty")
	}
}

func (s *suite) testCompleted(t *testing.T) {
	h := s.open(t)
	rf := h.start(s, Job{JobID: jobID(t, "ok"), Attempt: 1})
	u := h.terminal(rf)
	checkExit(t, u, runner.StateCompleted, 0)
	h.onlyOneTerminal(rf)
}

func (s *suite) testFailedExitCode(t *testing.T) {
	h := s.open(t)
	rf := h.start(s, Job{JobID: jobID(t, "three"), Attempt: 2, ExitCode: 3})
	u := h.terminal(rf)
	checkExit(t, u, runner.StateFailed, 3)
	if u.Message == "" {
		t.Error("failed update without a message")
	}
	h.onlyOneTerminal(rf)
}

func (s *suite) testConcurrent(t *testing.T) {
	h := s.open(t)
	codes := []int{0, 1, 2, 7}
	refs := make([]runner.Ref, len(codes))
	for i, code := range codes {
		refs[i] = h.start(s, Job{JobID: jobID(t, fmt.Sprint(i)), Attempt: 1, ExitCode: code, Duration: 100 * time.Millisecond})
	}
	for i, rf := range refs {
		want := runner.StateFailed
		if codes[i] == 0 {
			want = runner.StateCompleted
		}
		checkExit(t, h.terminal(rf), want, codes[i])
	}
	for _, rf := range refs {
		h.onlyOneTerminal(rf)
	}
}

func (s *suite) testCancel(t *testing.T) {
	h := s.open(t)
	rf := h.start(s, Job{JobID: jobID(t, "long"), Attempt: 1, Duration: Long})
	ctx := context.Background()
	if err := h.r.Cancel(ctx, rf); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := h.r.Cancel(ctx, rf); err != nil {
		t.Errorf("second Cancel: %v, want nil", err)
	}
	if u := h.terminal(rf); u.State != runner.StateCancelled {
		t.Errorf("state = %s (%q), want cancelled", u.State, u.Message)
	}
	// Once the end is reported the job may be forgotten.
	if err := h.r.Cancel(ctx, rf); err != nil && !errors.Is(err, runner.ErrUnknownJob) {
		t.Errorf("Cancel after the end: %v, want nil or ErrUnknownJob", err)
	}
	h.onlyOneTerminal(rf)
}

func (s *suite) testCancelUnknown(t *testing.T) {
	h := s.open(t)
	err := h.r.Cancel(context.Background(), runner.Ref{JobID: jobID(t, "never"), Attempt: 1})
	if !errors.Is(err, runner.ErrUnknownJob) {
		t.Errorf("Cancel(unknown) = %v, want ErrUnknownJob", err)
	}
}

// testAdoptRunning is a server restart: the first runner closes (the job
// keeps running), a second adopts the job and can cancel it.
func (s *suite) testAdoptRunning(t *testing.T) {
	first := s.open(t)
	rf := first.start(s, Job{JobID: jobID(t, "survivor"), Attempt: 1, Duration: Long})
	first.close()
	for _, u := range first.seen[ref(rf.JobID, rf.Attempt)] {
		if u.State.Terminal() {
			t.Fatalf("job ended when its runner closed: %+v", u)
		}
	}

	second := s.open(t)
	ctx := context.Background()
	if err := second.r.Adopt(ctx, rf); err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	if err := second.r.Cancel(ctx, rf); err != nil {
		t.Fatalf("Cancel of the adopted job: %v", err)
	}
	if u := second.terminal(rf); u.State != runner.StateCancelled {
		t.Errorf("state = %s (%q), want cancelled", u.State, u.Message)
	}
	second.onlyOneTerminal(rf)
}

// testAdoptFinished adopts a job that ended while no runner watched it: its
// end must be reported (how much is known of it depends on the runner).
func (s *suite) testAdoptFinished(t *testing.T) {
	first := s.open(t)
	rf := first.start(s, Job{JobID: jobID(t, "gone"), Attempt: 1})
	first.terminal(rf)
	first.close()

	second := s.open(t)
	if err := second.r.Adopt(context.Background(), rf); err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	second.terminal(rf)
	second.onlyOneTerminal(rf)
}

// testLogFolderCreated: the runner creates the folder of the job's log
// files (the engine leaves it to the runner), and the output lands there.
func (s *suite) testLogFolderCreated(t *testing.T) {
	h := s.open(t)
	spec := s.newSpec(t, Job{JobID: jobID(t, "logs"), Attempt: 1})
	dir := filepath.Join(t.TempDir(), "jobs", spec.JobID, "1")
	spec.Stdout, spec.Stderr = filepath.Join(dir, "stdout.log"), filepath.Join(dir, "stderr.log")
	handle, err := h.r.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start with a log folder that does not exist yet: %v", err)
	}
	rf := runner.Ref{JobID: spec.JobID, Attempt: spec.Attempt, Handle: handle}
	checkExit(t, h.terminal(rf), runner.StateCompleted, 0)
	if fi, err := os.Stat(spec.Stdout); err != nil || fi.Size() == 0 {
		t.Errorf("stdout log: %v (size %v), want the job's output", err, fi)
	}
	h.onlyOneTerminal(rf)
}

func (s *suite) testClose(t *testing.T) {
	h := s.open(t)
	h.close()
	if _, ok := <-h.r.Updates(); ok {
		t.Error("Updates still open after Close")
	}
	if _, err := h.r.Start(context.Background(), s.newSpec(t, Job{JobID: jobID(t, "late"), Attempt: 1})); err == nil {
		t.Error("Start after Close succeeded")
	}
}

// until reads Updates until job rf reaches state, failing if it ends in
// another state first.
func (h *harness) until(rf runner.Ref, state runner.State) runner.Update {
	h.t.Helper()
	k := ref(rf.JobID, rf.Attempt)
	timeout := time.NewTimer(Timeout)
	defer timeout.Stop()
	for {
		for _, u := range h.seen[k] {
			if u.State == state {
				return u
			}
			if u.State.Terminal() {
				h.t.Fatalf("%s ended (%s: %q) before reaching %s", k, u.State, u.Message, state)
			}
		}
		select {
		case u, ok := <-h.r.Updates():
			if !ok {
				h.t.Fatalf("Updates closed before %s reached %s", k, state)
			}
			uk := ref(u.JobID, u.Attempt)
			h.seen[uk] = append(h.seen[uk], u)
		case <-timeout.C:
			h.t.Fatalf("%s did not reach %s within %v; seen %+v", k, state, Timeout, h.seen[k])
		}
	}
}

func (s *suite) testRunningThenCompleted(t *testing.T) {
	h := s.open(t)
	rf := h.start(s, Job{JobID: jobID(t, "run"), Attempt: 1, Duration: 2 * time.Second})
	running := h.until(rf, runner.StateRunning)
	u := h.terminal(rf)
	checkExit(t, u, runner.StateCompleted, 0)
	if u.Time.Before(running.Time) {
		t.Errorf("ended at %v, before it started at %v", u.Time, running.Time)
	}
	h.onlyOneTerminal(rf)
}

// testResumeAfterRestart: the runner closes while the job runs (a server
// restart); the next one adopts it and reports its real exit code.
func (s *suite) testResumeAfterRestart(t *testing.T) {
	first := s.open(t)
	rf := first.start(s, Job{JobID: jobID(t, "resumed"), Attempt: 1, ExitCode: 4, Duration: 3 * time.Second})
	first.until(rf, runner.StateRunning)
	first.close()

	second := s.open(t)
	if err := second.r.Adopt(context.Background(), rf); err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	u := second.terminal(rf)
	checkExit(t, u, runner.StateFailed, 4)
	second.onlyOneTerminal(rf)
}

// testFindsEarlierSubmission: a crash after the scheduler accepted a job
// but before the server recorded it; the restarted server's Start of the
// same attempt must return that job, not submit a second one.
func (s *suite) testFindsEarlierSubmission(t *testing.T) {
	first := s.open(t)
	job := Job{JobID: jobID(t, "once"), Attempt: 3, Duration: Long}
	rf := first.start(s, job)
	first.close()

	second := s.open(t)
	again := second.start(s, job)
	if again.Handle.ExternalID != rf.Handle.ExternalID {
		t.Errorf("second Start submitted job %q; want the first submission %q found by name", again.Handle.ExternalID, rf.Handle.ExternalID)
	}
	if err := second.r.Cancel(context.Background(), again); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if u := second.terminal(again); u.State != runner.StateCancelled {
		t.Errorf("state = %s (%q), want cancelled", u.State, u.Message)
	}
	second.onlyOneTerminal(again)
}

func (s *suite) testUnknownQueue(t *testing.T, e Expect) {
	h := s.open(t)
	defer h.close()
	spec := s.newSpec(t, Job{JobID: jobID(t, "q"), Attempt: 1})
	spec.Resources.Queue = "nosuch"
	_, err := h.r.Start(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), e.UnknownQueue) {
		t.Errorf("Start into a missing queue: %v, want an error with %q", err, e.UnknownQueue)
	}
}

func (s *suite) testPartitions(t *testing.T, e Expect) {
	h := s.open(t)
	defer h.close()
	pl, ok := h.r.(runner.PartitionLister)
	if !ok {
		t.Fatalf("%T lists no partitions", h.r)
	}
	parts, err := pl.Partitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != len(e.Partitions) {
		t.Fatalf("partitions = %+v, want %d", parts, len(e.Partitions))
	}
	for i, want := range e.Partitions {
		got := parts[i]
		if got.Name != want.Name ||
			(want.NodesTotal != 0 && got.NodesTotal != want.NodesTotal) ||
			(want.CoresTotal != 0 && got.CoresTotal != want.CoresTotal) {
			t.Errorf("partition %d = %+v, want %+v (zero counts unchecked)", i, got, want)
		}
	}
}
