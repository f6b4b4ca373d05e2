package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// clusterSubmitter hands pending jobs to the cluster scheduler, one
// goroutine per job: it checks the job's spec and gates, submits it,
// retries while the scheduler cannot be reached (Options.RetryFirst and
// RetryMax), records the scheduler's job id, and then lets the runner's
// updates for the job through (submissionRecorded). It holds the cluster
// runner, the retry pacing and its own context; the jobs' state stays the
// manager's, under its lock.
//
// newClusterSubmitter makes it, start gives it the WaitGroup its
// submissions run on, shutdown ends the waits of the submissions under way
// (their jobs stay pending in the store and are submitted after the next
// start); Close then waits for them on the manager's WaitGroup.
type clusterSubmitter struct {
	m                    *Manager
	runner               runner.Runner
	retryFirst, retryMax time.Duration
	ctx                  context.Context
	cancel               context.CancelFunc
	wg                   *sync.WaitGroup
}

// clusterParams are what the submitter needs.
type clusterParams struct {
	m                    *Manager
	runner               runner.Runner
	retryFirst, retryMax time.Duration
}

// newClusterSubmitter derives its context from the manager's, which must
// exist.
func newClusterSubmitter(p clusterParams) *clusterSubmitter {
	c := &clusterSubmitter{m: p.m, runner: p.runner, retryFirst: p.retryFirst, retryMax: p.retryMax}
	c.ctx, c.cancel = context.WithCancel(p.m.ctx)
	return c
}

func (c *clusterSubmitter) start(wg *sync.WaitGroup) { c.wg = wg }

func (c *clusterSubmitter) shutdown() { c.cancel() }

// submit hands a job's attempt to the scheduler in the background.
func (c *clusterSubmitter) submit(id string, attempt int) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.submitCluster(id, attempt)
	}()
}

// submitCluster hands a pending job to the cluster scheduler.
func (c *clusterSubmitter) submitCluster(id string, attempt int) {
	m := c.m
	ctx := c.ctx
	m.mu.Lock()
	a, ok := m.active[id]
	m.mu.Unlock()
	if !ok || a.attempt != attempt {
		return
	}
	defer c.submissionRecorded(a)
	spec, err := m.specFor(ctx, a)
	if err != nil {
		m.mustEnd(a, StatusFailed, nil, "cannot submit to "+c.runner.Name()+": "+err.Error())
		return
	}
	if !m.awaitGates(ctx, a) {
		if ctx.Err() != nil {
			return // still pending in the store: submitted after the restart
		}
		m.mustEnd(a, StatusCancelled, nil, a.cancelText("before it reached the scheduler"))
		return
	}
	picked := m.now()
	h, waited, err := c.startCluster(ctx, a, spec)
	if err != nil {
		if errors.Is(err, errGaveUp) {
			return
		}
		m.mustEnd(a, StatusFailed, nil, "cannot submit to "+c.runner.Name()+": "+err.Error())
		return
	}
	m.DispatchLatency.Observe(m.now().Sub(picked))
	now := m.now().UTC()
	ext := h.ExternalID
	var clear *string
	if waited {
		clear = new(string)
	}
	if err := m.store.JobUpdate(ctx, JobUpdateParams{ID: id, Attempt: attempt, FromStatus: StatusPending, Status: StatusScheduled, SchedulerJobID: &ext, Error: clear, Time: now, Message: "submitted to " + c.runner.Name() + " as " + ext}); err != nil {
		m.log.Error("persist scheduler job id", "job", id, "scheduler_job_id", ext, "err", err)
	}
	m.mu.Lock()
	a.phase = phaseRunning
	a.handle = h
	if a.status == StatusPending {
		a.status = StatusScheduled
	}
	cancel := a.cancel.asked()
	m.mu.Unlock()
	m.bus.Publish(EventJobScheduled, JobScheduledData{JobID: id, SchedulerJobID: ext, Attempt: attempt})
	if cancel {
		if err := c.runner.Cancel(ctx, a.ref()); err != nil && !errors.Is(err, runner.ErrUnknownJob) {
			m.log.Error("cancel job", "job", id, "err", err)
		}
	}
}

// errGaveUp: startCluster stopped trying, and has dealt with the job (it
// was cancelled, or the manager is closing and it stays pending for the
// next start).
var errGaveUp = errors.New("gave up")

// startCluster submits a job, trying again while the scheduler cannot be
// reached: a controller restart or a network blip must not fail every job
// submitted meanwhile. The job stays pending, its error saying why, until
// the scheduler answers, it is cancelled, or the manager closes. waited
// reports that it had to wait (the error is then to be cleared).
func (c *clusterSubmitter) startCluster(ctx context.Context, a *activeJob, spec runner.Spec) (h runner.Handle, waited bool, err error) {
	m := c.m
	first, most := c.retryFirst, c.retryMax
	delay := first
	for {
		h, err = c.runner.Start(ctx, spec)
		if err == nil || !errors.Is(err, runner.ErrUnavailable) {
			return h, waited, err
		}
		msg := fmt.Sprintf("waiting for %s (next try in %s): %v", c.runner.Name(), delay.Round(time.Second), err)
		if !waited {
			m.log.Warn("the cluster scheduler cannot be reached; the job stays pending and is submitted once it answers", "job", a.id, "scheduler", c.runner.Name(), "err", err)
		}
		waited = true
		if uerr := m.store.JobUpdate(ctx, JobUpdateParams{ID: a.id, Attempt: a.attempt, FromStatus: StatusPending, Error: &msg, Time: m.now().UTC(), NoSync: true}); uerr != nil && !errors.Is(uerr, ErrStale) {
			m.log.Error("record why a job waits", "job", a.id, "err", uerr)
		}
		// A cancel before the channel exists is seen here; one after it
		// wakes the wait.
		m.mu.Lock()
		if a.retry == nil {
			a.retry = make(chan struct{}, 1)
		}
		wake, cancelled := a.retry, a.cancel.asked()
		m.mu.Unlock()
		if !cancelled {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return h, waited, errGaveUp // still pending in the store: submitted after the restart
			case <-wake:
			case <-t.C:
			}
			t.Stop()
		}
		if m.cancelled(a) {
			m.mustEnd(a, StatusCancelled, nil, cancelMessage(a.cancel.by, "before it reached the scheduler"))
			return h, waited, errGaveUp
		}
		delay = min(2*delay, most)
	}
}

// submissionRecorded lets the runner's updates for a cluster job through
// once submitCluster has recorded the submission (or the job's end).
func (c *clusterSubmitter) submissionRecorded(a *activeJob) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.submitted != nil {
		close(a.submitted)
		a.submitted = nil
	}
}
