package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/engine/hfss"
)

// SweepRequest is one submission of many variations of one job.
type SweepRequest struct {
	Name string
	// Template is {"config": {...HFSS config...}} or a plain command object
	// {"command": [...], "working_directory": ...}; ${VAR} in any of its
	// strings is replaced by the variation's value of VAR.
	Template    json.RawMessage
	Parameters  expand.Params
	Mode        string
	MaxParallel int
	Priority    int
	// User: see SubmitRequest.User.
	User string
	// Retry, when set, is every job's retry policy.
	Retry *RetryPolicy
	// DependsOn, when set, is every job's dependencies: the whole sweep
	// waits for them.
	DependsOn []Dependency
	// Notify is the sweep's own "notify" object: one notification when
	// the whole sweep ends (checked like a job's, by Options.Notify).
	Notify json.RawMessage
}

// SweepResult says what a sweep submission made.
type SweepResult struct {
	SweepID string
	JobIDs  []string
	Status  Status
}

// maxSweepName bounds a sweep's name.
const maxSweepName = 200

// sweepPrefix starts every sweep id; a job id with it may be a sweep's job.
const sweepPrefix = "SWEEP_"

// SubmitSweep expands a sweep into its jobs, validates every one as a
// normal submission, and stores them all in one transaction: all of them
// are accepted or none is. A bad value in one variation refuses the sweep,
// naming the variation.
func (m *Manager) SubmitSweep(ctx context.Context, req SweepRequest) (SweepResult, error) {
	user, err := submitUser(ctx, req.User)
	if err != nil {
		return SweepResult{}, err
	}
	req.User = user
	now := m.now().UTC()
	if len(req.Name) > maxSweepName || strings.ContainsFunc(req.Name, unicode.IsControl) {
		return SweepResult{}, &ValidationError{Field: "name", Message: fmt.Sprintf("must be at most %d characters, without control characters", maxSweepName)}
	}
	if req.MaxParallel < 0 {
		return SweepResult{}, &ValidationError{Field: "max_parallel", Message: "must be >= 0 (0: no cap)"}
	}
	mode := req.Mode
	if mode == "" {
		mode = expand.ModeProduct
	}
	vars, err := expand.Combine(req.Parameters, mode)
	if err != nil {
		return SweepResult{}, expandError(err)
	}
	body, err := sweepTemplate(req.Template)
	if err != nil {
		return SweepResult{}, err
	}
	tpl, err := expand.Compile(body, req.Parameters)
	if err != nil {
		return SweepResult{}, expandError(err)
	}
	var retry *RetryPolicy
	if req.Retry != nil {
		r := *req.Retry
		r.FirstAttempt, r.NotBefore, r.Reason = 0, nil, ""
		if err := r.validate(); err != nil {
			return SweepResult{}, err
		}
		retry = &r
	}
	notifySpec, err := m.checkNotify(req.Notify)
	if err != nil {
		return SweepResult{}, err
	}
	var deps []Dependency
	if len(req.DependsOn) > 0 {
		if deps, err = m.checkDependencies(ctx, "", req.DependsOn); err != nil {
			return SweepResult{}, err
		}
	}
	id := sweepPrefix + strings.TrimPrefix(hfss.NewJobID(now, rand.Reader), "JOB_")
	if req.Name == "" {
		req.Name = id
	}
	cluster := m.cluster != nil
	first := StatusQueued
	if cluster {
		first = StatusPending
	}
	ins := SweepInsertParams{ID: id, Name: req.Name, Mode: mode, MaxParallel: req.MaxParallel,
		Priority: req.Priority, Parameters: req.Parameters, SubmitTime: now, Notify: notifySpec, Jobs: make([]JobInsertParams, len(vars))}
	preps, err := m.prepareVariations(tpl, id, req, vars, now)
	if err != nil {
		return SweepResult{}, err
	}
	for i, p := range preps {
		if ins.User == "" {
			ins.User = p.user
		}
		var plan *JobPlan
		if retry != nil || len(deps) > 0 {
			plan = &JobPlan{JobID: p.id, Retry: retry, DependsOn: deps}
		}
		ins.Jobs[i] = JobInsertParams{ID: p.id, User: p.user, Priority: req.Priority, Status: first, Kind: p.kind,
			Config: p.config, SubmitTime: now, Message: "submitted with sweep " + id, ProjectPath: p.project, Plan: plan,
			Actor: actorOr(ctx, p.user)}
	}

	// The jobs are reserved while they are stored, as Submit reserves one.
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return SweepResult{}, ErrClosed
	}
	actives := make([]*activeJob, len(preps))
	for i, p := range preps {
		if _, ok := m.active[p.id]; ok {
			for _, a := range actives[:i] {
				delete(m.active, a.id)
			}
			m.mu.Unlock()
			return SweepResult{}, conflictf("job %s is already active", p.id)
		}
		a := &activeJob{id: p.id, priority: req.Priority, user: p.user, status: StatusPending, submitTime: now, phase: phaseReserved, cluster: cluster, kind: p.kind, config: p.config}
		if cluster {
			a.submitted = make(chan struct{})
		}
		actives[i] = a
		m.active[p.id] = a
	}
	m.mu.Unlock()

	jobs, err := m.store.SweepInsert(ctx, ins)
	if err != nil {
		m.mu.Lock()
		for _, a := range actives {
			delete(m.active, a.id)
		}
		m.mu.Unlock()
		if errors.Is(err, ErrJobActive) {
			return SweepResult{}, conflictf("sweep %s: a job id is taken; nothing was submitted", id)
		}
		return SweepResult{}, fmt.Errorf("store sweep %s: %w", id, err)
	}

	res := SweepResult{SweepID: id, JobIDs: make([]string, len(jobs)), Status: first}
	positions := make([]int, len(jobs))
	unsettled := map[string][]Dependency{}
	m.mu.Lock()
	for i, a := range actives {
		a.phase = phaseWaiting
		a.attempt = jobs[i].Attempt
		a.seq = jobs[i].Seq
		a.status = first
		var r *RetryPolicy
		if retry != nil {
			c := *retry
			r = &c
		}
		jp := &jobPlan{index: i, retry: r, deps: deps}
		for _, k := range m.attachLocked(a, jp, id, req.MaxParallel) {
			unsettled[a.id] = append(unsettled[a.id], deps[k])
		}
		if !cluster {
			m.queue.push(a.id, a.priority, a.seq)
			positions[i] = m.queue.Len()
		}
		res.JobIDs[i] = a.id
	}
	m.mu.Unlock()
	for jobID, ds := range unsettled {
		m.settleFromStore(m.ctx, jobID, ds)
	}
	for i, a := range actives {
		m.bus.Publish(EventJobQueued, JobQueuedData{JobID: a.id, Priority: req.Priority, QueuePosition: positions[i], User: a.user, Attempt: a.attempt, Status: first})
	}
	if cluster {
		for _, a := range actives {
			m.submitter.submit(a.id, a.attempt)
		}
	} else {
		m.kick()
	}
	return res, nil
}

