// Package cluster is what the scheduler runners (slurm, lsf, pbs, winhpc)
// share: a Runner that submits through a Backend, finds earlier submissions
// by name, and tracks every job with one listing call per poll cycle.
//
// A Backend speaks one scheduler's command-line tools. The Runner does the
// rest, the same way for all of them:
//
//   - Start first asks the scheduler for a job named JobName(id, attempt): a
//     crash may have interrupted an earlier Start after the scheduler
//     accepted the job. Only when there is none does it submit. When a
//     submission's outcome is unknown (the command timed out, failed, or
//     printed something unreadable) it asks again before reporting failure.
//   - One goroutine polls: one Backend.List call per cycle for all tracked
//     jobs, whatever their number. The interval adapts: PollMin right after
//     a change (a new job, a state change, a cancel), then doubling up to
//     PollMax while nothing changes.
//   - A job that the listing shows ended, or no longer shows at all, is
//     looked up in the scheduler's accounting (Backend.Final, one call per
//     cycle for all such jobs) for its final state and exit code. It is
//     never assumed completed for having left the queue: a job neither the
//     listing nor the accounting knows for LostAfter ends as failed, with
//     that reason.
//   - Updates per job: "running" once the scheduler runs it (also sent
//     before the end when accounting says it started but no listing saw
//     it run), then exactly one terminal update. A job whose Cancel was
//     asked and that then ends other than completed is reported cancelled.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// Defaults for Options left zero.
const (
	DefaultPollMin   = time.Second
	DefaultPollMax   = 10 * time.Second
	DefaultLostAfter = 5 * time.Minute
)

// errClosed is returned by calls made after Close.
var errClosed = errors.New("runner closed")

// Status is what a scheduler's job listing says of one job.
type Status struct {
	// State is scheduled or running, or a terminal state when the listing
	// shows the job ended.
	State runner.State
	// Detail is the scheduler's own word for the state ("PENDING", "RUN",
	// "Q"), for messages.
	Detail string
	// Time is when the job entered State, when the scheduler says.
	Time time.Time
	// End is set when the listing also carries the job's accounting (LSF's
	// bjobs -a): no separate Final call is needed.
	End *End
}

// End is how a job ended, from the scheduler's accounting.
type End struct {
	State    runner.State // completed, failed or cancelled
	ExitCode *int         // nil when there is none (killed by a signal, never ran)
	Message  string       // why it failed, in the scheduler's words
	Start    time.Time    // when it started, if it did and the scheduler says
	Time     time.Time    // when it ended, if the scheduler says
}

// Backend is one scheduler's command-line tools.
type Backend interface {
	// Name is the scheduler type: "slurm", "lsf", "pbs", "windows_hpc".
	Name() string
	// MaxNameLen is the longest job name the scheduler keeps whole (0: no
	// limit worth caring about).
	MaxNameLen() int
	// Submit submits spec as a job named name and returns its id. Errors
	// wrapping ErrInvalid mean nothing reached the scheduler.
	Submit(ctx context.Context, spec runner.Spec, name string) (string, error)
	// Find returns the id of the newest job named name, in any state the
	// scheduler still knows.
	Find(ctx context.Context, name string) (id string, found bool, err error)
	// List describes the tracked jobs (ids) with ONE command. Jobs it does
	// not mention are not in the listing.
	List(ctx context.Context, ids []string) (map[string]Status, error)
	// Final returns the end of jobs that left the listing or show as ended
	// in it, from the scheduler's accounting, with as few commands as the
	// scheduler allows. Jobs the accounting does not know (yet) are left
	// out. A partial result may come with an error.
	Final(ctx context.Context, ids []string) (map[string]End, error)
	// Cancel asks the scheduler to end a job. A job that already ended is
	// not an error.
	Cancel(ctx context.Context, id string) error
	// Partitions describes the cluster's partitions or queues.
	Partitions(ctx context.Context) ([]runner.Partition, error)
}

