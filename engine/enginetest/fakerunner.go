package enginetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// The environment a Spec may carry to have a FakeRunner end the job on its
// own, as the fake solver's variables do for a real process: EnvRun is how
// long it runs (a time.Duration, "2s"), EnvExit its exit code (default 0).
// Without EnvRun a job runs until it is cancelled or the test Sends its end.
const (
	EnvRun  = "FAKE_RUNNER_RUN"
	EnvExit = "FAKE_RUNNER_EXIT"
)

// ErrClosed: Start on a FakeRunner that was closed.
var ErrClosed = errors.New("fake runner: closed")

// FakeRunner is a runner.Runner whose jobs run nowhere: a test decides
// what Start does (fail with StartErr, wait on a StartBlock channel), when
// a job changes state (Send), and can hit the engine's races on demand
// that real processes hit only by chance. Like Nomad's mock driver it is
// meant for engine tests; runnertest.RunConformance keeps it honest, so
// the engine sees what it would see from a real runner.
//
// Its jobs live in a world that outlives the runner, as processes outlive
// a server: Reopen returns a runner of a restarted server, which Adopts
// them. All methods are safe for concurrent use.
type FakeRunner struct {
	w *fakeWorld

	// Guarded by w.mu.
	closed     bool
	startErr   error
	startBlock <-chan struct{}
	adoptErr   error
	scheduler  bool
	onStart    func(runner.Spec, runner.Handle)
	starts     []runner.Spec
	cancels    []runner.Ref
	queue      []runner.Update
	wake       chan struct{} // the pump has something to send, or should close
	out        chan runner.Update
}

var _ runner.Runner = (*FakeRunner)(nil)

type fakeWorld struct {
	mu   sync.Mutex
	jobs map[string]*fakeJob // by fakeKey
	next int                 // the last external id given
}

type fakeJob struct {
	handle  runner.Handle
	end     *runner.Update // set once it ended
	timer   *time.Timer    // ends it after EnvRun
	watcher *FakeRunner    // the runner tracking it; nil while none does
}

func fakeKey(id string, attempt int) string { return fmt.Sprintf("%s#%d", id, attempt) }

// NewFakeRunner returns a runner with no jobs.
func NewFakeRunner() *FakeRunner {
	return newFakeRunner(&fakeWorld{jobs: map[string]*fakeJob{}})
}

func newFakeRunner(w *fakeWorld) *FakeRunner {
	r := &FakeRunner{w: w, wake: make(chan struct{}, 1), out: make(chan runner.Update)}
	go r.pump()
	return r
}

// Reopen returns a new runner on the same jobs, as the runner of a server
// restarted on the same host: what r started and did not see end can be
// Adopted. Close r first, as a server stops before it restarts.
func (r *FakeRunner) Reopen() *FakeRunner { return newFakeRunner(r.w) }

// Name implements runner.Runner.
func (r *FakeRunner) Name() string { return "fake" }

// SetStartErr makes every later Start fail with err (nil: start again).
// runner.ErrUnavailable makes a cluster submission wait and retry.
func (r *FakeRunner) SetStartErr(err error) {
	r.w.mu.Lock()
	r.startErr = err
	r.w.mu.Unlock()
}

// SetStartBlock makes every later Start wait until block is closed (or its
// context ends) before it does anything else; nil: no waiting. The Start
// is recorded (Starts) before it waits, so a test knows it is there.
func (r *FakeRunner) SetStartBlock(block <-chan struct{}) {
	r.w.mu.Lock()
	r.startBlock = block
	r.w.mu.Unlock()
}

// SetOnStart calls f with each job Start has just started, before Start
// returns: for updates that arrive before the caller knows of the start.
func (r *FakeRunner) SetOnStart(f func(runner.Spec, runner.Handle)) {
	r.w.mu.Lock()
	r.onStart = f
	r.w.mu.Unlock()
}

// SetScheduler makes Start report each job it starts as running (an
// Update), as a cluster scheduler's runner does once the job leaves the
// scheduler's queue; a local runner reports only the end.
func (r *FakeRunner) SetScheduler(on bool) {
	r.w.mu.Lock()
	r.scheduler = on
	r.w.mu.Unlock()
}