// prepareVariations expands and validates every variation, on every core:
// validation (decoding, normalising, checking paths) is most of a big
// sweep's time outside the store. The first bad variation (by index) is
// the one reported.
func (m *Manager) prepareVariations(tpl *expand.Template, id string, req SweepRequest, vars []expand.Variation, now time.Time) ([]prepared, error) {
	preps := make([]prepared, len(vars))
	errs := make([]error, len(vars))
	workers := min(runtime.GOMAXPROCS(0), (len(vars)+255)/256)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(vars); i += workers {
				jobID := fmt.Sprintf("%s_%d", id, i)
				raw, err := tpl.Apply(vars[i], map[string]any{"jobid": jobID})
				if err != nil {
					errs[i] = fmt.Errorf("expand variation %d: %w", i, err)
					continue
				}
				p, err := m.policy.prepare(raw, req.User, now, false)
				if err == nil {
					// A job no gate could ever admit (more license seats
					// than exist) refuses the sweep, as it would a job.
					err = m.refuse(p)
				}
				if err != nil {
					errs[i] = variationError(err, i, req.Parameters, vars[i])
					continue
				}
				preps[i] = p
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return preps, nil
}

// sweepTemplate picks the job template out of a sweep's template: the
// HFSS config under "config", or the plain command object itself.
func sweepTemplate(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	var obj map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, &ValidationError{Field: "template", Message: `must be an object: {"config": {...}} or {"command": [...], "working_directory": ...}`}
	}
	if c, ok := obj["config"]; ok {
		c = bytes.TrimSpace(c)
		if len(c) == 0 || c[0] != '{' {
			return nil, &ValidationError{Field: "template.config", Message: "must be a JSON object"}
		}
		return c, nil
	}
	if _, ok := obj["command"]; ok {
		return raw, nil
	}
	return nil, &ValidationError{Field: "template", Message: `must hold "config" (an HFSS configuration) or "command" (an argv)`}
}

