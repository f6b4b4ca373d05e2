package engine

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// next takes the head of the queue if the gate admits it, holding a slot
// for it.
func (m *Manager) next() *activeJob {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draining || m.closed {
		return nil
	}
	if m.queue.Len() == 0 {
		m.blocked = ""
		return nil
	}
	if reason := m.limits.admit(m.slots.running, m.telemetry); reason != "" {
		m.blocked = reason
		return nil
	}
	m.blocked = ""
	a := m.nextAdmittedLocked()
	if a == nil {
		return nil
	}
	a.status = StatusRunning
	m.slots.take(a)
	return a
}

// nextAdmittedLocked takes the first queued job that no gate holds out of
// the queue. Held jobs keep their places: they are taken out while the queue
// is walked and put back, so a held job never holds back the jobs behind it.
func (m *Manager) nextAdmittedLocked() *activeJob {
	if len(m.gates) == 0 {
		id, _ := m.queue.pop()
		return m.active[id]
	}
	var held []*activeJob
	defer func() {
		for _, h := range held {
			m.queue.push(h.id, h.priority, h.seq)
		}
	}()
	for {
		id, ok := m.queue.pop()
		if !ok {
			return nil
		}
		a := m.active[id]
		if m.holdLocked(a) != "" {
			if m.parkLocked(a) {
				continue // out of the queue until its sweep has room
			}
			held = append(held, a)
			continue
		}
		m.admitLocked(a)
		return a
	}
}

// startLocal persists that a job runs, then starts it. Persisting first is
// what makes a job never start twice: after a crash the store says running,
// and a running job is never started again.
func (m *Manager) startLocal(a *activeJob) {
	ctx := m.ctx
	picked := m.now()
	spec, err := m.specFor(ctx, a)
	if err != nil {
		m.mustEnd(a, StatusFailed, nil, "cannot start: "+err.Error())
		return
	}
	if m.cancelledBeforeStart(a, false) {
		return
	}
	start := m.now().UTC()
	// NoSync: this must survive a crash of the server (so the job is never
	// started twice), which the WAL gives without waiting for the disk; a
	// crash of the machine kills the job too, and the job then rightly
	// runs again.
	err = m.store.JobUpdate(ctx, JobUpdateParams{ID: a.id, Attempt: a.attempt, FromStatus: StatusQueued, Status: StatusRunning, StartTime: &start, Time: start, Message: "started on this host", NoSync: true})
	if err != nil {
		// The job stays queued in the store; give its slot back and let it
		// be retried at the next wake-up.
		m.log.Error("persist job start", "job", a.id, "err", err)
		m.mu.Lock()
		a.status = StatusQueued
		m.slots.unstart(a)
		m.unadmitLocked(a)
		if !errors.Is(err, ErrStale) && !m.closed {
			m.queue.push(a.id, a.priority, a.seq)
		}
		m.mu.Unlock()
		return
	}
	if m.cancelledBeforeStart(a, true) {
		return
	}
	// A short job can end before Start returns: its end waits (see apply)
	// until job_started is out, so no client sees a job complete before
	// it started.
	announced := m.holdUpdates(a)
	defer announced()
	m.folders.claim(m.jobDir(a.id, a.attempt))
	h, err := m.local.Start(ctx, spec)
	if err != nil {
		m.mustEnd(a, StatusFailed, nil, "cannot start: "+err.Error())
		return
	}
	m.DispatchLatency.Observe(m.now().Sub(picked))
	m.QueueWait.Observe(start.Sub(a.submitTime))
	m.mu.Lock()
	a.phase = phaseRunning
	a.handle = h
	cancel := a.cancel.asked()
	m.mu.Unlock()
	// Announced before the process is recorded, against "persist, act,
	// publish": what the event says that matters (the job runs) was
	// persisted above, before the start. The pid is a detail recovery can
	// do without (a running job with no process on record is looked up by
	// its name, see recover), so a crash between the two loses nothing,
	// and the announcement does not wait for a second store write.
	m.bus.Publish(EventJobStarted, JobStartedData{JobID: a.id, StartTime: start, Attempt: a.attempt, PID: h.PID})
	announced()
	m.folders.refill()
	if err := m.store.JobUpdate(ctx, JobUpdateParams{ID: a.id, Attempt: a.attempt, Process: &ProcessRef{PID: h.PID, StartTime: h.PIDStart}, Time: start, NoSync: true}); err != nil && !errors.Is(err, ErrStale) {
		m.log.Error("persist process of job", "job", a.id, "err", err)
	}
	if cancel {
		if err := m.local.Cancel(ctx, a.ref()); err != nil && !errors.Is(err, runner.ErrUnknownJob) {
			m.log.Error("cancel job", "job", a.id, "err", err)
		}
	}
}

