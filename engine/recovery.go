package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/simjobs/simjobs/engine/runner"
)

// Recovery is a one-shot phase of New, not a background component: recover
// loads what a previous process left unfinished before anything else
// touches the manager, and resume hands it back to the runners once their
// update consumers run. Nothing of it outlives New, so it has no shutdown.

// recovered is what recover found that needs a runner once the update
// consumers run.
type recovered struct {
	adoptLocal   []*activeJob
	adoptCluster []*activeJob
	submit       []*activeJob // cluster submissions a crash interrupted
}

// recover loads the jobs a previous process left unfinished. It runs before
// anything else touches the manager.
func (m *Manager) recover(ctx context.Context) (recovered, error) {
	var r recovered
	jobs, err := m.store.JobListActive(ctx)
	if err != nil {
		return r, fmt.Errorf("engine: load unfinished jobs: %w", err)
	}
	var requeue []Job
	for _, j := range jobs {
		a := &activeJob{id: j.ID, attempt: j.Attempt, seq: j.Seq, priority: j.Priority, user: j.User, status: j.Status, submitTime: j.SubmitTime, kind: j.Kind, config: j.Config, phase: phaseWaiting}
		a.cluster = j.SchedulerJobID != nil || j.Status == StatusScheduled || (j.Status == StatusPending && m.cluster != nil)
		switch {
		case a.cluster:
			if m.cluster == nil {
				m.log.Warn("job was handed to a scheduler but the server now runs without one; leaving it as it is", "job", j.ID, "status", j.Status)
				continue
			}
			m.active[a.id] = a
			if j.SchedulerJobID == nil {
				a.submitted = make(chan struct{})
				r.submit = append(r.submit, a)
				continue
			}
			a.phase = phaseRunning
			a.handle = runner.Handle{ExternalID: *j.SchedulerJobID}
			// The gates admitted it before the restart: they count it again.
			m.admitLocked(a)
			r.adoptCluster = append(r.adoptCluster, a)
		case j.Status == StatusQueued || j.Status == StatusPending:
			if j.Status == StatusPending {
				requeue = append(requeue, j) // recorded below, all at once
				a.status = StatusQueued
			}
			m.active[a.id] = a
			m.queue.push(a.id, a.priority, a.seq)
		case j.Status == StatusRunning:
			// Without a pid on record the server stopped between marking
			// the job running and recording its process: the runner looks
			// for the process by the job's name, and reports it lost if it
			// never started. Either way it is not started again.
			m.active[a.id] = a
			m.slots.adopt(a)
			if j.Process != nil {
				a.handle = runner.Handle{PID: j.Process.PID, PIDStart: j.Process.StartTime}
			}
			m.admitLocked(a)
			r.adoptLocal = append(r.adoptLocal, a)
		}
	}
	if err := m.requeueAll(ctx, requeue); err != nil {
		return r, err
	}
	if n := len(m.active); n > 0 {
		m.log.Info("recovered unfinished jobs", "jobs", n, "queued", m.queue.Len(), "running", m.slots.running)
	}
	return r, nil
}

// resume hands recovered jobs back to their runners.
func (m *Manager) resume(ctx context.Context, r recovered) {
	for _, a := range r.adoptLocal {
		if err := m.local.Adopt(ctx, a.ref()); err != nil {
			m.mustEnd(a, StatusFailed, nil, "lost after a restart: "+err.Error())
		}
	}
	for _, a := range r.adoptCluster {
		if err := m.cluster.Adopt(ctx, a.ref()); err != nil {
			m.mustEnd(a, StatusFailed, nil, "lost after a restart: "+err.Error())
		}
	}
	for _, a := range r.submit {
		m.submitter.submit(a.id, a.attempt)
	}
}

// requeueParallel is how many of recover's requeues are in flight at once.
const requeueParallel = 64

// requeueAll records that jobs found pending at start-up (handed to no
// scheduler) are queued again. The updates are made concurrently so that
// the store commits them in a few shared group commits: made one after
// another, each waited for an fsync of its own, and a few hundred of them
// held start-up for seconds. Any failure fails start-up, as one did when
// they were made in series.
func (m *Manager) requeueAll(ctx context.Context, jobs []Job) error {
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, requeueParallel)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := m.store.JobUpdate(ctx, JobUpdateParams{ID: j.ID, Attempt: j.Attempt, FromStatus: StatusPending, Status: StatusQueued, Time: m.now().UTC(), Message: "queued again after a restart"})
			if err != nil {
				errs[i] = fmt.Errorf("engine: requeue job %s: %w", j.ID, err)
			}
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 1 {
		// A store that is down fails them all: one line says it.
		return fmt.Errorf("%w (and %d more)", failed[0], len(failed)-1)
	}
	return errors.Join(failed...)
}