func expandError(err error) error {
	var e *expand.Error
	if errors.As(err, &e) {
		return &ValidationError{Field: e.Field, Message: e.Message}
	}
	return err
}

// variationError names the variation a validation error is about.
func variationError(err error, i int, ps expand.Params, v expand.Variation) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var b strings.Builder
	for k, p := range ps {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s", p.Name, v[k])
	}
	return &ValidationError{Field: "template." + ve.Field, Message: fmt.Sprintf("%s (variation %d: %s); nothing was submitted", ve.Message, i, b.String())}
}

// Sweep returns a sweep with its counts and job ids.
func (m *Manager) Sweep(ctx context.Context, id string) (Sweep, error) {
	return m.store.SweepGet(ctx, id)
}

// Sweeps lists sweeps, newest first.
func (m *Manager) Sweeps(ctx context.Context, p SweepListParams) ([]Sweep, error) {
	return m.store.SweepList(ctx, p)
}

// CountSweeps counts what Sweeps would list without paging.
func (m *Manager) CountSweeps(ctx context.Context, p SweepListParams) (int, error) {
	return m.store.SweepCount(ctx, p)
}

// SweepJobs returns a sweep's jobs in variation order, with their waiting
// reasons.
func (m *Manager) SweepJobs(ctx context.Context, id string) ([]Job, error) {
	if _, err := m.store.SweepGet(ctx, id); err != nil {
		return nil, err
	}
	jobs, err := m.store.SweepJobs(ctx, id)
	if err != nil {
		return nil, err
	}
	return m.withWaiting(jobs), nil
}

