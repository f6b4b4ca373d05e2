// Package engine is the simjobs domain: jobs and their life cycle, the
// priority queue, the resource gate, the dispatcher and the event stream.
// It knows nothing of HTTP; the server and the CLI are clients of Manager.
package engine

import (
	"encoding/json"
	"time"
)

// Status is a job's state as the wire shows it.
type Status string

// The job states of the product contract.
const (
	StatusPending   Status = "pending"   // accepted, being queued (or handed to a scheduler)
	StatusQueued    Status = "queued"    // waiting for a local slot
	StatusScheduled Status = "scheduled" // handed to an external scheduler, waiting there
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed" // exit 0
	StatusFailed    Status = "failed"    // non-zero exit, error, or lost
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status in life-cycle order.
var Statuses = []Status{StatusPending, StatusQueued, StatusScheduled, StatusRunning, StatusCompleted, StatusFailed, StatusCancelled}

// Terminal reports whether no further transition can happen.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Job is one attempt of a job as stored and as shown on the wire.
// The fields after Progress are internal bookkeeping, not part of the JSON.
type Job struct {
	ID             string          `json:"id"`
	User           string          `json:"user"`
	Priority       int             `json:"priority"`
	Status         Status          `json:"status"`
	Config         json.RawMessage `json:"config"`
	SubmitTime     time.Time       `json:"submit_time"`
	StartTime      *time.Time      `json:"start_time"`
	EndTime        *time.Time      `json:"end_time"`
	ReturnCode     *int            `json:"return_code"`
	SchedulerJobID *string         `json:"scheduler_job_id"`
	Error          string          `json:"error"`
	Attempt        int             `json:"attempt"`
	Progress       json.RawMessage `json:"progress"`
	// WaitingReason says why a job not yet started waits ("" when it does
	// not): a gate's reason (a dependency, a license) or what holds the
	// queue. It is not stored: the Manager fills it in from memory.
	WaitingReason string `json:"waiting_reason"`
	// QueuePosition is a queued job's place in this host's queue (1 starts
	// next), 0 when it is not queued here. Filled in from memory, like
	// WaitingReason.
	QueuePosition int `json:"queue_position,omitempty"`
	// SweepID, DependsOn and Retry are the job's plan: the sweep it is one
	// variation of, the jobs it waits for, its retry policy. Manager.Job
	// fills them in; listings leave them out.
	SweepID   string       `json:"sweep_id,omitempty"`
	DependsOn []Dependency `json:"depends_on,omitempty"`
	Retry     *RetryPolicy `json:"retry,omitempty"`

	// Seq orders jobs by submission: it is assigned by the store when an
	// attempt is inserted and only grows, so equal priorities run FIFO.
	Seq int64 `json:"-"`
	// ListSeq is the job's place in listings: the Seq of its first attempt,
	// so a job keeps its place across attempts. JobList sets it; it is the
	// cursor for JobListParams.AfterSeq and BeforeSeq.
	ListSeq int64 `json:"-"`
	// Kind says what Config holds: KindHFSS or KindCommand.
	Kind Kind `json:"-"`
	// Process identifies a local run so a restarted server can find it.
	Process *ProcessRef `json:"-"`
}

// Kind is what a job runs.
type Kind string

// The kinds of job.
const (
	KindHFSS    Kind = "hfss"    // an HFSS batch solve built from an HFSSSimulationConfig
	KindCommand Kind = "command" // a plain argv: SIwave, scripts, post-processing
)

// ProcessRef identifies a local process across a server restart: the pid
// alone could have been reused, the start time (in clock ticks since boot on
// Linux, 0 where unknown) pins it to one process.
type ProcessRef struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

// Transition is one status change of one attempt, for the timeline.
type Transition struct {
	JobID   string    `json:"job_id"`
	Attempt int       `json:"attempt"`
	Status  Status    `json:"status"`
	Time    time.Time `json:"time"`
	Message string    `json:"message,omitempty"`
	// Actor is who caused the change: the user who submitted, cancelled or
	// re-prioritised, or SystemActor for what the server did by itself.
	// Transitions recorded before actors were kept have "".
	Actor string `json:"actor"`
}
