package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// Engine errors that callers map to answers (404, 409).
var (
	// ErrConflict: the job's state does not allow the change asked for.
	// Errors that wrap it are *ConflictError, whose text is for the user.
	ErrConflict = errors.New("conflict")
)

// ConflictError says why a job's state does not allow a change.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

func conflictf(format string, args ...any) error {
	return &ConflictError{Message: fmt.Sprintf(format, args...)}
}

// Options configure a Manager.
type Options struct {
	// Store persists jobs. Required.
	Store Store
	// Runner runs jobs on this host. Required.
	Runner runner.Runner
	// Cluster, when set, receives every job instead (the server's scheduler
	// mode); queued jobs then hold no local slot.
	Cluster runner.Runner
	// Telemetry gates starts on CPU, memory and disk; nil checks only the
	// number of running jobs. A SampleSubscriber (host.Sampler) is also
	// followed: each sample becomes a resources_updated event.
	Telemetry Telemetry
	// Policy says which executables and paths submissions may use.
	Policy Policy
	// Limits start as these; the zero value means DefaultLimits.
	Limits Limits
	// DataDir holds per-job log files (DataDir/jobs/ID/ATTEMPT/). Required.
	DataDir string
	// EventHistory is how many events stay available for replay (default 4096).
	EventHistory int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// ProgressEvery is how often the logs of running jobs are read for
	// their solver's progress (job_progress events and Job.Progress);
	// zero means DefaultProgressEvery, negative turns it off.
	ProgressEvery time.Duration
	// RetryFirst and RetryMax pace the submissions of a cluster job while
	// its scheduler cannot be reached: the first retry after RetryFirst,
	// each next after twice the wait, at most RetryMax (zero: 5 s and
	// 1 min).
	RetryFirst, RetryMax time.Duration
	// Gates hold queued jobs back for reasons of their own (see Gate).
	Gates []Gate
	// Retention deletes old ended jobs and caps job logs (see Retention);
	// the zero value keeps everything.
	Retention Retention
	// Notify checks the notify field of submissions; nil refuses any.
	Notify NotifyChecker
}

// Manager accepts jobs, keeps them in order, starts them when the limits
// allow and follows them to their end, persisting every step before it is
// announced. All methods are safe for concurrent use.
type Manager struct {
	store     Store
	local     runner.Runner
	cluster   runner.Runner
	telemetry Telemetry
	policy    Policy
	dataDir   string
	bus       *Bus
	log       *slog.Logger
	now       func() time.Time
	// submitter hands jobs to the Cluster runner; nil without one.
	submitter *clusterSubmitter
	// retainer runs the retention passes (Options.Retention); it is a
	// component only when there is something to retain by.
	retainer *retainer
	// follower reads running jobs' logs for their progress; nil when
	// Options.ProgressEvery turned it off.
	follower *follower
	// gates: see Options.Gates. Fixed at New.
	gates []Gate
	// plans: sweeps, dependencies and retry waits (see depend.go); guarded by mu.
	plans *plans
	// notify: see Options.Notify.
	notify NotifyChecker
	// samples announces host samples; nil unless Options.Telemetry is a
	// SampleSubscriber.
	samples *telemetryFollower
	// folders makes job folders ahead of the starts that need them.
	folders *folders

	// DispatchLatency is the time from a job leaving the queue to its
	// process running (or its scheduler accepting it).
	DispatchLatency *Histogram
	// QueueWait is the time from submission to start.
	QueueWait *Histogram

	ctx        context.Context // lives until Close
	cancel     context.CancelFunc
	dispatcher *dispatcher
	wg         sync.WaitGroup

	mu       sync.Mutex
	limits   Limits
	queue    *queue
	active   map[string]*activeJob // every job of this process not yet terminal
	slots    slots                 // local job slots and the idle waiters
	blocked  string                // why the head of the queue waits, "" if it does not
	draining bool
	closed   bool
	waiters  map[string][]chan struct{}
	// limitOrigins says where each limit's value came from (settings.go).
	limitOrigins map[string]LimitOrigin
	// limitsMu orders SetLimits calls, so the store keeps the last one.
	limitsMu sync.Mutex
}

