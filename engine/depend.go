package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// plans is the Manager's memory of sweeps, dependencies and retry waits
// for the jobs not yet ended. It is guarded by Manager.mu. Dependents are
// indexed by the job they wait for, so a job's end touches only the jobs
// waiting for it, not every job of a 10,000-job sweep.
type plans struct {
	jobs       map[string]*jobPlan   // active job id -> its plan
	sweeps     map[string]*sweepSlot // sweep id -> its slot, while a job of it is active
	dependents map[string][]string   // job id -> ids of the jobs waiting for it
	timers     map[string]*time.Timer
	// waiting are queued local jobs whose dependencies are not all met,
	// out of the manager's queue (see parkLocked) until they are.
	waiting *queue
}

func newPlans() *plans {
	return &plans{jobs: map[string]*jobPlan{}, sweeps: map[string]*sweepSlot{}, dependents: map[string][]string{},
		timers: map[string]*time.Timer{}, waiting: newQueue()}
}

// jobPlan is the plan of one active attempt.
type jobPlan struct {
	attempt int
	sweep   *sweepSlot
	index   int
	deps    []Dependency
	unmet   []bool
	retry   *RetryPolicy
}

// stored is the plan as the store keeps it.
func (p *jobPlan) stored(id string) *JobPlan {
	if p == nil || (len(p.deps) == 0 && p.retry == nil) {
		return nil
	}
	return &JobPlan{JobID: id, DependsOn: p.deps, Retry: p.retry}
}

// sweepSlot counts a sweep's running jobs against its cap.
type sweepSlot struct {
	id        string
	max       int
	running   int
	members   int
	cancelled bool
	// held are the cluster jobs the cap holds, in queue order: they wait in
	// awaitGates and are woken, one per place that frees.
	held *queue
	// parked are the sweep's queued local jobs the cap holds, taken out of
	// the manager's queue so that the dispatcher does not walk thousands
	// of jobs that cannot start at every wake-up; one goes back to the
	// queue for each place that frees.
	parked *queue
}

// free is how many more of the sweep may start now.
func (s *sweepSlot) free() int {
	if s.max == 0 {
		return 1 << 30
	}
	return s.max - s.running
}

// planGate is the Manager's own gate: dependencies, retry waits and sweep
// caps. It runs under the Manager's lock like any gate and reads the plans
// directly.
type planGate struct{ m *Manager }

func (g planGate) Hold(j GateJob) string { return g.hold(j, true) }

// hold is Hold; mark says whether a cluster job held by its sweep's cap
// is noted for waking (not when the reason is only being read).
func (g planGate) hold(j GateJob, mark bool) string {
	p := g.m.plans.jobs[j.ID]
	if p == nil || p.attempt != j.Attempt {
		return ""
	}
	for i, d := range p.deps {
		if p.unmet[i] {
			return fmt.Sprintf("waiting for job %s (%s)", d.JobID, d.Condition)
		}
	}
	if r := p.retry; r != nil && r.NotBefore != nil && g.m.now().Before(*r.NotBefore) {
		first := r.FirstAttempt
		if first == 0 {
			first = j.Attempt
		}
		return fmt.Sprintf("retry: attempt %d of %d starts at %s (after: %s)", j.Attempt-first+1, r.MaxAttempts, r.NotBefore.UTC().Format(time.RFC3339), r.Reason)
	}
	if s := p.sweep; s != nil {
		if s.cancelled {
			return fmt.Sprintf("sweep %s is being cancelled", s.id)
		}
		if s.max > 0 && s.running >= s.max {
			if j.Cluster && mark {
				if a := g.m.active[j.ID]; a != nil {
					s.held.push(a.id, a.priority, a.seq)
				}
			}
			return fmt.Sprintf("sweep %s runs %d of %d at once (max_parallel)", s.id, s.running, s.max)
		}
	}
	return ""
}

func (g planGate) Admitted(j GateJob) {
	if p := g.m.plans.jobs[j.ID]; p != nil && p.sweep != nil && p.attempt == j.Attempt {
		p.sweep.running++
		p.sweep.held.remove(j.ID)
	}
}

func (g planGate) Released(j GateJob) {
	p := g.m.plans.jobs[j.ID]
	if p == nil || p.sweep == nil || p.attempt != j.Attempt {
		return
	}
	s := p.sweep
	s.running--
	g.m.unparkLocked(s)
}