// Options configure a Runner.
type Options struct {
	// PollMin is the poll interval right after a change; PollMax the
	// longest interval while nothing changes. Defaults 1s and 10s.
	PollMin, PollMax time.Duration
	// LostAfter is how long a job may be missing from both the listing
	// and the accounting before it is reported failed as lost. Default 5m.
	LostAfter time.Duration
	// Instance goes into every job name (see JobName): a short token
	// that stays the same across restarts of one server and differs
	// between servers and databases.
	Instance string
	Logger   *slog.Logger
	// Clock stamps Updates; default time.Now.
	Clock func() time.Time
}

// Runner runs jobs at a cluster scheduler through a Backend. It implements
// runner.Runner and runner.PartitionLister.
type Runner struct {
	b         Backend
	instance  string
	pollMin   time.Duration
	pollMax   time.Duration
	lostAfter time.Duration
	log       *slog.Logger
	now       func() time.Time

	updates chan runner.Update
	kick    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	jobs     map[key]*job
	starting map[key]chan struct{}
	stats    Stats
}

var (
	_ runner.Runner          = (*Runner)(nil)
	_ runner.PartitionLister = (*Runner)(nil)
)

type key struct {
	id      string
	attempt int
}

// job is a tracked job that has not ended yet.
type job struct {
	key    key
	ext    string
	state  runner.State // last reported: scheduled or running
	cancel bool         // Cancel was asked
	// missing is when the job was first seen ended or absent without an
	// accounting record; zero while the listing shows it active.
	missing time.Time
	// listed is the listing's terminal status, used if accounting never
	// answers.
	listed *Status
}

// Stats describe the tracking, for status pages and benchmarks.
type Stats struct {
	Tracked   int           // jobs being tracked
	Polls     int           // listing calls made
	Finals    int           // accounting lookups made
	Interval  time.Duration // the current poll interval
	LastPoll  time.Time     // when the last listing call ended
	LastError string        // the last listing or accounting error, "" after a clean cycle
}