// activeJob is what the manager keeps in memory of a job not yet ended.
type activeJob struct {
	id         string
	attempt    int
	seq        int64
	priority   int
	user       string
	status     Status
	submitTime time.Time
	phase      phase // see jobstate.go
	cluster    bool  // handed to the Cluster runner (where it runs, not a state)
	cancel     cancelReason
	handle     runner.Handle
	// submitted, for a cluster job whose submission is under way, is
	// closed once submitCluster has recorded the outcome, and for a local
	// job being started once job_started is published: the runner's
	// updates for the job wait for it (see apply).
	submitted chan struct{}
	// spec is the runner spec checked at submission, for a start soon
	// after it (see specCacheTTL); nil otherwise. Taken by the goroutine
	// that starts the job.
	spec *runner.Spec
	// retry wakes a cluster job's submitter waiting to try again (the
	// scheduler was unreachable) when the job is cancelled.
	retry chan struct{}
	// kind and config are what the gates judge the job by.
	kind   Kind
	config json.RawMessage
	// waiting is why a gate holds the job, "" when none does.
	waiting string
	// gated: the gates admitted the job and have not been told it is done.
	gated bool
	// gateWait wakes a cluster job held by a gate (see Recheck).
	gateWait chan struct{}
}

// A job starting within specCacheTTL of its submission runs the spec its
// submission validated; specCacheMax bounds the specs held in memory.
const (
	specCacheTTL = 30 * time.Second
	specCacheMax = 1000
)