// unparkLocked lets as many of the sweep's held jobs go on as there are
// places free: parked local jobs back into the queue, held cluster jobs
// woken.
func (m *Manager) unparkLocked(s *sweepSlot) {
	if s.cancelled {
		return
	}
	for n := s.free(); n > 0 && s.parked.Len() > 0; n-- {
		id, _ := s.parked.pop()
		if a, ok := m.active[id]; ok && a.status == StatusQueued {
			m.queue.push(a.id, a.priority, a.seq)
		}
	}
	for n := s.free(); n > 0 && s.held.Len() > 0; {
		id, _ := s.held.pop()
		// Only a job waiting in awaitGates takes a place; one asked about
		// from elsewhere (a read of its waiting reason) is dropped, and
		// held again when it does wait.
		if a, ok := m.active[id]; ok && a.gateWait != nil {
			a.wake()
			n--
		}
	}
}

// parkLocked takes a queued local job the dispatcher just found held out
// of its way, if what holds it is the plan gate: it waits for a
// dependency (until it is met), or its sweep is at its cap or being
// cancelled (until a place frees). A parked job is not walked at every
// wake-up: a 10,000-job sweep costs the dispatcher nothing while it waits.
func (m *Manager) parkLocked(a *activeJob) bool {
	p := m.plans.jobs[a.id]
	if a.cluster || p == nil || p.attempt != a.attempt {
		return false
	}
	for _, unmet := range p.unmet {
		if unmet {
			m.plans.waiting.push(a.id, a.priority, a.seq)
			return true
		}
	}
	s := p.sweep
	if s == nil || (!s.cancelled && s.free() > 0) {
		return false
	}
	if r := p.retry; r != nil && r.NotBefore != nil && m.now().Before(*r.NotBefore) {
		return false
	}
	s.parked.push(a.id, a.priority, a.seq)
	return true
}

// reprioritise moves a parked job within its parking.
func (ps *plans) reprioritise(id string, priority int) {
	ps.waiting.setPriority(id, priority)
	if p := ps.jobs[id]; p != nil && p.sweep != nil {
		p.sweep.parked.setPriority(id, priority)
	}
}

// unpark takes a parked job out (to cancel it), reporting whether it was
// parked.
func (ps *plans) unpark(id string) bool {
	if ps.waiting.remove(id) {
		return true
	}
	if p := ps.jobs[id]; p != nil && p.sweep != nil {
		return p.sweep.parked.remove(id)
	}
	return false
}

// countParked adds the parked jobs to queue statistics.
func (ps *plans) countParked(s *QueueStats) {
	s.TotalQueued += ps.waiting.Len()
	for p, n := range ps.waiting.byPriority() {
		s.ByPriority[p] += n
	}
	for _, sw := range ps.sweeps {
		s.TotalQueued += sw.parked.Len()
		for p, n := range sw.parked.byPriority() {
			s.ByPriority[p] += n
		}
	}
}

// planReasonLocked is why the plan gate holds a job not yet started, asked
// afresh: the dispatcher asks only as far down the queue as it must.
func (m *Manager) planReasonLocked(a *activeJob) string {
	if a.phase > phaseWaiting || a.gated || (a.status != StatusQueued && a.status != StatusPending) {
		return ""
	}
	p := m.plans.jobs[a.id]
	if p == nil || p.attempt != a.attempt {
		return ""
	}
	return planGate{m}.hold(a.gateJob(), false)
}

// wakeLocked asks a cluster job held in awaitGates to ask its gates again.
func (m *Manager) wakeLocked(id string) {
	if a, ok := m.active[id]; ok {
		a.wake()
	}
}

// wake asks the job, if it waits in awaitGates, to ask its gates again.
func (a *activeJob) wake() {
	if a.gateWait != nil {
		select {
		case a.gateWait <- struct{}{}:
		default:
		}
	}
}

