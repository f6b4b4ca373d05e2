// Package local runs jobs as processes on this host.
//
// Each job is started from its argv (never through a shell) in a process
// group of its own (a Job Object on Windows), so that cancelling it reaches
// every process the solver spawned, and a terminal signal aimed at the server
// does not reach the jobs. Output goes straight to the job's log files, not
// through pipes held by the server, so a job outlives a server crash and can be
// adopted by the next server process.
//
// The runner sends exactly one Update per job: the terminal one. It sends no
// "running" Update: Start returning without an error means the process runs.
// The terminal Update is:
//
//   - completed, ExitCode 0;
//   - failed, ExitCode n, Message "exit code n";
//   - failed, ExitCode nil, Message "killed by signal SIGKILL" when a signal
//     the runner did not send ended it (nil rather than the shell's 128+n,
//     which a real exit(137) would be confused with);
//   - cancelled after Cancel, failed with "wall-time limit 1h0m0s exceeded"
//     after Spec.WallTime; either notes "(killed after the 10s grace period)"
//     when SIGTERM was not enough, and keeps the exit code when there was one.
//     These arrive once the whole process group is gone, not just its leader.
//   - for adopted jobs, see Adopt.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

var _ runner.Runner = (*Runner)(nil)

// Defaults for Options left zero.
const (
	DefaultKillGrace    = 10 * time.Second
	DefaultPollInterval = time.Second
)

// Messages of terminal Updates that callers may want to recognise.
const (
	MsgProcessLost = "process lost: not running after server restart"
	MsgAdoptedExit = "process ended while not a child of this server (adopted after a restart): its exit code could not be collected"
)

// errClosed is returned by calls made after Close.
var errClosed = errors.New("local: runner closed")

// Options configure a Runner.
type Options struct {
	// KillGrace is how long a job has between SIGTERM and SIGKILL when it is
	// cancelled or exceeds its wall time. Default 10s.
	KillGrace time.Duration
	// PollInterval is how often an adopted process, which is not our child
	// and so cannot be waited for, is checked for life. Default 1s.
	PollInterval time.Duration
	Logger       *slog.Logger
	// Clock stamps Updates; default time.Now.
	Clock func() time.Time
	// ExitRecords is the folder where a reaper records how orphaned job
	// processes ended (see WriteExitRecord). With it, an adopted job ends
	// with its real exit code; without it, as failed with MsgAdoptedExit.
	ExitRecords string
}

// Runner runs jobs as local processes. Its zero value is not usable; call New.
type Runner struct {
	grace time.Duration
	poll  time.Duration
	log   *slog.Logger
	now   func() time.Time
	exits string // Options.ExitRecords

	updates chan runner.Update
	done    chan struct{} // closed by Close: watchers stop, senders give up

	mu       sync.Mutex
	closed   bool
	jobs     map[key]*job
	starting map[key]struct{} // Start calls in progress
	senders  sync.WaitGroup   // goroutines that may still send on updates
}

type key struct {
	id      string
	attempt int
}