// New recovers the jobs the store holds (queued jobs queue again in their
// order; running ones are re-attached or ended with the reason) and starts
// dispatching. Close stops it.
func New(ctx context.Context, o Options) (*Manager, error) {
	if o.Store == nil || o.Runner == nil {
		return nil, errors.New("engine: Options.Store and Options.Runner are required")
	}
	if o.DataDir == "" {
		return nil, errors.New("engine: Options.DataDir is required")
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits()
	}
	if err := o.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("engine: limits: %w", err)
	}
	if o.EventHistory <= 0 {
		o.EventHistory = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryFirst <= 0 {
		o.RetryFirst = 5 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Minute
	}
	o.RetryMax = max(o.RetryMax, o.RetryFirst)
	if o.Policy.SchedulerType == "" {
		o.Policy.SchedulerType = "none"
		if o.Cluster != nil {
			o.Policy.SchedulerType = o.Cluster.Name()
		}
	}
	m := &Manager{
		store:           o.Store,
		local:           o.Runner,
		cluster:         o.Cluster,
		telemetry:       o.Telemetry,
		policy:          o.Policy,
		dataDir:         o.DataDir,
		bus:             NewBus(o.EventHistory),
		log:             o.Logger,
		now:             o.Now,
		DispatchLatency: NewHistogram(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
		QueueWait:       NewHistogram(0.005, 0.05, 0.5, 5, 30, 60, 300, 900, 3600, 4*3600, 24*3600),
		limits:          o.Limits,
		queue:           newQueue(),
		active:          make(map[string]*activeJob),
		waiters:         make(map[string][]chan struct{}),
		gates:           o.Gates,
		plans:           newPlans(),
		notify:          o.Notify,
	}
	// The plan gate comes first: a job waiting for a dependency says so,
	// whatever else would hold it.
	m.gates = append([]Gate{planGate{m}}, o.Gates...)
	m.bus.now = o.Now
	m.dispatcher = newDispatcher(dispatcherParams{next: m.next, run: m.startLocal})
	m.folders = newFolders(o.DataDir, o.Logger)
	m.retainer = newRetainer(retainParams{store: o.Store, dataDir: o.DataDir, retention: o.Retention, log: o.Logger, now: o.Now, running: m.runningDirs})
	if err := m.loadLimits(ctx); err != nil {
		return nil, fmt.Errorf("engine: limits: %w", err)
	}
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if m.cluster != nil {
		m.submitter = newClusterSubmitter(clusterParams{m: m, runner: m.cluster, retryFirst: o.RetryFirst, retryMax: o.RetryMax})
		m.submitter.start(&m.wg)
	}
	activePlans, err := m.store.PlanListActive(ctx)
	if err != nil {
		m.cancel()
		return nil, fmt.Errorf("engine: load plans of unfinished jobs: %w", err)
	}
	r, err := m.recover(ctx)
	if err != nil {
		m.cancel()
		return nil, err
	}
	settle := m.recoverPlans(activePlans)
	m.consume(m.local)
	if m.cluster != nil {
		m.consume(m.cluster)
	}
	if o.ProgressEvery >= 0 {
		m.follower = newFollower(m, o.ProgressEvery)
		m.follower.start(m.ctx, &m.wg)
	}
	m.resume(ctx, r)
	for id, deps := range settle {
		m.settleFromStore(m.ctx, id, deps)
	}
	if ss, ok := o.Telemetry.(SampleSubscriber); ok {
		m.samples = newTelemetryFollower(telemetryParams{
			source:  ss,
			publish: func(d ResourcesUpdatedData) { m.bus.PublishTransient(EventResourcesUpdated, d) },
			kick:    m.kick,
		})
		m.samples.start(&m.wg)
	}
	m.folders.start(&m.wg)
	m.dispatcher.start(&m.wg)
	if m.retainer.needed() {
		m.retainer.start(&m.wg)
	}
	m.kick()
	return m, nil
}

// Events is the manager's event stream.
func (m *Manager) Events() *Bus { return m.bus }

// SchedulerType is where jobs run: "none" (this host) or the scheduler's name.
func (m *Manager) SchedulerType() string { return m.policy.SchedulerType }

// Policy returns the policy submissions are checked against.
func (m *Manager) Policy() Policy { return m.policy }

// kick wakes the dispatcher; it never blocks.
func (m *Manager) kick() { m.dispatcher.kick() }

// TelemetryUpdated tells the manager a new host sample arrived: waiting jobs
// may fit now. The sampler calls it on every tick.
func (m *Manager) TelemetryUpdated() { m.kick() }

// SubmitRequest is one submission.
type SubmitRequest struct {
	// Config is an HFSSSimulationConfig object or a plain command object.
	Config json.RawMessage
	// Priority: higher first; negative low, 0 normal, positive high.
	Priority int
	// User is the authenticated submitter; "" takes the config's user field
	// (only when the server runs without authentication).
	User string
	// DependsOn lists jobs that must end (as each condition says) before
	// this one starts.
	DependsOn []Dependency
	// Retry queues a failed attempt again (see RetryPolicy).
	Retry *RetryPolicy

	// plan, sweepID and maxParallel: a retry's next attempt (see retry).
	plan        *jobPlan
	sweepID     string
	maxParallel int
	// Notify is the submission's "notify" object (webhook, events), checked
	// by Options.Notify and stored with the attempt; nil for none.
	Notify json.RawMessage
}

// SubmitResult says what became of a submission.
type SubmitResult struct {
	JobID   string
	Attempt int
	Status  Status
	// Duplicate is true when the job id was already active: nothing changed.
	Duplicate bool
	// Message is for the human: what happened, and what the server changed
	// (e.g. the solver it runs instead of the one asked for).
	Message string
}

// Submit validates and persists a job, then queues it (or hands it to the
// cluster scheduler). When Submit returns without error the job is durable.
// A job id that is already active returns Duplicate and changes nothing; a
// job id whose last attempt ended starts the next attempt.
func (m *Manager) Submit(ctx context.Context, req SubmitRequest) (SubmitResult, error) {
	user, err := submitUser(ctx, req.User)
	if err != nil {
		return SubmitResult{}, err
	}
	now := m.now().UTC()
	// A job that will start soon keeps the runner spec its submission
	// already validated, sparing its start a store read and a second
	// validation; a job that waits is checked again when it starts.
	m.mu.Lock()
	keepSpec := m.queue.Len() < specCacheMax
	m.mu.Unlock()
	p, err := m.policy.prepare(req.Config, user, now, keepSpec)
	if err != nil {
		return SubmitResult{}, err
	}
	if err := m.refuse(p); err != nil {
		return SubmitResult{}, err
	}
	if err := m.mayResubmit(ctx, p.id); err != nil {
		return SubmitResult{}, err
	}
	plan, sweepID, maxPar, err := m.planFor(ctx, req, p.id)
	if err != nil {
		return SubmitResult{}, err
	}
	notify, err := m.checkNotify(req.Notify)
	if err != nil {
		return SubmitResult{}, err
	}

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return SubmitResult{}, ErrClosed
	}
	if a, ok := m.active[p.id]; ok {
		res := SubmitResult{JobID: a.id, Attempt: a.attempt, Status: a.status, Duplicate: true}
		m.mu.Unlock()
		res.Message = fmt.Sprintf("Job %s already exists and is %s; nothing changed", res.JobID, res.Status)
		return res, nil
	}
	cluster := m.cluster != nil
	a := &activeJob{id: p.id, priority: req.Priority, user: p.user, status: StatusPending, submitTime: now, phase: phaseReserved, cluster: cluster, kind: p.kind, config: p.config}
	if keepSpec {
		a.spec = &p.spec
	}
	if cluster {
		a.submitted = make(chan struct{})
	}
	m.active[p.id] = a
	m.mu.Unlock()

	first := StatusQueued
	if cluster {
		first = StatusPending
	}
	job, err := m.store.JobInsert(ctx, JobInsertParams{
		ID: p.id, User: p.user, Priority: req.Priority, Status: first, Kind: p.kind,
		Config: p.config, SubmitTime: now, Message: "submitted", ProjectPath: p.project,
		Notify: notify,
		Actor:  actorOr(ctx, p.user),
		Plan:   plan.stored(p.id),
	})
	if err != nil {
		m.mu.Lock()
		delete(m.active, p.id)
		m.mu.Unlock()
		if errors.Is(err, ErrJobActive) {
			// Only possible if another process shares the store.
			return SubmitResult{JobID: job.ID, Attempt: job.Attempt, Status: job.Status, Duplicate: true,
				Message: fmt.Sprintf("Job %s already exists and is %s (attempt %d); nothing changed", job.ID, job.Status, job.Attempt)}, nil
		}
		return SubmitResult{}, fmt.Errorf("store job %s: %w", p.id, err)
	}

	m.mu.Lock()
	a.phase = phaseWaiting
	a.attempt = job.Attempt
	a.seq = job.Seq
	a.status = first
	unsettled := m.attachLocked(a, plan, sweepID, maxPar)
	pos := 0
	if !cluster {
		m.queue.push(a.id, a.priority, a.seq)
		pos = m.queue.arrival(a.id)
	}
	m.mu.Unlock()

	res := SubmitResult{JobID: p.id, Attempt: job.Attempt, Status: first}
	res.Message = fmt.Sprintf("Job %s submitted successfully", p.id)
	if job.Attempt > 1 {
		res.Message = fmt.Sprintf("Job %s submitted again as attempt %d", p.id, job.Attempt)
	}
	for _, n := range p.notes {
		res.Message += "; " + n
	}
	m.bus.Publish(EventJobQueued, JobQueuedData{JobID: p.id, Priority: req.Priority, QueuePosition: pos, User: p.user, Attempt: job.Attempt, Status: first})
	if len(unsettled) > 0 {
		deps := make([]Dependency, len(unsettled))
		for i, k := range unsettled {
			deps[i] = plan.deps[k]
		}
		m.settleFromStore(m.ctx, p.id, deps)
	}
	if cluster {
		m.submitter.submit(a.id, a.attempt)
	} else {
		m.kick()
	}
	return res, nil
}