// attachLocked makes p the plan of a's attempt: it joins its sweep's slot
// and waits for its dependencies. It returns the dependencies this process
// does not track (ended, or ended meanwhile): the caller resolves them from
// the store once the lock is released.
func (m *Manager) attachLocked(a *activeJob, p *jobPlan, sweepID string, maxParallel int) []int {
	if p == nil {
		return nil
	}
	p.attempt = a.attempt
	if sweepID != "" {
		s := m.plans.sweeps[sweepID]
		if s == nil {
			s = &sweepSlot{id: sweepID, max: maxParallel, held: newQueue(), parked: newQueue()}
			m.plans.sweeps[sweepID] = s
		}
		s.members++
		p.sweep = s
	}
	var unknown []int
	p.unmet = make([]bool, len(p.deps))
	for i, d := range p.deps {
		p.unmet[i] = true
		if _, ok := m.active[d.JobID]; ok {
			m.plans.dependents[d.JobID] = append(m.plans.dependents[d.JobID], a.id)
		} else {
			unknown = append(unknown, i)
		}
	}
	m.plans.jobs[a.id] = p
	if r := p.retry; r != nil && r.NotBefore != nil {
		if wait := r.NotBefore.Sub(m.now()); wait > 0 {
			id, attempt := a.id, a.attempt
			if t := m.plans.timers[id]; t != nil {
				t.Stop()
			}
			// The wait ends: the job is asked about again.
			m.plans.timers[id] = time.AfterFunc(wait, func() {
				m.mu.Lock()
				if p := m.plans.jobs[id]; p != nil && p.attempt == attempt {
					m.wakeLocked(id)
				}
				delete(m.plans.timers, id)
				m.mu.Unlock()
				m.kick()
			})
		}
	}
	return unknown
}

// detach forgets the plan of a job that ended for good.
//
// It returns the id of the job's sweep when the job was its last one not
// yet ended, "" otherwise.
func (ps *plans) detach(id string) (sweepEnded string) {
	p := ps.jobs[id]
	if p == nil {
		return ""
	}
	delete(ps.jobs, id)
	ps.waiting.remove(id)
	if t := ps.timers[id]; t != nil {
		t.Stop()
		delete(ps.timers, id)
	}
	if s := p.sweep; s != nil {
		s.members--
		s.held.remove(id)
		s.parked.remove(id)
		if s.members <= 0 {
			delete(ps.sweeps, s.id)
			sweepEnded = s.id
		}
	}
	for i, d := range p.deps {
		if p.unmet[i] {
			ps.dropDependent(d.JobID, id)
		}
	}
	return sweepEnded
}

func (ps *plans) dropDependent(on, id string) {
	ds := ps.dependents[on]
	for i, x := range ds {
		if x == id {
			ds = append(ds[:i], ds[i+1:]...)
			break
		}
	}
	if len(ds) == 0 {
		delete(ps.dependents, on)
	} else {
		ps.dependents[on] = ds
	}
}

// dependencyEnded settles what waits for job id, which ended for good as
// st: a dependency whose condition now holds is met (the job may start
// once all are), one whose condition never can cancels its job.
func (m *Manager) dependencyEnded(ctx context.Context, id string, st Status) {
	m.mu.Lock()
	waiting := m.plans.dependents[id]
	delete(m.plans.dependents, id)
	type doomed struct{ id, reason string }
	var cancel []doomed
	for _, dep := range waiting {
		p := m.plans.jobs[dep]
		if p == nil {
			continue
		}
		if reason := m.settleLocked(dep, p, id, st); reason != "" {
			cancel = append(cancel, doomed{dep, reason})
		}
	}
	m.mu.Unlock()
	for _, c := range cancel {
		m.cancelBecause(ctx, c.id, c.reason)
	}
	if len(waiting) > 0 {
		m.kick()
	}
}

// settleLocked marks the dependencies of job dep on job on (which ended as
// st) met, or returns why dep can never start.
func (m *Manager) settleLocked(dep string, p *jobPlan, on string, st Status) string {
	for i, d := range p.deps {
		if d.JobID != on || !p.unmet[i] {
			continue
		}
		if !d.holds(st) {
			return fmt.Sprintf("cancelled: dependency %s ended %s, so %s can never hold", on, st, d.Condition)
		}
		p.unmet[i] = false
	}
	for _, unmet := range p.unmet {
		if unmet {
			return ""
		}
	}
	// Every dependency met: back into the queue (a local job), or asked
	// again (a cluster job waiting in awaitGates).
	if m.plans.waiting.remove(dep) {
		if a, ok := m.active[dep]; ok && a.status == StatusQueued {
			m.queue.push(a.id, a.priority, a.seq)
		}
	}
	m.wakeLocked(dep)
	return ""
}