// New returns a Runner for b; Close stops it.
func New(b Backend, o Options) *Runner {
	r := &Runner{
		b:         b,
		instance:  o.Instance,
		pollMin:   cmpOr(o.PollMin, DefaultPollMin),
		pollMax:   cmpOr(o.PollMax, DefaultPollMax),
		lostAfter: cmpOr(o.LostAfter, DefaultLostAfter),
		log:       o.Logger,
		now:       o.Clock,
		updates:   make(chan runner.Update, 256),
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		jobs:      make(map[key]*job),
		starting:  make(map[key]chan struct{}),
	}
	if r.pollMax < r.pollMin {
		r.pollMax = r.pollMin
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("scheduler", b.Name())
	if r.now == nil {
		r.now = time.Now
	}
	r.stats.Interval = r.pollMin
	r.wg.Add(1)
	go r.loop()
	return r
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Name returns the scheduler type.
func (r *Runner) Name() string { return r.b.Name() }

// Updates delivers state changes; it is closed by Close.
func (r *Runner) Updates() <-chan runner.Update { return r.updates }

// Stats returns the tracking's current figures.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Tracked = len(r.jobs)
	return s
}

// Available reports whether the scheduler answered the runner's last job
// listing; known is false when there was none within the last within
// (nothing is tracked, so the runner does not ask). A watch of the
// scheduler (simjobs serve's, for /system/status) uses it in place of a
// question of its own while the runner is asking anyway.
func (r *Runner) Available(within time.Duration) (ok, known bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stats.LastPoll.IsZero() || r.now().Sub(r.stats.LastPoll) > within {
		return false, false
	}
	return r.stats.LastError == "", true
}

// Partitions describes the cluster's partitions or queues.
func (r *Runner) Partitions(ctx context.Context) ([]runner.Partition, error) {
	return r.b.Partitions(ctx)
}

// Start submits spec, unless the scheduler already has a job named for
// this job and attempt, and starts tracking it. ctx bounds the commands,
// not the job.
func (r *Runner) Start(ctx context.Context, spec runner.Spec) (runner.Handle, error) {
	name, err := JobName(r.instance, spec.JobID, spec.Attempt, r.b.MaxNameLen())
	if err != nil {
		return runner.Handle{}, fmt.Errorf("%s: %w", r.b.Name(), err)
	}
	k := key{spec.JobID, spec.Attempt}
	done, h, err := r.reserve(ctx, k)
	if done || err != nil {
		return h, err
	}
	defer r.unreserve(k)

	ext, found, err := r.b.Find(ctx, name)
	if err != nil {
		if !errors.Is(err, ErrCommandNotFound) {
			err = fmt.Errorf("%w: %w", runner.ErrUnavailable, err)
		}
		return runner.Handle{}, fmt.Errorf("%s: cannot check for an earlier submission of %s, so not submitting: %w", r.b.Name(), name, err)
	}
	if found {
		r.log.Info("job was submitted before (a restart interrupted its submission); tracking it instead of submitting again", "job", spec.JobID, "attempt", spec.Attempt, "scheduler_job_id", ext)
	} else {
		if spec, err = prepare(spec); err != nil {
			return runner.Handle{}, fmt.Errorf("%s: job %s: %w", r.b.Name(), spec.JobID, err)
		}
		ext, err = r.b.Submit(ctx, spec, name)
		if err != nil {
			if errors.Is(err, ErrInvalid) || errors.Is(err, ErrCommandNotFound) {
				return runner.Handle{}, err
			}
			// The command failed, hung or answered nonsense: the job may
			// have been accepted all the same. Look before giving up.
			again, ok, ferr := r.b.Find(ctx, name)
			if ferr != nil && !errors.Is(ferr, ErrCommandNotFound) {
				// Neither command got through: the scheduler is down or
				// unreachable, not refusing this job.
				return runner.Handle{}, fmt.Errorf("%w: %w (and looking the job up: %w)", runner.ErrUnavailable, err, ferr)
			}
			if ferr != nil || !ok {
				return runner.Handle{}, err
			}
			r.log.Warn("submission reported an error but the scheduler has the job; tracking it", "job", spec.JobID, "scheduler_job_id", again, "err", err)
			ext = again
		}
	}
	if err := r.track(k, ext); err != nil {
		return runner.Handle{}, err
	}
	return runner.Handle{ExternalID: ext}, nil
}

// prepare does for a job what the runner owes it before it runs: the
// folder of its log files (on the data directory, which the compute nodes
// share) and the variables that name it in its environment.
func prepare(spec runner.Spec) (runner.Spec, error) {
	for _, p := range []string{spec.Stdout, spec.Stderr} {
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return spec, fmt.Errorf("log folder: %w", err)
		}
	}
	spec.Env = append(slices.Clip(spec.Env), runner.EnvJobID+"="+spec.JobID, fmt.Sprintf("%s=%d", runner.EnvAttempt, spec.Attempt))
	return spec, nil
}

// reserve makes this call the only Start of k in progress. done reports
// that k is tracked already (h is its handle).
func (r *Runner) reserve(ctx context.Context, k key) (done bool, h runner.Handle, err error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return true, runner.Handle{}, fmt.Errorf("%s: %w", r.b.Name(), errClosed)
		}
		if j, ok := r.jobs[k]; ok {
			r.mu.Unlock()
			return true, runner.Handle{ExternalID: j.ext}, nil
		}
		ch, busy := r.starting[k]
		if !busy {
			r.starting[k] = make(chan struct{})
			r.mu.Unlock()
			return false, runner.Handle{}, nil
		}
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return true, runner.Handle{}, ctx.Err()
		}
	}
}

func (r *Runner) unreserve(k key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.starting[k]; ok {
		close(ch)
		delete(r.starting, k)
	}
}