// New returns a Runner ready to start jobs.
func New(opts Options) *Runner {
	r := &Runner{
		grace:    cmpOr(opts.KillGrace, DefaultKillGrace),
		poll:     cmpOr(opts.PollInterval, DefaultPollInterval),
		exits:    opts.ExitRecords,
		log:      opts.Logger,
		now:      opts.Clock,
		updates:  make(chan runner.Update, 64),
		done:     make(chan struct{}),
		jobs:     make(map[key]*job),
		starting: make(map[key]struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Name returns "none", the scheduler type of local execution.
func (r *Runner) Name() string { return "none" }

// Updates delivers the terminal state of every job; it is closed by Close.
func (r *Runner) Updates() <-chan runner.Update { return r.updates }

// Start launches spec and returns once the process runs. A missing or
// non-executable argv[0], or unusable log files, fail Start itself.
// ctx bounds only the start, not the job.
func (r *Runner) Start(ctx context.Context, spec runner.Spec) (runner.Handle, error) {
	if err := ctx.Err(); err != nil {
		return runner.Handle{}, err
	}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return runner.Handle{}, fmt.Errorf("local: job %s: empty command", spec.JobID)
	}
	k := key{spec.JobID, spec.Attempt}
	if err := r.reserve(k); err != nil {
		return runner.Handle{}, err
	}
	defer r.unreserve(k)

	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Env = append(cmd.Env, runner.EnvJobID+"="+spec.JobID, fmt.Sprintf("%s=%d", runner.EnvAttempt, spec.Attempt))
	stdout, stderr, err := openLogs(spec.Stdout, spec.Stderr)
	if err != nil {
		return runner.Handle{}, fmt.Errorf("local: job %s: %w", spec.JobID, err)
	}
	// The child holds its own copies of the descriptors; ours are not needed
	// once it has started (or failed to).
	defer closeAll(stdout, stderr)
	cmd.Stdout, cmd.Stderr = stdout, stderr // *os.File (or nil = /dev/null): no copying goroutines
	prepare(cmd)

	if err := cmd.Start(); err != nil {
		return runner.Handle{}, fmt.Errorf("local: job %s: start %q: %w", spec.JobID, spec.Argv[0], err)
	}
	g, err := attach(cmd)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return runner.Handle{}, fmt.Errorf("local: job %s: %w", spec.JobID, err)
	}
	h := runner.Handle{PID: cmd.Process.Pid, PIDStart: startTime(cmd.Process.Pid)}
	j := newJob(k, g)

	r.mu.Lock()
	r.jobs[k] = j
	if spec.WallTime > 0 && !r.closed { // Close stops the timers of the jobs it knows
		j.timer = time.AfterFunc(spec.WallTime, func() { r.stop(j, reasonWallTime, spec.WallTime) })
	}
	r.mu.Unlock()
	r.log.Info("job started", "job_id", spec.JobID, "attempt", spec.Attempt, "pid", h.PID, "argv0", spec.Argv[0])
	go r.wait(j, cmd)
	return h, nil
}

// reserve claims k for a Start in progress, so that the same attempt is
// never started twice, even by concurrent calls.
func (r *Runner) reserve(k key) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch _, starting := r.starting[k]; {
	case r.closed:
		return errClosed
	case starting || r.jobs[k] != nil:
		return fmt.Errorf("local: job %s attempt %d is already running", k.id, k.attempt)
	}
	r.starting[k] = struct{}{}
	return nil
}

func (r *Runner) unreserve(k key) {
	r.mu.Lock()
	delete(r.starting, k)
	r.mu.Unlock()
}

// openLogs opens (appending) the files receiving stdout and stderr. The same
// path for both gives one shared descriptor so lines interleave sanely.
func openLogs(stdoutPath, stderrPath string) (stdout, stderr *os.File, err error) {
	made := map[string]bool{}
	if stdout, err = openLog(stdoutPath, made); err != nil {
		return nil, nil, err
	}
	if stderrPath == stdoutPath {
		return stdout, stdout, nil
	}
	if stderr, err = openLog(stderrPath, made); err != nil {
		closeAll(stdout)
		return nil, nil, err
	}
	return stdout, stderr, nil
}

// openLog creates (appending) the file at path, and its folder unless made
// says it was created already.
func openLog(path string, made map[string]bool) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	if dir := filepath.Dir(path); !made[dir] {
		if err := makeDir(dir); err != nil {
			return nil, fmt.Errorf("log directory: %w", err)
		}
		made[dir] = true
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// makeDir creates dir and its parent as MkdirAll would, in the fewest
// system calls for the usual case of a job's log folder (data/jobs/ID/N,
// where data/jobs exists): file-system calls are what a job's start costs
// most, after the fork.
func makeDir(dir string) error {
	err := os.Mkdir(filepath.Dir(dir), 0o755)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close() // a second Close of a shared file returns an error we do not need
		}
	}
}

