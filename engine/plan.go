package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/simjobs/simjobs/engine/expand"
)

// Dependency conditions (SLURM's names).
const (
	AfterOK    = "afterok"    // the other job completed
	AfterAny   = "afterany"   // the other job ended, however
	AfterNotOK = "afternotok" // the other job failed or was cancelled
)

// Dependency is one job another waits for.
type Dependency struct {
	JobID     string `json:"job_id"`
	Condition string `json:"condition"`
}

// holds says whether the condition holds for a dependency that ended as st.
func (d Dependency) holds(st Status) bool {
	switch d.Condition {
	case AfterOK:
		return st == StatusCompleted
	case AfterNotOK:
		return st == StatusFailed || st == StatusCancelled
	}
	return st.Terminal()
}

// Retry "on" values.
const (
	RetryOnAny     = "any"     // every failed attempt
	RetryOnLicense = "license" // attempts whose logs show a license checkout failure
)

// RetryPolicy queues a failed attempt again, up to MaxAttempts in all,
// after Backoff (doubling each time).
type RetryPolicy struct {
	MaxAttempts int    `json:"max_attempts"`
	Backoff     string `json:"backoff"`
	On          string `json:"on"`
	// FirstAttempt is the attempt the policy was submitted with: the
	// attempts it allows count from there.
	FirstAttempt int `json:"first_attempt,omitempty"`
	// NotBefore, on an attempt the policy queued again, is when it may
	// start; Reason says why the attempt before it failed.
	NotBefore *time.Time `json:"not_before,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// maxRetryAttempts and maxBackoff bound a retry policy.
const (
	maxRetryAttempts = 100
	maxBackoff       = 24 * time.Hour
)

// backoff parses Backoff; "" is no wait.
func (r *RetryPolicy) backoff() time.Duration {
	d, _ := time.ParseDuration(r.Backoff)
	return d
}

func (r *RetryPolicy) validate() error {
	if r.MaxAttempts < 1 || r.MaxAttempts > maxRetryAttempts {
		return &ValidationError{Field: "retry.max_attempts", Message: fmt.Sprintf("must be from 1 to %d", maxRetryAttempts)}
	}
	if r.Backoff != "" {
		d, err := time.ParseDuration(r.Backoff)
		if err != nil || d < 0 || d > maxBackoff {
			return &ValidationError{Field: "retry.backoff", Message: `must be a duration such as "30s" or "5m", at most 24h`}
		}
	}
	switch r.On {
	case "":
		r.On = RetryOnAny
	case RetryOnAny, RetryOnLicense:
	default:
		return &ValidationError{Field: "retry.on", Message: `must be "license" or "any"`}
	}
	return nil
}

// JobPlan is what a job carries besides its configuration: the sweep it
// belongs to, the jobs it waits for, its retry policy.
type JobPlan struct {
	JobID      string `json:"-"`
	SweepID    string `json:"sweep_id,omitempty"`
	SweepIndex int    `json:"sweep_index,omitempty"`
	// MaxParallel is the sweep's cap (read only; the store joins it in).
	MaxParallel int          `json:"-"`
	DependsOn   []Dependency `json:"depends_on,omitempty"`
	Retry       *RetryPolicy `json:"retry,omitempty"`
}

// Sweep is one submission of many variations of one job.
type Sweep struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	User        string         `json:"user"`
	Total       int            `json:"total"`
	Counts      map[Status]int `json:"counts"`
	Parameters  expand.Params  `json:"parameters"`
	Mode        string         `json:"mode"`
	MaxParallel int            `json:"max_parallel"`
	Priority    int            `json:"priority"`
	SubmitTime  time.Time      `json:"submit_time"`
	EndTime     *time.Time     `json:"end_time"`
	JobIDs      []string       `json:"job_ids"`
	// Notify is the sweep's notify object, as submitted; nil for none.
	// Not on the wire: a webhook URL's path is a secret (Slack, Teams).
	Notify json.RawMessage `json:"-"`
}

// SweepInsertParams is a sweep to persist with all its jobs, in one
// transaction: all of them or none.
type SweepInsertParams struct {
	ID          string
	Name        string
	User        string
	Mode        string
	MaxParallel int
	Priority    int
	Parameters  expand.Params
	SubmitTime  time.Time
	// Notify is the sweep's checked notify object, stored with it.
	Notify json.RawMessage
	// Jobs are the sweep's jobs in index order; each must be a new job id.
	Jobs []JobInsertParams
}

// SweepListParams filters and pages SweepList.
type SweepListParams struct {
	User   string
	Limit  int
	Offset int
}