// settleFromStore settles dependencies of job id that this process does
// not track: their jobs ended before (or while) it was attached.
func (m *Manager) settleFromStore(ctx context.Context, id string, deps []Dependency) {
	for _, d := range deps {
		job, err := m.store.JobGet(ctx, d.JobID)
		if err != nil {
			m.log.Error("read dependency", "job", id, "depends_on", d.JobID, "err", err)
			continue
		}
		m.mu.Lock()
		p := m.plans.jobs[id]
		_, tracked := m.active[d.JobID]
		reason := ""
		if p != nil && !tracked && job.Status.Terminal() {
			reason = m.settleLocked(id, p, d.JobID, job.Status)
		} else if p != nil && tracked && !m.plans.waitsOn(d.JobID, id) {
			// Submitted again meanwhile: wait for the new attempt.
			m.plans.dependents[d.JobID] = append(m.plans.dependents[d.JobID], id)
		}
		m.mu.Unlock()
		if reason != "" {
			m.cancelBecause(ctx, id, reason)
			return
		}
	}
	m.kick()
}

// waitsOn reports whether job id is noted as waiting for job on.
func (ps *plans) waitsOn(on, id string) bool {
	for _, x := range ps.dependents[on] {
		if x == id {
			return true
		}
	}
	return false
}

// cancelBecause cancels a job for a reason of the server's own, which
// becomes its error.
func (m *Manager) cancelBecause(ctx context.Context, id, reason string) {
	m.mu.Lock()
	if a, ok := m.active[id]; ok {
		a.cancel.message = reason
	}
	m.mu.Unlock()
	if _, err := m.Cancel(ctx, id, ""); err != nil {
		m.log.Error("cancel job", "job", id, "reason", reason, "err", err)
	}
}

// cancelText is the message of a cancel that stopped a job: the server's
// own reason, or who asked.
func (a *activeJob) cancelText(when string) string {
	if a.cancel.message != "" {
		return a.cancel.message
	}
	return cancelMessage(a.cancel.by, when)
}

// checkDependencies validates a submission's depends_on: every job exists
// and none already ended so that its condition can never hold.
func (m *Manager) checkDependencies(ctx context.Context, id string, deps []Dependency) ([]Dependency, error) {
	if len(deps) > 1000 {
		return nil, &ValidationError{Field: "depends_on", Message: "lists more than 1000 jobs"}
	}
	out := make([]Dependency, 0, len(deps))
	seen := map[string]bool{}
	for i, d := range deps {
		field := fmt.Sprintf("depends_on[%d]", i)
		d.Condition = strings.ToLower(strings.TrimSpace(d.Condition))
		switch d.Condition {
		case "":
			d.Condition = AfterOK
		case AfterOK, AfterAny, AfterNotOK:
		default:
			return nil, &ValidationError{Field: field + ".condition", Message: `must be "afterok", "afterany" or "afternotok"`}
		}
		switch {
		case !jobIDPattern.MatchString(d.JobID):
			return nil, &ValidationError{Field: field + ".job_id", Message: "must be a job id"}
		case d.JobID == id:
			return nil, &ValidationError{Field: field + ".job_id", Message: "a job cannot depend on itself"}
		case seen[d.JobID]:
			return nil, &ValidationError{Field: field + ".job_id", Message: fmt.Sprintf("job %s is listed twice", d.JobID)}
		}
		seen[d.JobID] = true
		job, err := m.store.JobGet(ctx, d.JobID)
		if err != nil {
			if isNotFound(err) {
				return nil, &ValidationError{Field: field + ".job_id", Message: fmt.Sprintf("no job %s", d.JobID)}
			}
			return nil, err
		}
		if job.Status.Terminal() && !d.holds(job.Status) {
			m.mu.Lock()
			_, again := m.active[d.JobID]
			m.mu.Unlock()
			if !again {
				return nil, &ValidationError{Field: field + ".job_id", Message: fmt.Sprintf("job %s already ended %s, so %s can never hold", d.JobID, job.Status, d.Condition)}
			}
		}
		out = append(out, d)
	}
	return out, nil
}