// Cancel sends SIGTERM to the job's process group and SIGKILL after the grace
// period if anything of it is still alive. It returns at once; the job's end
// arrives on Updates as cancelled. Cancelling twice is harmless.
func (r *Runner) Cancel(ctx context.Context, ref runner.Ref) error {
	r.mu.Lock()
	closed, j := r.closed, r.jobs[key{ref.JobID, ref.Attempt}]
	r.mu.Unlock()
	switch {
	case closed:
		return errClosed
	case j == nil:
		return fmt.Errorf("local: job %s attempt %d: %w", ref.JobID, ref.Attempt, runner.ErrUnknownJob)
	}
	r.stop(j, reasonCancel, 0)
	return nil
}

// Adopt resumes watching a job started by an earlier server process. When
// its process is gone already, or the pid now belongs to another process
// (its start time differs), a failed Update with MsgProcessLost follows at
// once. Otherwise the process is watched until it ends, and then reported as
// failed with MsgAdoptedExit: a process that is not our child cannot be
// waited for, so its exit code is lost on Unix. Cancel works on adopted jobs.
// The wall-time limit is not enforced for adopted jobs (the Ref does not
// carry it); the caller can Cancel them when it passes.
func (r *Runner) Adopt(ctx context.Context, ref runner.Ref) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := key{ref.JobID, ref.Attempt}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	if r.jobs[k] != nil {
		return nil // already tracked: adopting twice is harmless
	}
	if ref.Handle.PID == 0 {
		// The server died between starting the process and recording its
		// pid: find it by the job's name in its environment.
		if pid, start, ok := findJobProcess(ref.JobID, ref.Attempt); ok {
			ref.Handle.PID, ref.Handle.PIDStart = pid, start
		}
	}
	g, err := adopt(ref.Handle)
	if err != nil {
		u := runner.Update{JobID: ref.JobID, Attempt: ref.Attempt, State: runner.StateFailed, Message: MsgProcessLost, Time: r.now()}
		if !r.recordedExit(&u, ref.Handle.PID, ref.Handle.PIDStart) {
			r.log.Warn("adopted job lost", "job_id", ref.JobID, "attempt", ref.Attempt, "pid", ref.Handle.PID, "err", err)
		}
		r.senders.Add(1)
		go func() {
			defer r.senders.Done()
			r.send(u)
		}()
		return nil
	}
	j := newJob(k, g)
	j.start = ref.Handle.PIDStart
	r.jobs[k] = j
	r.log.Info("job adopted", "job_id", ref.JobID, "attempt", ref.Attempt, "pid", ref.Handle.PID)
	go r.watch(j)
	return nil
}

// Close stops watching jobs and closes Updates once no goroutine can send on
// it any more. Running jobs keep running; a later runner can Adopt them.
// Kill sequences already begun by Cancel run to their end.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	for _, j := range r.jobs {
		if j.timer != nil {
			j.timer.Stop()
		}
	}
	r.mu.Unlock()
	r.senders.Wait()
	close(r.updates)
	return nil
}

// send delivers u unless the runner is closed before anyone takes it.
// The caller holds a count in r.senders.
func (r *Runner) send(u runner.Update) {
	select {
	case r.updates <- u:
	case <-r.done:
		r.log.Warn("update dropped: runner closed", "job_id", u.JobID, "attempt", u.Attempt, "state", u.State)
	}
}

// recordedExit fills u from the reaper's record of how process pid ended,
// reporting whether there was one.
func (r *Runner) recordedExit(u *runner.Update, pid int, start uint64) bool {
	rec, ok, err := readExitRecord(r.exits, pid, start)
	if err != nil {
		r.log.Warn("exit record", "job_id", u.JobID, "pid", pid, "err", err)
	}
	if !ok {
		return false
	}
	switch {
	case rec.Signal != 0:
		u.State, u.ExitCode, u.Message = runner.StateFailed, nil, "killed by signal "+signalName(rec.Signal)
	case rec.Code == 0:
		code := 0
		u.State, u.ExitCode, u.Message = runner.StateCompleted, &code, ""
	default:
		code := rec.Code
		u.State, u.ExitCode, u.Message = runner.StateFailed, &code, fmt.Sprintf("exit code %d", code)
	}
	return true
}