func (m *Manager) cancelled(a *activeJob) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return a.cancel.asked()
}

// cancelledBeforeStart ends a job whose cancel came before its process
// started, and reports whether it did. A stop for shutdown puts the job
// back in the queue instead (persisted reports whether the store already
// says running): it never ran, so it runs after the restart.
func (m *Manager) cancelledBeforeStart(a *activeJob, persisted bool) bool {
	m.mu.Lock()
	c := a.cancel
	m.mu.Unlock()
	if !c.asked() {
		return false
	}
	if !c.shutdown() {
		m.mustEnd(a, StatusCancelled, nil, cancelMessage(c.by, "before it started"))
		return true
	}
	if persisted {
		err := m.store.JobUpdate(context.WithoutCancel(m.ctx), JobUpdateParams{ID: a.id, Attempt: a.attempt, FromStatus: StatusRunning, Status: StatusQueued, Time: m.now().UTC(), Message: "not started: the server shut down"})
		if err != nil {
			m.log.Error("requeue job at shutdown", "job", a.id, "err", err)
		}
	}
	m.mu.Lock()
	a.status = StatusQueued
	m.mu.Unlock()
	m.release(a)
	return true
}

// specFor builds the runner spec of a job's attempt from its stored config,
// checked again against the policy: the project may have gone while the job
// waited.
func (m *Manager) specFor(ctx context.Context, a *activeJob) (runner.Spec, error) {
	m.mu.Lock()
	cached := a.spec
	a.spec = nil
	m.mu.Unlock()
	var spec runner.Spec
	if cached != nil && m.now().Sub(a.submitTime) < specCacheTTL {
		spec = *cached
	} else {
		job, err := m.store.JobGet(ctx, a.id)
		if err != nil {
			return runner.Spec{}, err
		}
		p, err := m.policy.prepare(job.Config, job.User, m.now(), true)
		if err != nil {
			return runner.Spec{}, err
		}
		spec = p.spec
	}
	spec.Attempt = a.attempt
	// The runner creates the job's folder with its log files, unless a
	// spare was put in place (folders.claim).
	dir := m.jobDir(a.id, a.attempt)
	spec.Stdout = filepath.Join(dir, stdoutLog)
	spec.Stderr = filepath.Join(dir, stderrLog)
	if spec.Dir == "" {
		spec.Dir = dir
	}
	return spec, nil
}

// consume applies a runner's updates in order. The ends of local jobs are
// the exception: each is applied on a goroutine of its own, because
// recording an end waits for the disk (synchronous FULL), and ends applied
// one after another paid one fsync each, which capped short jobs at one end
// per fsync. Ends recorded together share one group commit. An end is the
// last update of its job attempt, so nothing after it needs to wait for it.
func (m *Manager) consume(r runner.Runner) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for u := range r.Updates() {
			if r == m.local && u.State.Terminal() {
				m.wg.Add(1)
				go func() {
					defer m.wg.Done()
					m.apply(u)
				}()
				continue
			}
			m.apply(u)
		}
	}()
}

// holdUpdates makes the runner's updates for a wait (see apply) until the
// returned func is called; calling it again does nothing.
func (m *Manager) holdUpdates(a *activeJob) func() {
	held := make(chan struct{})
	m.mu.Lock()
	a.submitted = held
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if a.submitted == held {
			close(held)
			a.submitted = nil
		}
	}
}

func (m *Manager) apply(u runner.Update) {
	// A scheduler runner tracks a job from the moment the scheduler
	// accepts it, so its first updates can come before submitCluster has
	// recorded the job as scheduled (with its scheduler id). Applied
	// then, they would end the job first and the record of the
	// submission would be refused as stale, losing the scheduler id.
	// Likewise a short local job's end can come before startLocal has
	// published job_started (see holdUpdates).
	m.mu.Lock()
	var wait chan struct{}
	if a, ok := m.active[u.JobID]; ok && a.attempt == u.Attempt {
		wait = a.submitted
	}
	m.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-m.ctx.Done():
			return
		}
	}
	m.mu.Lock()
	a, ok := m.active[u.JobID]
	if !ok || a.attempt != u.Attempt {
		m.mu.Unlock()
		m.log.Warn("update for a job not tracked", "job", u.JobID, "attempt", u.Attempt, "state", u.State)
		return
	}
	c := a.cancel
	m.mu.Unlock()
	switch u.State {
	case runner.StateRunning:
		m.markRunning(a, u)
	case runner.StateScheduled:
		// Nothing new: the job was scheduled when Start returned.
	case runner.StateCompleted:
		m.freeSlot(a)
		m.mustEnd(a, StatusCompleted, u.ExitCode, u.Message)
	case runner.StateCancelled:
		m.freeSlot(a)
		if c.shutdown() {
			m.mustEnd(a, StatusFailed, u.ExitCode, "interrupted: the server shut down while the job ran")
			return
		}
		m.mustEnd(a, StatusCancelled, u.ExitCode, cancelMessage(c.by, "while running"))
	case runner.StateFailed:
		m.freeSlot(a)
		msg := u.Message
		if c.shutdown() {
			msg = "interrupted: the server shut down while the job ran (" + msg + ")"
		}
		m.mustEnd(a, StatusFailed, u.ExitCode, msg)
	}
}

