package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Store errors. Implementations wrap them so callers can use errors.Is.
var (
	// ErrNotFound: no job with that id.
	ErrNotFound = errors.New("job not found")
	// ErrJobActive: JobInsert found the id pending, queued, scheduled or running.
	ErrJobActive = errors.New("job is active")
	// ErrStale: an update named an attempt or a from-status that is no longer current.
	ErrStale = errors.New("job changed meanwhile")
)

// Store persists jobs, their attempts and their status transitions.
// Every method is safe for concurrent use. A method that returns nil has
// committed its change durably.
type Store interface {
	// JobInsert stores a new job (attempt 1), or a new attempt of a job whose
	// latest attempt is terminal (the earlier attempt stays readable through
	// AttemptList). It returns the stored job with Attempt and Seq set.
	// If the job's latest attempt is not terminal it returns that attempt and
	// an error wrapping ErrJobActive, changing nothing.
	JobInsert(ctx context.Context, p JobInsertParams) (Job, error)
	// JobGet returns the latest attempt of a job, or ErrNotFound.
	JobGet(ctx context.Context, id string) (Job, error)
	// JobList returns latest attempts in submission order (by Seq of the
	// first attempt; see JobListParams).
	JobList(ctx context.Context, p JobListParams) ([]Job, error)
	// JobCount counts the jobs JobList would return without limit and offset.
	JobCount(ctx context.Context, p JobListParams) (int, error)
	// JobCountByStatus counts latest attempts per status. It must stay cheap
	// with millions of jobs: it is called on every dashboard render.
	JobCountByStatus(ctx context.Context) (map[Status]int, error)
	// JobListActive returns every job whose latest attempt is not terminal,
	// ordered by Seq, for recovery at start-up.
	JobListActive(ctx context.Context) ([]Job, error)
	// JobUpdate changes one attempt. When p.Status is set it also records a
	// Transition. It fails with ErrStale if p.Attempt is not the latest
	// attempt, or if p.FromStatus is set and differs from the stored status;
	// with ErrNotFound if there is no such job.
	JobUpdate(ctx context.Context, p JobUpdateParams) error
	// TransitionList returns every status change of every attempt of a job,
	// oldest first.
	TransitionList(ctx context.Context, id string) ([]Transition, error)
	// AttemptList returns every attempt of a job, oldest first (the latest
	// last, equal to JobGet).
	AttemptList(ctx context.Context, id string) ([]Job, error)
	// AuditInsert appends an entry to the audit trail (changes that are not
	// about one job: limits, drains).
	AuditInsert(ctx context.Context, p AuditInsertParams) error
	// AuditList returns audit entries, newest first (see AuditListParams).
	AuditList(ctx context.Context, p AuditListParams) ([]AuditEntry, error)

	// SweepInsert stores a sweep and every one of its jobs in one
	// transaction. If any job id is taken, or the sweep id is, nothing is
	// stored and the error wraps ErrJobActive.
	SweepInsert(ctx context.Context, p SweepInsertParams) ([]Job, error)
	// SweepGet returns a sweep with its counts and job ids, or ErrNotFound.
	SweepGet(ctx context.Context, id string) (Sweep, error)
	// SweepList returns sweeps newest first, with counts but no job ids.
	SweepList(ctx context.Context, p SweepListParams) ([]Sweep, error)
	// SweepCount counts what SweepList would return without paging.
	SweepCount(ctx context.Context, p SweepListParams) (int, error)
	// SweepJobs returns the latest attempts of a sweep's jobs in index order.
	SweepJobs(ctx context.Context, id string) ([]Job, error)
	// PlanGet returns a job's plan (its sweep, dependencies and retry
	// policy); a job without one has the zero plan. Unknown ids too.
	PlanGet(ctx context.Context, jobID string) (JobPlan, error)
	// PlanListActive returns the plans of the jobs whose latest attempt is
	// not terminal, for recovery at start-up.
	PlanListActive(ctx context.Context) ([]JobPlan, error)

	// Close flushes and closes the store.
	Close() error
}

// JobInsertParams is a submission to persist.
type JobInsertParams struct {
	ID         string
	User       string
	Priority   int
	Status     Status // the first status: queued (local) or pending (scheduler)
	Kind       Kind
	Config     json.RawMessage
	SubmitTime time.Time
	Message    string // recorded with the first transition
	// Actor is who submitted, recorded with the first transition; "" is
	// SystemActor.
	Actor string
	// ProjectPath is what searches match besides the id and the user; when
	// empty the store reads config.project_path itself.
	ProjectPath string
	// Plan, when set, is stored with the attempt (dependencies, retry
	// policy; a sweep's membership is stored by SweepInsert). A new attempt
	// without one drops the previous attempt's.
	Plan *JobPlan
	// Notify, when set, is the attempt's notify spec (a JSON object), kept
	// for stores that implement Outbox (NotifySpecGet).
	Notify json.RawMessage
}

// JobListParams filters and pages JobList and JobCount.
type JobListParams struct {
	Statuses []Status // any of these; empty = all
	User     string   // exact; empty = all
	// Search matches a substring of the id, the user or the project path.
	Search string
	Limit  int // 0 = no limit
	Offset int
	// AfterSeq and BeforeSeq page by position without an offset scan
	// (keyset pagination): only jobs with Seq > AfterSeq / Seq < BeforeSeq.
	AfterSeq  int64
	BeforeSeq int64
	// Descending lists newest first.
	Descending bool
}

// JobUpdateParams changes the latest attempt of a job. Nil fields are left
// as they are.
type JobUpdateParams struct {
	ID         string
	Attempt    int
	FromStatus Status // optional guard
	Status     Status // optional new status; recorded as a Transition
	// Message is the transition's message; with no new Status it is
	// recorded alone, as a Transition in the status the job keeps (a note
	// in its timeline: a priority change).
	Message string
	// Actor is who caused the transition; "" is SystemActor.
	Actor string
	Time  time.Time

	Priority       *int
	StartTime      *time.Time
	EndTime        *time.Time
	ReturnCode     *int
	Error          *string
	SchedulerJobID *string
	Process        *ProcessRef
	Progress       json.RawMessage

	// NoSync lets the change commit without waiting for the disk: it
	// survives a crash of the process but may be lost if the machine
	// crashes. The engine uses it for what such a crash makes moot: that a
	// job runs here, and its pid (the process died with the machine).
	NoSync bool
}

// Pruner is implemented by stores that can delete old jobs (retention).
type Pruner interface {
	// JobPrune deletes up to Limit jobs whose latest attempt ended before
	// EndedBefore, with all their attempts and transitions, and returns
	// their ids. Jobs that are not ended are never deleted.
	JobPrune(ctx context.Context, p JobPruneParams) ([]string, error)
}

// JobPruneParams select the jobs JobPrune deletes.
type JobPruneParams struct {
	EndedBefore time.Time
	Limit       int
}