// CancelResult says what a cancel did.
type CancelResult struct {
	// Cancelled is true when the job was stopped or its stop has begun.
	Cancelled bool
	Status    Status
	Message   string
}

// Cancel stops a job: a queued job ends at once; a running job gets SIGTERM
// then SIGKILL (or its scheduler's cancel) and ends as cancelled. by names
// who asked, for the record ("" takes the actor of ctx). A job that already ended is left alone
// (Cancelled false). An unknown id is ErrNotFound.
func (m *Manager) Cancel(ctx context.Context, id, by string) (CancelResult, error) {
	if err := m.mayChangeJob(ctx, id); err != nil {
		return CancelResult{}, err
	}
	if by == "" {
		by = actorOr(ctx, "")
	}
	m.mu.Lock()
	a, ok := m.active[id]
	if !ok || a.phase == phaseReserved {
		m.mu.Unlock()
		if ok {
			return CancelResult{}, conflictf("job %s is being submitted right now; try again", id)
		}
		job, err := m.store.JobGet(ctx, id)
		if err != nil {
			return CancelResult{}, err
		}
		return CancelResult{Status: job.Status, Message: fmt.Sprintf("Job %s already %s; nothing to cancel", id, job.Status)}, nil
	}
	if a.status == StatusQueued && (m.queue.remove(id) || m.plans.unpark(id)) {
		a.status = StatusCancelled
		prev := a.cancel
		a.cancel = cancelReason{kind: cancelAsked, by: by, message: prev.message}
		m.mu.Unlock()
		msg := a.cancelText("while queued")
		if err := m.end(ctx, a, StatusCancelled, nil, msg); err != nil {
			m.mu.Lock()
			// Not cancelled after all: it runs as if nobody had asked.
			a.cancel = prev
			a.status = StatusQueued
			m.queue.push(a.id, a.priority, a.seq)
			m.mu.Unlock()
			m.kick()
			return CancelResult{}, err
		}
		return CancelResult{Cancelled: true, Status: StatusCancelled, Message: fmt.Sprintf("Job %s cancelled", id)}, nil
	}
	if a.cancel.asked() {
		st := a.status
		m.mu.Unlock()
		return CancelResult{Cancelled: true, Status: st, Message: fmt.Sprintf("Job %s is already being cancelled", id)}, nil
	}
	a.cancel = cancelReason{kind: cancelAsked, by: by, message: a.cancel.message}
	started, ref, cluster, st := a.started(), a.ref(), a.cluster, a.status
	if a.retry != nil {
		select {
		case a.retry <- struct{}{}:
		default:
		}
	}
	m.mu.Unlock()
	if started {
		r := m.local
		if cluster {
			r = m.cluster
		}
		if err := r.Cancel(ctx, ref); err != nil && !errors.Is(err, runner.ErrUnknownJob) {
			return CancelResult{}, fmt.Errorf("cancel job %s: %w", id, err)
		}
	}
	// Not started yet: the starter sees the flag before and after it starts
	// the job, and cancels it then.
	return CancelResult{Cancelled: true, Status: st, Message: fmt.Sprintf("Cancellation of job %s initiated", id)}, nil
}