// track adds a job to the poll and wakes the poller.
func (r *Runner) track(k key, ext string) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("%s: %w", r.b.Name(), errClosed)
	}
	if _, ok := r.jobs[k]; !ok {
		r.jobs[k] = &job{key: k, ext: ext, state: runner.StateScheduled}
	}
	r.mu.Unlock()
	r.wake()
	return nil
}

func (r *Runner) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Cancel asks the scheduler to end a tracked job. Its end arrives on
// Updates (cancelled, or completed if it finished first).
func (r *Runner) Cancel(ctx context.Context, ref runner.Ref) error {
	r.mu.Lock()
	j, ok := r.jobs[key{ref.JobID, ref.Attempt}]
	if ok {
		j.cancel = true
	}
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s: job %s attempt %d: %w", r.b.Name(), ref.JobID, ref.Attempt, runner.ErrUnknownJob)
	}
	if err := r.b.Cancel(ctx, j.ext); err != nil {
		return fmt.Errorf("%s: cancel job %s (%s): %w", r.b.Name(), ref.JobID, j.ext, err)
	}
	r.wake()
	return nil
}

// Adopt resumes tracking of a job an earlier server process submitted.
func (r *Runner) Adopt(ctx context.Context, ref runner.Ref) error {
	if ref.Handle.ExternalID == "" {
		return fmt.Errorf("%s: job %s attempt %d has no scheduler job id", r.b.Name(), ref.JobID, ref.Attempt)
	}
	return r.track(key{ref.JobID, ref.Attempt}, ref.Handle.ExternalID)
}

// Close stops tracking (jobs keep running at the scheduler) and closes
// Updates.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.done)
	r.wg.Wait()
	close(r.updates)
	return nil
}

// loop polls while jobs are tracked: at PollMin after a change, backing
// off to PollMax while nothing changes, and not at all while nothing is
// tracked.
func (r *Runner) loop() {
	defer r.wg.Done()
	interval := r.pollMin
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var next time.Time // zero: no poll scheduled
	for {
		if next.IsZero() && r.tracked() > 0 {
			next = r.now().Add(interval)
			timer.Reset(interval)
		}
		select {
		case <-r.done:
			timer.Stop()
			return
		case <-r.kick:
			interval = r.pollMin
			if at := r.now().Add(interval); next.IsZero() || next.After(at) {
				next = at
				timer.Stop()
				timer.Reset(interval)
			}
			r.setInterval(interval)
			continue
		case <-timer.C:
		}
		next = time.Time{}
		if r.poll() {
			interval = r.pollMin
		} else {
			interval = min(2*interval, r.pollMax)
		}
		r.setInterval(interval)
	}
}

func (r *Runner) tracked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

func (r *Runner) setInterval(d time.Duration) {
	r.mu.Lock()
	r.stats.Interval = d
	r.mu.Unlock()
}

