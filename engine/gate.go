package engine

import (
	"context"
	"encoding/json"
)

// A Gate holds queued jobs back for a reason of its own: a dependency not
// yet met, a sweep at its cap, a license feature short of seats. The host
// limits (slots, CPU, memory, disk) hold every job alike and are checked
// first; gates judge one job at a time, so a held job does not hold back
// the jobs behind it.
//
// The Manager asks its gates about queued jobs in queue order each time it
// looks for a job to start, and about pending cluster jobs before they are
// submitted. A gate whose state changes (a seat freed, a dependency ended)
// calls Manager.Recheck.
//
// Every method is called with the Manager's lock held: it must be quick,
// must not block and must not call the Manager.
type Gate interface {
	// Hold says why the job may not start now, or "" when it may.
	Hold(j GateJob) string
	// Admitted tells the gate that the job leaves the queue to start, every
	// gate having said "" just now, so that it counts the job (a seat
	// reserved, a sweep slot taken) before it is asked about the next one.
	Admitted(j GateJob)
	// Released tells the gate that a job it admitted ended, or went back
	// to the queue without running.
	Released(j GateJob)
}

// GateJob is what a Gate knows of a job.
type GateJob struct {
	ID      string
	Attempt int
	User    string
	Kind    Kind
	// Cluster is true for a job handed to the cluster scheduler.
	Cluster bool
	// Config is the job's normalised configuration, as stored.
	Config json.RawMessage
}

func (a *activeJob) gateJob() GateJob {
	return GateJob{ID: a.id, Attempt: a.attempt, User: a.user, Kind: a.kind, Cluster: a.cluster, Config: a.config}
}

// holdLocked asks every gate about a; the first reason wins. It records the
// reason as the job's waiting reason.
func (m *Manager) holdLocked(a *activeJob) string {
	reason := ""
	if len(m.gates) > 0 {
		j := a.gateJob()
		for _, g := range m.gates {
			if reason = g.Hold(j); reason != "" {
				break
			}
		}
	}
	a.waiting = reason
	return reason
}

// admitLocked tells every gate that a leaves the queue.
func (m *Manager) admitLocked(a *activeJob) {
	if len(m.gates) == 0 {
		return
	}
	j := a.gateJob()
	for _, g := range m.gates {
		g.Admitted(j)
	}
	a.gated = true
}

// unadmitLocked tells every gate that a job they admitted is done with its
// place: it ended, or went back to the queue.
func (m *Manager) unadmitLocked(a *activeJob) {
	if !a.gated {
		return
	}
	a.gated = false
	j := a.gateJob()
	for _, g := range m.gates {
		g.Released(j)
	}
}

// Recheck tells the manager that a gate's state changed: held jobs are
// asked about again at once. It never blocks.
func (m *Manager) Recheck() {
	m.mu.Lock()
	for _, a := range m.active {
		a.wake()
	}
	m.mu.Unlock()
	m.kick()
}

// awaitGates holds a pending cluster job until every gate admits it, the
// job is cancelled (false), or the manager closes (false: it stays pending
// and is tried again after the restart).
func (m *Manager) awaitGates(ctx context.Context, a *activeJob) bool {
	if len(m.gates) == 0 {
		return !m.cancelled(a)
	}
	for {
		m.mu.Lock()
		if a.cancel.asked() {
			m.mu.Unlock()
			return false
		}
		if m.holdLocked(a) == "" {
			m.admitLocked(a)
			a.gateWait = nil
			m.mu.Unlock()
			return true
		}
		if a.gateWait == nil {
			a.gateWait = make(chan struct{}, 1)
		}
		wake, retry := a.gateWait, a.retryChan()
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-wake:
		case <-retry:
		}
	}
}

// retryChan is the channel a cancel wakes; the caller holds the lock.
func (a *activeJob) retryChan() chan struct{} {
	if a.retry == nil {
		a.retry = make(chan struct{}, 1)
	}
	return a.retry
}

// waitingReasonLocked says why a job not yet started waits, "" when it does
// not: its gate's reason, else, for a queued job, what holds the queue.
func (m *Manager) waitingReasonLocked(a *activeJob) string {
	if r := m.planReasonLocked(a); r != "" {
		return r
	}
	switch {
	case a.waiting != "":
		return a.waiting
	case a.status == StatusQueued && !a.holdsSlot():
		return m.blocked
	}
	return ""
}

// withWaiting fills in the waiting reasons of the jobs still waiting here.
func (m *Manager) withWaiting(jobs []Job) []Job {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range jobs {
		if jobs[i].Status.Terminal() {
			continue
		}
		if a, ok := m.active[jobs[i].ID]; ok && a.attempt == jobs[i].Attempt {
			jobs[i].WaitingReason = m.waitingReasonLocked(a)
		}
	}
	m.fillPositionsLocked(jobs)
	return jobs
}