// SetAdoptErr makes every later Adopt fail with err (nil: adopt again).
func (r *FakeRunner) SetAdoptErr(err error) {
	r.w.mu.Lock()
	r.adoptErr = err
	r.w.mu.Unlock()
}

// Starts returns the specs Start was called with, in order, including the
// ones that failed or still wait.
func (r *FakeRunner) Starts() []runner.Spec {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return append([]runner.Spec(nil), r.starts...)
}

// Cancels returns the refs Cancel was called with, in order.
func (r *FakeRunner) Cancels() []runner.Ref {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return append([]runner.Ref(nil), r.cancels...)
}

// Running reports whether the job's attempt was started and has not ended.
func (r *FakeRunner) Running(id string, attempt int) bool {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	j := r.w.jobs[fakeKey(id, attempt)]
	return j != nil && j.end == nil
}

// Start implements runner.Runner. It starts a job once per job id and
// attempt: a repeated Start returns the job already started, as a
// scheduler runner finds an earlier submission.
func (r *FakeRunner) Start(ctx context.Context, spec runner.Spec) (runner.Handle, error) {
	r.w.mu.Lock()
	if r.closed {
		r.w.mu.Unlock()
		return runner.Handle{}, ErrClosed
	}
	r.starts = append(r.starts, spec)
	startErr, block, onStart := r.startErr, r.startBlock, r.onStart
	r.w.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return runner.Handle{}, ctx.Err()
		}
	}
	if startErr != nil {
		return runner.Handle{}, startErr
	}
	run, timed, exit, err := script(spec.Env)
	if err != nil {
		return runner.Handle{}, err
	}
	// The runner creates the folder of the job's log files (the engine
	// leaves it to the runner), and what it "runs" says so there.
	for _, p := range []string{spec.Stdout, spec.Stderr} {
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return runner.Handle{}, err
		}
	}
	if spec.Stdout != "" {
		line := fmt.Sprintf("fake runner: job %s attempt %d started\n", spec.JobID, spec.Attempt)
		if err := appendFile(spec.Stdout, line); err != nil {
			return runner.Handle{}, err
		}
	}

	r.w.mu.Lock()
	if r.closed {
		r.w.mu.Unlock()
		return runner.Handle{}, ErrClosed
	}
	k := fakeKey(spec.JobID, spec.Attempt)
	j := r.w.jobs[k]
	if j == nil {
		r.w.next++
		j = &fakeJob{handle: runner.Handle{ExternalID: "fake-" + strconv.Itoa(r.w.next)}}
		r.w.jobs[k] = j
		if timed {
			id, attempt := spec.JobID, spec.Attempt
			j.timer = time.AfterFunc(run, func() { r.w.exit(id, attempt, exit) })
		}
	}
	fresh := j.watcher == nil && j.end == nil
	j.watcher = r
	if fresh && r.scheduler {
		r.enqueueLocked(runner.Update{JobID: spec.JobID, Attempt: spec.Attempt, State: runner.StateRunning, Time: time.Now()})
	}
	h := j.handle
	r.w.mu.Unlock()
	if onStart != nil {
		onStart(spec, h)
	}
	return h, nil
}

// script reads EnvRun and EnvExit from a spec's environment; timed says
// EnvRun was there (a job of "0s" ends at once).
func script(env []string) (run time.Duration, timed bool, exit int, err error) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case EnvRun:
			if run, err = time.ParseDuration(v); err != nil {
				return 0, false, 0, fmt.Errorf("fake runner: %s: %w", EnvRun, err)
			}
			timed = true
		case EnvExit:
			if exit, err = strconv.Atoi(v); err != nil {
				return 0, false, 0, fmt.Errorf("fake runner: %s: %w", EnvExit, err)
			}
		}
	}
	return run, timed, exit, nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}