// markRunning records that a scheduler started a job.
func (m *Manager) markRunning(a *activeJob, u runner.Update) {
	t := u.Time.UTC()
	if t.IsZero() {
		t = m.now().UTC()
	}
	err := m.store.JobUpdate(m.ctx, JobUpdateParams{ID: a.id, Attempt: a.attempt, Status: StatusRunning, StartTime: &t, Time: t, Message: "running at " + m.cluster.Name()})
	if err != nil {
		m.log.Error("persist job running", "job", a.id, "err", err)
		return
	}
	m.mu.Lock()
	a.status = StatusRunning
	m.mu.Unlock()
	m.QueueWait.Observe(t.Sub(a.submitTime))
	m.bus.Publish(EventJobStarted, JobStartedData{JobID: a.id, StartTime: t, Attempt: a.attempt})
}

// mustEnd records a job's end, retrying while the store fails: an end that
// is not persisted would leave the job running in the store forever.
func (m *Manager) mustEnd(a *activeJob, st Status, code *int, msg string) {
	backoff := 50 * time.Millisecond
	for {
		err := m.end(m.ctx, a, st, code, msg)
		if err == nil {
			return
		}
		m.log.Error("persist job end", "job", a.id, "status", st, "err", err)
		if m.ctx.Err() != nil {
			// Shutting down: the next start recovers it as lost.
			m.release(a)
			return
		}
		select {
		case <-m.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// end persists a job's end, then frees its slot, wakes its waiters and
// announces it.
func (m *Manager) end(ctx context.Context, a *activeJob, st Status, code *int, msg string) error {
	now := m.now().UTC()
	errText := ""
	if st != StatusCompleted {
		errText = msg
	}
	// A cancel is the canceller's doing; any other end is the server's.
	m.mu.Lock()
	c := a.cancel
	m.mu.Unlock()
	actor := c.by
	if st != StatusCancelled || c.shutdown() {
		actor = ""
	}
	err := m.store.JobUpdate(ctx, JobUpdateParams{ID: a.id, Attempt: a.attempt, Status: st, EndTime: &now, ReturnCode: code, Error: &errText, Time: now, Message: msg, Actor: actor})
	if err != nil && !errors.Is(err, ErrStale) {
		return err
	}
	if !a.cluster {
		m.retainer.capAttempt(m.jobDir(a.id, a.attempt))
	}
	m.release(a)
	data := JobEndedData{JobID: a.id, Status: st, EndTime: now, ReturnCode: code, Error: errText, Attempt: a.attempt}
	m.bus.Publish(EventJobCompleted, data)
	switch st {
	case StatusFailed:
		m.bus.Publish(EventJobFailed, data)
	case StatusCancelled:
		m.bus.Publish(EventJobCancelled, data)
	}
	m.afterEnd(m.ctx, a, st, msg)
	return nil
}

// freeSlot gives back the local slot of a job whose process has ended, at
// once: the next job may start while the end is being recorded.
func (m *Manager) freeSlot(a *activeJob) {
	m.mu.Lock()
	idle := m.slots.free(a)
	m.mu.Unlock()
	for _, ch := range idle {
		close(ch)
	}
	m.kick()
}

// release forgets an ended job: its slot, its waiters.
func (m *Manager) release(a *activeJob) {
	m.mu.Lock()
	if cur, ok := m.active[a.id]; ok && cur == a {
		delete(m.active, a.id)
	}
	m.unadmitLocked(a)
	idle := m.slots.release(a)
	waiters := m.waiters[a.id]
	delete(m.waiters, a.id)
	m.mu.Unlock()
	for _, ch := range append(idle, waiters...) {
		close(ch)
	}
	m.kick()
}