// poll runs one cycle and reports whether anything changed.
func (r *Runner) poll() bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	r.mu.Lock()
	ids := make([]string, 0, len(r.jobs))
	for _, j := range r.jobs {
		ids = append(ids, j.ext)
	}
	r.mu.Unlock()
	if len(ids) == 0 {
		return false
	}

	listing, err := r.b.List(ctx, ids)
	r.mu.Lock()
	r.stats.Polls++
	r.stats.LastPoll = r.now()
	r.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("job listing failed; keeping every job as it was and trying again", "err", err)
			r.setError(err)
		}
		return false
	}

	now := r.now()
	var out []runner.Update
	var ask []string
	changed := false
	r.mu.Lock()
	for _, j := range r.jobs {
		s, listed := listing[j.ext]
		switch {
		case listed && !s.State.Terminal():
			j.missing, j.listed = time.Time{}, nil
			if s.State == runner.StateRunning && j.state != runner.StateRunning {
				j.state = runner.StateRunning
				out = append(out, r.update(j, runner.StateRunning, nil, "running at "+r.b.Name()+detail(s.Detail), orNow(s.Time, now)))
				changed = true
			} else if s.State == runner.StateScheduled && j.state == runner.StateRunning {
				// Requeued (a node failed, preempted): waiting again.
				j.state = runner.StateScheduled
				changed = true
			}
		case listed && s.End != nil:
			out = append(out, r.finish(j, *s.End, now)...)
			changed = true
		default:
			if j.missing.IsZero() {
				j.missing = now
				changed = true
			}
			if listed {
				st := s
				j.listed = &st
			}
			ask = append(ask, j.ext)
		}
	}
	r.mu.Unlock()

	var finalErr error
	if len(ask) > 0 {
		var ends map[string]End
		ends, finalErr = r.b.Final(ctx, ask)
		r.mu.Lock()
		r.stats.Finals++
		r.mu.Unlock()
		if finalErr != nil && ctx.Err() == nil {
			r.log.Warn("accounting lookup failed; asking again next cycle", "jobs", len(ask), "err", finalErr)
			r.setError(finalErr)
		}
		now = r.now()
		r.mu.Lock()
		for _, j := range r.jobs {
			if j.missing.IsZero() {
				continue
			}
			if e, ok := ends[j.ext]; ok {
				out = append(out, r.finish(j, e, now)...)
				changed = true
				continue
			}
			if now.Sub(j.missing) < r.lostAfter {
				continue
			}
			out = append(out, r.finish(j, r.lost(j), now)...)
			changed = true
		}
		r.mu.Unlock()
	}
	if finalErr == nil {
		r.setError(nil)
	}
	for _, u := range out {
		select {
		case r.updates <- u:
		case <-r.done:
			return changed
		}
	}
	return changed
}

// lost is the end of a job that the accounting never described: what the
// listing last said if it showed the end, else failed as lost.
func (r *Runner) lost(j *job) End {
	if s := j.listed; s != nil {
		e := End{State: s.State, Message: fmt.Sprintf("%s reported the job %s, but its accounting has no record of the exit code", r.b.Name(), s.Detail)}
		if s.State == runner.StateCompleted {
			zero := 0
			e.ExitCode = &zero
		}
		return e
	}
	return End{State: runner.StateFailed, Message: fmt.Sprintf("lost: %s no longer lists job %s and its accounting has no record of it after %v", r.b.Name(), j.ext, r.lostAfter)}
}

// finish ends a job: the updates to send, and it leaves the tracking.
// Called with r.mu held.
func (r *Runner) finish(j *job, e End, now time.Time) []runner.Update {
	delete(r.jobs, j.key)
	var out []runner.Update
	if j.state == runner.StateScheduled && !e.Start.IsZero() {
		out = append(out, r.update(j, runner.StateRunning, nil, "running at "+r.b.Name(), e.Start))
	}
	st, msg := e.State, e.Message
	switch {
	case j.cancel && st == runner.StateFailed:
		st = runner.StateCancelled
		if msg != "" {
			msg = "cancelled (" + msg + ")"
		}
	case st == runner.StateCancelled && !j.cancel && msg == "":
		msg = "cancelled at " + r.b.Name() + ", not through simjobs"
	case st == runner.StateFailed && msg == "":
		msg = "failed at " + r.b.Name()
		if e.ExitCode != nil {
			msg = fmt.Sprintf("exit code %d", *e.ExitCode)
		}
	}
	return append(out, r.update(j, st, e.ExitCode, msg, orNow(e.Time, now)))
}

func (r *Runner) update(j *job, st runner.State, code *int, msg string, t time.Time) runner.Update {
	return runner.Update{JobID: j.key.id, Attempt: j.key.attempt, State: st, ExitCode: code, Message: msg, Time: t}
}

func (r *Runner) setError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.stats.LastError = ""
		return
	}
	r.stats.LastError = err.Error()
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

func detail(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