func cancelMessage(by, when string) string {
	if by == "" {
		return "cancelled " + when
	}
	return "cancelled by " + by + " " + when
}

func (a *activeJob) ref() runner.Ref {
	return runner.Ref{JobID: a.id, Attempt: a.attempt, Handle: a.handle}
}

// SetPriority changes the priority of a queued job (or one still pending at
// a scheduler submission), recorded with the actor of ctx. A running or ended job is ErrConflict: the old
// service re-queued finished jobs here and ran them again.
func (m *Manager) SetPriority(ctx context.Context, id string, priority int) error {
	if err := m.mayChangeJob(ctx, id); err != nil {
		return err
	}
	m.mu.Lock()
	a, ok := m.active[id]
	if !ok {
		m.mu.Unlock()
		job, err := m.store.JobGet(ctx, id)
		if err != nil {
			return err
		}
		return conflictf("job %s already %s; its priority can no longer change", id, job.Status)
	}
	if a.status != StatusQueued || a.phase == phaseReserved {
		st := a.status
		m.mu.Unlock()
		return conflictf("job %s is %s; only a queued job's priority can change", id, st)
	}
	old, attempt := a.priority, a.attempt
	m.mu.Unlock()

	// Recorded as a note in the timeline, with who re-prioritised the job.
	note := fmt.Sprintf("priority changed from %d to %d", old, priority)
	if err := m.store.JobUpdate(ctx, JobUpdateParams{ID: id, Attempt: attempt, FromStatus: StatusQueued, Priority: &priority, Time: m.now().UTC(), Message: note, Actor: actorOr(ctx, "")}); err != nil {
		if errors.Is(err, ErrStale) {
			return conflictf("job %s left the queue meanwhile; its priority can no longer change", id)
		}
		return fmt.Errorf("set priority of job %s: %w", id, err)
	}
	m.mu.Lock()
	a.priority = priority
	m.queue.setPriority(id, priority)
	m.plans.reprioritise(id, priority)
	pos := m.queue.position(id)
	m.mu.Unlock()
	m.bus.Publish(EventPriorityChanged, PriorityChangedData{JobID: id, OldPriority: old, NewPriority: priority, QueuePosition: pos})
	m.kick()
	return nil
}

// Limits returns the limits in force.
func (m *Manager) Limits() Limits {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.limits
}