// exit ends a job that ran its EnvRun.
func (w *fakeWorld) exit(id string, attempt, code int) {
	state, msg := runner.StateCompleted, ""
	if code != 0 {
		state, msg = runner.StateFailed, fmt.Sprintf("exit code %d", code)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLocked(runner.Update{JobID: id, Attempt: attempt, State: state, ExitCode: &code, Message: msg, Time: time.Now()})
}

// endLocked records the end of a job, once, and tells the runner tracking
// it.
func (w *fakeWorld) endLocked(u runner.Update) {
	j := w.jobs[fakeKey(u.JobID, u.Attempt)]
	if j == nil || j.end != nil {
		return
	}
	if j.timer != nil {
		j.timer.Stop()
	}
	j.end = &u
	if j.watcher != nil {
		j.watcher.enqueueLocked(u)
	}
}

// Cancel implements runner.Runner: the job ends cancelled at once.
func (r *FakeRunner) Cancel(ctx context.Context, ref runner.Ref) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	r.cancels = append(r.cancels, ref)
	j := r.w.jobs[fakeKey(ref.JobID, ref.Attempt)]
	if j == nil || j.watcher != r {
		return runner.ErrUnknownJob
	}
	r.w.endLocked(runner.Update{JobID: ref.JobID, Attempt: ref.Attempt, State: runner.StateCancelled, Message: "cancelled", Time: time.Now()})
	return nil
}

// Adopt implements runner.Runner: a job still running is tracked again,
// one that ended meanwhile has its end reported, and one never started
// here is reported failed, as a process found gone is.
func (r *FakeRunner) Adopt(ctx context.Context, ref runner.Ref) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.adoptErr != nil {
		return r.adoptErr
	}
	if r.closed {
		return ErrClosed
	}
	j := r.w.jobs[fakeKey(ref.JobID, ref.Attempt)]
	if j == nil {
		r.enqueueLocked(runner.Update{JobID: ref.JobID, Attempt: ref.Attempt, State: runner.StateFailed,
			Message: "lost: the fake runner never started it", Time: time.Now()})
		return nil
	}
	j.watcher = r
	if j.end != nil {
		r.enqueueLocked(*j.end)
	}
	return nil
}

// Send delivers u on Updates as if the job had changed state; a terminal
// state ends the job (a later end, Cancel or EnvRun changes nothing). It
// is delivered even for a job this runner does not track: that is what a
// test of an early or stray update needs. A zero Time is stamped now.
// After Close it is dropped.
func (r *FakeRunner) Send(u runner.Update) {
	if u.Time.IsZero() {
		u.Time = time.Now()
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if j := r.w.jobs[fakeKey(u.JobID, u.Attempt)]; j != nil && u.State.Terminal() {
		if j.end != nil {
			return
		}
		if j.timer != nil {
			j.timer.Stop()
		}
		j.end = &u
	}
	r.enqueueLocked(u)
}

// Delivered reports whether every update sent so far was read from
// Updates.
func (r *FakeRunner) Delivered() bool {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return len(r.queue) == 0
}

func (r *FakeRunner) enqueueLocked(u runner.Update) {
	if r.closed {
		return
	}
	r.queue = append(r.queue, u)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// pump hands queued updates to Updates in order, so that no update is
// lost and none waits for a reader while the lock is held. After Close it
// delivers what was queued, then closes Updates.
func (r *FakeRunner) pump() {
	for {
		r.w.mu.Lock()
		if len(r.queue) == 0 {
			closed := r.closed
			r.w.mu.Unlock()
			if closed {
				close(r.out)
				return
			}
			<-r.wake
			continue
		}
		u := r.queue[0]
		r.w.mu.Unlock()
		r.out <- u
		r.w.mu.Lock()
		r.queue = r.queue[1:]
		r.w.mu.Unlock()
	}
}

// Updates implements runner.Runner.
func (r *FakeRunner) Updates() <-chan runner.Update { return r.out }

// Close implements runner.Runner: it stops tracking (the jobs run on, to
// be adopted by Reopen's runner) and closes Updates once what was queued
// is delivered.
func (r *FakeRunner) Close() error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for _, j := range r.w.jobs {
		if j.watcher == r {
			j.watcher = nil
		}
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}