// CancelSweep cancels every job of a sweep not yet ended and reports how
// many it stopped. The sweep's cap first stops admitting any of them, so a
// queued job cannot start in the place a cancelled one frees.
func (m *Manager) CancelSweep(ctx context.Context, id, by string) (int, error) {
	if err := m.mayChangeSweep(ctx, id); err != nil {
		return 0, err
	}
	sw, err := m.store.SweepGet(ctx, id)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	if s := m.plans.sweeps[id]; s != nil {
		s.cancelled = true
	}
	var ids []string
	for _, j := range sw.JobIDs {
		if a, ok := m.active[j]; ok && !a.cancel.asked() {
			ids = append(ids, j)
		}
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if s := m.plans.sweeps[id]; s != nil {
			s.cancelled = false
			m.unparkLocked(s)
		}
		m.mu.Unlock()
		m.kick()
	}()
	// Several at once: each cancel is one store write, and concurrent
	// writes share a commit.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		n    int
		errs []error
		next = make(chan string)
	)
	for range min(8, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				r, err := m.Cancel(ctx, j, by)
				mu.Lock()
				if err != nil && !isNotFound(err) {
					errs = append(errs, err)
				} else if r.Cancelled {
					n++
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range ids {
		next <- j
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return n, fmt.Errorf("cancel sweep %s: %d of %d jobs: %w", id, len(errs), len(ids), errs[0])
	}
	return n, nil
}

// ResubmitSweep submits again every job of a sweep whose last attempt
// failed or was cancelled (each as its next attempt, under the sweep's
// cap), and returns their ids.
func (m *Manager) ResubmitSweep(ctx context.Context, id, user string) ([]string, error) {
	if err := m.mayChangeSweep(ctx, id); err != nil {
		return nil, err
	}
	jobs, err := m.SweepJobs(ctx, id)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, j := range jobs {
		if j.Status != StatusFailed && j.Status != StatusCancelled {
			continue
		}
		// The sweep's retry policy goes with the new attempt; its
		// dependencies do not (they held, or the job is run anyway).
		sp, err := m.store.PlanGet(ctx, j.ID)
		if err != nil {
			return ids, err
		}
		if _, err := m.Submit(ctx, SubmitRequest{Config: j.Config, Priority: j.Priority, User: user, Retry: sp.Retry}); err != nil {
			return ids, fmt.Errorf("resubmit %s: %w", j.ID, err)
		}
		ids = append(ids, j.ID)
	}
	return ids, nil
}

// planFor builds the plan of a submission: its dependencies and retry
// policy as asked, and its sweep when the job is one of a sweep's.
func (m *Manager) planFor(ctx context.Context, req SubmitRequest, id string) (p *jobPlan, sweepID string, maxPar int, err error) {
	if req.plan != nil {
		return req.plan, req.sweepID, req.maxParallel, nil
	}
	p = &jobPlan{}
	if len(req.DependsOn) > 0 {
		if p.deps, err = m.checkDependencies(ctx, id, req.DependsOn); err != nil {
			return nil, "", 0, err
		}
	}
	if req.Retry != nil {
		r := *req.Retry
		r.FirstAttempt, r.NotBefore, r.Reason = 0, nil, ""
		if err := r.validate(); err != nil {
			return nil, "", 0, err
		}
		p.retry = &r
	}
	if strings.HasPrefix(id, sweepPrefix) {
		sp, err := m.store.PlanGet(ctx, id)
		if err != nil {
			return nil, "", 0, err
		}
		sweepID, maxPar, p.index = sp.SweepID, sp.MaxParallel, sp.SweepIndex
	}
	if sweepID == "" && len(p.deps) == 0 && p.retry == nil {
		return nil, "", 0, nil
	}
	return p, sweepID, maxPar, nil
}

// withPlan fills in a job's plan for GET /jobs/{id}.
func (m *Manager) withPlan(ctx context.Context, job Job) (Job, error) {
	p, err := m.store.PlanGet(ctx, job.ID)
	if err != nil {
		return job, err
	}
	job.SweepID, job.DependsOn, job.Retry = p.SweepID, p.DependsOn, p.Retry
	return job, nil
}

// Plan returns a job's plan: its sweep, dependencies and retry policy.
func (m *Manager) Plan(ctx context.Context, id string) (JobPlan, error) {
	return m.store.PlanGet(ctx, id)
}

// recoverPlans gives the jobs recover found their plans back: sweep slots
// count their running jobs again, dependencies wait again (or are settled
// from the store, once the manager runs).
func (m *Manager) recoverPlans(list []JobPlan) map[string][]Dependency {
	settle := map[string][]Dependency{}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sp := range list {
		a, ok := m.active[sp.JobID]
		if !ok {
			continue
		}
		p := &jobPlan{index: sp.SweepIndex, deps: sp.DependsOn, retry: sp.Retry}
		for _, i := range m.attachLocked(a, p, sp.SweepID, sp.MaxParallel) {
			settle[a.id] = append(settle[a.id], p.deps[i])
		}
		if a.gated && p.sweep != nil {
			p.sweep.running++
		}
	}
	return settle
}