// SetLimits changes limits at once: a raised limit starts waiting jobs
// immediately. A bad value is a *ValidationError and changes nothing.
//
// The values changed are kept in the store before they apply, and outlive
// restarts (they beat the start-up options; see LimitOrigins).
func (m *Manager) SetLimits(p LimitsPatch) (old, updated Limits, err error) {
	m.limitsMu.Lock()
	defer m.limitsMu.Unlock()
	m.mu.Lock()
	old = m.limits
	updated = old.apply(p)
	if err := updated.Validate(); err != nil {
		m.mu.Unlock()
		return old, old, err
	}
	origins, keep := m.keepLimitsLocked(old, updated, m.now())
	m.mu.Unlock()
	if err := m.persistLimits(keep); err != nil {
		return old, old, err
	}
	m.mu.Lock()
	m.limits, m.limitOrigins = updated, origins
	m.mu.Unlock()
	m.bus.Publish(EventLimitsUpdated, LimitsUpdatedData{OldLimits: old, NewLimits: updated})
	m.kick()
	return old, updated, nil
}

// QueueStats is a snapshot of the local queue.
type QueueStats struct {
	TotalQueued      int
	RegularQueueSize int         // priority <= 0
	PriorityQueues   map[int]int // priority > 0: jobs waiting per priority
	ByPriority       map[int]int // every priority
	Running          int
	MaxConcurrent    int
	Active           int    // jobs not yet ended, wherever they are
	BlockedBy        string // why the next job waits, "" when it does not
	Draining         bool
}

// QueueStats reports the queue.
func (m *Manager) QueueStats() QueueStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := QueueStats{
		TotalQueued:    m.queue.Len(),
		PriorityQueues: make(map[int]int),
		ByPriority:     m.queue.byPriority(),
		Running:        m.slots.running,
		MaxConcurrent:  m.limits.MaxConcurrentJobs,
		Active:         len(m.active),
		BlockedBy:      m.blocked,
		Draining:       m.draining,
	}
	m.plans.countParked(&s)
	for p, n := range s.ByPriority {
		if p > 0 {
			s.PriorityQueues[p] = n
		} else {
			s.RegularQueueSize += n
		}
	}
	if s.TotalQueued == 0 {
		s.BlockedBy = ""
	}
	// Cluster jobs hold no slot, but the API's running_jobs counts them too.
	for _, a := range m.active {
		if a.cluster && a.status == StatusRunning {
			s.Running++
		}
	}
	return s
}

// Job returns the latest attempt of a job.
func (m *Manager) Job(ctx context.Context, id string) (Job, error) {
	job, err := m.store.JobGet(ctx, id)
	if err != nil {
		return job, err
	}
	if job, err = m.withPlan(ctx, job); err != nil {
		return job, err
	}
	return m.withWaiting([]Job{job})[0], nil
}

// Jobs lists jobs (see JobListParams).
func (m *Manager) Jobs(ctx context.Context, p JobListParams) ([]Job, error) {
	jobs, err := m.store.JobList(ctx, p)
	if err != nil {
		return nil, err
	}
	return m.withWaiting(jobs), nil
}

// CountJobs counts what Jobs would list without paging.
func (m *Manager) CountJobs(ctx context.Context, p JobListParams) (int, error) {
	return m.store.JobCount(ctx, p)
}

// CountByStatus counts jobs per status.
func (m *Manager) CountByStatus(ctx context.Context) (map[Status]int, error) {
	return m.store.JobCountByStatus(ctx)
}

// Transitions returns a job's status history.
func (m *Manager) Transitions(ctx context.Context, id string) ([]Transition, error) {
	return m.store.TransitionList(ctx, id)
}

// Attempts returns every attempt of a job, oldest first.
func (m *Manager) Attempts(ctx context.Context, id string) ([]Job, error) {
	return m.store.AttemptList(ctx, id)
}

// LogPath is the file holding a job attempt's stdout or stderr. The id must
// be a valid job id: it becomes part of a path.
func (m *Manager) LogPath(id string, attempt int, stream string) (string, error) {
	if !jobIDPattern.MatchString(id) {
		return "", &ValidationError{Field: "id", Message: "is not a valid job id"}
	}
	if stream != "stdout" && stream != "stderr" {
		return "", &ValidationError{Field: "stream", Message: "must be stdout or stderr"}
	}
	if attempt < 1 {
		return "", &ValidationError{Field: "attempt", Message: "must be >= 1"}
	}
	return filepath.Join(m.jobDir(id, attempt), stream+".log"), nil
}

func (m *Manager) jobDir(id string, attempt int) string {
	return filepath.Join(m.dataDir, "jobs", id, fmt.Sprint(attempt))
}

