package local

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// reason is why the runner is ending a job itself.
type reason int

const (
	reasonNone reason = iota
	reasonCancel
	reasonWallTime
)

// killWait bounds how long the runner waits for a group to vanish after
// SIGKILL before it reports the job's end anyway (a process stuck in
// uninterruptible sleep, say, on a dead network file system).
const killWait = 5 * time.Second

// groupPoll is how often a group is checked while its leader is gone but
// other members may live: there is nothing to wait on for them.
const groupPoll = 20 * time.Millisecond

// job is one tracked process group.
type job struct {
	key   key
	g     *group
	start uint64      // the leader's start time, for adopted jobs' exit records
	timer *time.Timer // wall-time limit; nil when none. Set before the job's goroutines start.

	gone    chan struct{} // closed once the leader has exited
	stopped chan struct{} // closed once a kill sequence has finished

	mu        sync.Mutex
	ended     bool   // the leader's exit was seen: the outcome is decided
	reason    reason // set once, by the first stop
	limit     time.Duration
	escalated bool // SIGKILL was needed
}

func newJob(k key, g *group) *job {
	return &job{key: k, g: g, gone: make(chan struct{}), stopped: make(chan struct{})}
}

// stop begins the kill sequence of j, once, unless j has ended already.
func (r *Runner) stop(j *job, why reason, limit time.Duration) {
	j.mu.Lock()
	if j.ended || j.reason != reasonNone {
		j.mu.Unlock()
		return
	}
	j.reason, j.limit = why, limit
	j.mu.Unlock()
	r.log.Info("stopping job", "job_id", j.key.id, "attempt", j.key.attempt, "pid", j.g.pid, "cancel", why == reasonCancel)
	go r.kill(j)
}

// kill asks j's group to end, then forces it after the grace period, and
// returns when the whole group is gone (or killWait has passed after SIGKILL).
// It runs to its end even after Close: a cancel that stopped halfway would
// leave a job running that its user asked to stop.
func (r *Runner) kill(j *job) {
	defer close(j.stopped)
	if err := j.g.interrupt(); err != nil {
		if !j.g.alive() {
			return
		}
		// The graceful request could not be delivered (on Windows, no shared
		// console): waiting out the grace period would only delay the end.
		r.log.Warn("graceful stop failed, killing", "job_id", j.key.id, "pid", j.g.pid, "err", err)
	} else {
		grace := time.NewTimer(r.grace)
		defer grace.Stop()
		if j.waitGone(grace.C) {
			return
		}
	}
	j.mu.Lock()
	j.escalated = true
	j.mu.Unlock()
	if err := j.g.kill(); err != nil && j.g.alive() {
		r.log.Error("kill failed", "job_id", j.key.id, "pid", j.g.pid, "err", err)
	}
	deadline := time.NewTimer(killWait)
	defer deadline.Stop()
	if !j.waitGone(deadline.C) {
		r.log.Error("processes still alive after kill", "job_id", j.key.id, "pgid", j.g.pid)
	}
}

// waitGone waits until every process of j's group is gone or deadline fires,
// and reports whether the group is gone.
func (j *job) waitGone(deadline <-chan time.Time) bool {
	// The leader's exit comes for free; only the rest must be polled.
	select {
	case <-j.gone:
	case <-deadline:
		return !j.g.alive()
	}
	tick := time.NewTicker(groupPoll)
	defer tick.Stop()
	for {
		if !j.g.alive() {
			return true
		}
		select {
		case <-tick.C:
		case <-deadline:
			return !j.g.alive()
		}
	}
}

// wait reaps a job this runner started and reports its end.
func (r *Runner) wait(j *job, cmd *exec.Cmd) {
	err := cmd.Wait()
	if j.timer != nil {
		j.timer.Stop()
	}
	if why, _, _ := j.end(); why != reasonNone {
		<-j.stopped // report the end when the whole group is gone, not just its leader
	}
	why, limit, escalated := j.end()
	u := runner.Update{JobID: j.key.id, Attempt: j.key.attempt, Time: r.now()}
	var ee *exec.ExitError
	switch {
	case err == nil || errors.As(err, &ee):
		u.ExitCode, u.Message = exitOutcome(cmd.ProcessState)
		u.State = runner.StateFailed
		if u.ExitCode != nil && *u.ExitCode == 0 {
			u.State, u.Message = runner.StateCompleted, ""
		}
	default: // Wait itself failed: nothing is known about the exit
		u.State, u.Message = runner.StateFailed, fmt.Sprintf("wait: %v", err)
	}
	describeStop(&u, why, limit, escalated, r.grace)
	r.finish(j, u)
}

// watch follows an adopted process until it ends or the runner closes.
func (r *Runner) watch(j *job) {
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	for j.g.leaderAlive() {
		select {
		case <-tick.C:
		case <-r.done:
			r.abandon(j)
			return
		}
	}
	if why, _, _ := j.end(); why != reasonNone {
		<-j.stopped
	}
	why, limit, escalated := j.end()
	u := runner.Update{JobID: j.key.id, Attempt: j.key.attempt, Time: r.now(), State: runner.StateFailed, Message: MsgAdoptedExit}
	// The reaper that inherited the orphan may have recorded how it ended;
	// on Windows a process handle still tells.
	if !r.recordedExit(&u, j.g.pid, j.start) {
		if code, ok := j.g.adoptedExit(); ok {
			u.ExitCode, u.Message = &code, fmt.Sprintf("exit code %d", code)
			if code == 0 {
				u.State, u.Message = runner.StateCompleted, ""
			}
		}
	}
	describeStop(&u, why, limit, escalated, r.grace)
	r.finish(j, u)
}

// abandon forgets an adopted job when the runner closes. A kill sequence
// begun before Close runs to its end and releases the group after.
func (r *Runner) abandon(j *job) {
	j.mu.Lock()
	j.ended = true // no stop may begin now
	stopping := j.reason != reasonNone
	j.mu.Unlock()
	if !stopping {
		j.g.release()
		return
	}
	go func() {
		<-j.stopped
		j.g.release()
	}()
}

// end marks the leader's exit and returns what the runner had asked of j.
func (j *job) end() (reason, time.Duration, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.ended {
		j.ended = true
		close(j.gone)
	}
	return j.reason, j.limit, j.escalated
}

// describeStop turns the outcome of a job the runner stopped itself into the
// state the caller asked for: cancelled, or failed for the wall time.
func describeStop(u *runner.Update, why reason, limit time.Duration, escalated bool, grace time.Duration) {
	how := ""
	if escalated {
		how = fmt.Sprintf(" (killed after the %v grace period)", grace)
	}
	switch why {
	case reasonCancel:
		u.State, u.Message = runner.StateCancelled, "cancelled"+how
	case reasonWallTime:
		u.State, u.Message = runner.StateFailed, fmt.Sprintf("wall-time limit %v exceeded%s", limit, how)
	}
}

// finish forgets j and reports u.
func (r *Runner) finish(j *job, u runner.Update) {
	r.log.Info("job ended", "job_id", u.JobID, "attempt", u.Attempt, "state", u.State, "message", u.Message)
	r.mu.Lock()
	if r.jobs[j.key] == j {
		delete(r.jobs, j.key)
	}
	if r.closed {
		r.mu.Unlock()
		j.g.release()
		return
	}
	r.senders.Add(1)
	r.mu.Unlock()
	defer r.senders.Done()
	defer j.g.release()
	r.send(u)
}
