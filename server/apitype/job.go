package apitype

import (
	"encoding/json"
	"time"
)

// Status is a job's state.
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

// Job is one attempt of a job (GET /jobs/{id}, each row of GET /jobs).
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
	// Progress is the solver's compact state (a Progress), null before
	// the log says anything.
	Progress json.RawMessage `json:"progress"`
	// WaitingReason says why a job not yet started waits ("" when it does
	// not).
	WaitingReason string `json:"waiting_reason"`
	// QueuePosition is a queued job's place in the server's queue (1 starts
	// next), 0 when it is not queued there.
	QueuePosition int `json:"queue_position,omitempty"`
	// SweepID, DependsOn and Retry are the job's plan; GET /jobs/{id} has
	// them, listings leave them out.
	SweepID   string       `json:"sweep_id,omitempty"`
	DependsOn []Dependency `json:"depends_on,omitempty"`
	Retry     *RetryPolicy `json:"retry,omitempty"`
}

// Dependency conditions.
const (
	AfterOK    = "afterok"    // the other job completed
	AfterAny   = "afterany"   // the other job ended, however
	AfterNotOK = "afternotok" // the other job failed or was cancelled
)

// Dependency is a job another waits for.
type Dependency struct {
	JobID     string `json:"job_id"`
	Condition string `json:"condition"`
}

// Retry "on" values.
const (
	RetryOnAny     = "any"     // every failed attempt
	RetryOnLicense = "license" // attempts whose logs show a license checkout failure
)

// RetryPolicy queues a failed attempt again, up to MaxAttempts in all,
// after Backoff (a Go duration, doubling each time).
type RetryPolicy struct {
	MaxAttempts int    `json:"max_attempts"`
	Backoff     string `json:"backoff"`
	On          string `json:"on"`
	// FirstAttempt is the attempt the policy was submitted with.
	FirstAttempt int `json:"first_attempt,omitempty"`
	// NotBefore, on an attempt the policy queued again, is when it may
	// start; Reason says why the attempt before it failed.
	NotBefore *time.Time `json:"not_before,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// Transition is one status change of one attempt.
type Transition struct {
	JobID   string    `json:"job_id"`
	Attempt int       `json:"attempt"`
	Status  Status    `json:"status"`
	Time    time.Time `json:"time"`
	Message string    `json:"message,omitempty"`
	// Actor is who caused the change ("system" for the server itself).
	Actor string `json:"actor"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // given up
)

// Delivery is one notification owed or sent for a job or a sweep.
type Delivery struct {
	ID      string `json:"id"`
	JobID   string `json:"job_id,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	SweepID string `json:"sweep_id,omitempty"`
	// Event is what happened: started, completed, failed, cancelled,
	// sweep_ended.
	Event string `json:"event"`
	// Channel is webhook or email; Display is where it goes, as shown to
	// people (a webhook URL without its path).
	Channel     string     `json:"channel"`
	Display     string     `json:"to"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	Created     time.Time  `json:"created"`
	NextAttempt time.Time  `json:"next_attempt"`
	LastAttempt *time.Time `json:"last_attempt"`
	LastError   string     `json:"last_error"`
	LastCode    int        `json:"last_code"`
}

// JobHistory answers GET /jobs/{id}/history.
type JobHistory struct {
	Attempts    []Job        `json:"attempts"`
	Transitions []Transition `json:"transitions"`
	// Deliveries are the notifications owed or sent for the job.
	Deliveries []Delivery `json:"deliveries"`
}

// AuditEntry is one limits change or drain (GET /api/audit).
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	// Detail says what changed, for people: "max_concurrent_jobs 1 → 4".
	Detail string `json:"detail"`
}