// Wait blocks until the job's latest attempt has ended, and returns it.
func (m *Manager) Wait(ctx context.Context, id string) (Job, error) {
	for {
		m.mu.Lock()
		var ch chan struct{}
		if _, ok := m.active[id]; ok {
			ch = make(chan struct{})
			m.waiters[id] = append(m.waiters[id], ch)
		}
		m.mu.Unlock()
		if ch == nil {
			job, err := m.store.JobGet(ctx, id)
			if err != nil || job.Status.Terminal() {
				return job, err
			}
			// Active in the store but not here: another process runs it,
			// or it is between insert and queue. Look again shortly.
			select {
			case <-ctx.Done():
				return Job{}, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			m.dropWaiter(id, ch)
			return Job{}, ctx.Err()
		}
	}
}

func (m *Manager) dropWaiter(id string, ch chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := m.waiters[id]
	for i, w := range ws {
		if w == ch {
			m.waiters[id] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(m.waiters[id]) == 0 {
		delete(m.waiters, id)
	}
}

// Draining reports whether the manager stopped starting jobs.
func (m *Manager) Draining() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.draining
}

// Drain stops starting jobs (submissions are still accepted and persisted)
// and waits until no local job runs, or ctx ends. Jobs at a cluster
// scheduler keep running there and are tracked again after a restart.
func (m *Manager) Drain(ctx context.Context) error {
	if err := ActorOf(ctx).AdminOnly("draining the server"); err != nil {
		return err
	}
	m.mu.Lock()
	m.draining = true
	ch := m.slots.waitIdle()
	m.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the manager: local jobs still running are stopped (SIGTERM,
// then SIGKILL) and recorded as failed with the reason, queued jobs stay
// queued in the store, runners are closed. ctx bounds the wait for the
// stopped jobs to end.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.draining = true
	var stop []runner.Ref
	for _, a := range m.active {
		if !a.holdsSlot() {
			continue
		}
		// Jobs not started yet see the cancel in startLocal and go back to
		// the queue.
		a.cancel = cancelReason{kind: cancelShutdown, message: a.cancel.message}
		if a.started() {
			stop = append(stop, a.ref())
		}
	}
	ch := m.slots.waitIdle()
	m.mu.Unlock()
	for _, ref := range stop {
		if err := m.local.Cancel(ctx, ref); err != nil && !errors.Is(err, runner.ErrUnknownJob) {
			m.log.Error("stop job at shutdown", "job", ref.JobID, "err", err)
		}
	}
	var err error
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			err = fmt.Errorf("jobs still running at shutdown: %w", ctx.Err())
		}
	}
	m.cancel()
	for _, c := range m.components() {
		c.shutdown()
	}
	errs := []error{err, m.local.Close()}
	if m.cluster != nil {
		errs = append(errs, m.cluster.Close())
	}
	m.wg.Wait()
	return errors.Join(errs...)
}

// component is one of the manager's background parts: made by its newX,
// started on the manager's WaitGroup by New, stopped by Close.
type component interface{ shutdown() }

// components lists the manager's background parts in the order Close
// stops them, once no local job runs any more: the dispatcher first
// (nothing starts) and the spare folders' refill, then the cluster
// submitter (its retry and gate waits end; those jobs stay pending in the
// store), the host-sample follower, the progress follower and the
// retainer. The runners close after them, which ends the update
// consumers, and Close then waits for every goroutine.
func (m *Manager) components() []component {
	cs := []component{m.dispatcher, m.folders}
	if m.submitter != nil {
		cs = append(cs, m.submitter)
	}
	if m.samples != nil {
		cs = append(cs, m.samples)
	}
	if m.follower != nil {
		cs = append(cs, m.follower)
	}
	if m.retainer.needed() {
		cs = append(cs, m.retainer)
	}
	return cs
}

// ErrNoScheduler: the server runs jobs on this host only.
var ErrNoScheduler = errors.New("no cluster scheduler configured")

// Partitions describes the cluster's partitions or queues.
func (m *Manager) Partitions(ctx context.Context) ([]runner.Partition, error) {
	if m.cluster == nil {
		return nil, ErrNoScheduler
	}
	pl, ok := m.cluster.(runner.PartitionLister)
	if !ok {
		return nil, fmt.Errorf("%s runner cannot list partitions: %w", m.cluster.Name(), ErrNoScheduler)
	}
	return pl.Partitions(ctx)
}
