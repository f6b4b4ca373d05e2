package engine

import (
	"time"

	"github.com/simjobs/simjobs/engine/solverlog"
)

// The data of each event, as clients receive it inside the envelope.

// JobQueuedData is sent when a job is accepted.
type JobQueuedData struct {
	JobID         string `json:"job_id"`
	Priority      int    `json:"priority"`
	QueuePosition int    `json:"queue_position"`
	User          string `json:"user"`
	Attempt       int    `json:"attempt"`
	Status        Status `json:"status"`
}

// JobStartedData is sent when a job's process runs (or its scheduler runs it).
type JobStartedData struct {
	JobID     string    `json:"job_id"`
	StartTime time.Time `json:"start_time"`
	Attempt   int       `json:"attempt"`
	PID       int       `json:"pid,omitempty"`
}

// JobScheduledData is sent when a scheduler accepted a job.
type JobScheduledData struct {
	JobID          string `json:"job_id"`
	SchedulerJobID string `json:"scheduler_job_id"`
	Attempt        int    `json:"attempt"`
}

// JobEndedData is sent with job_completed for every job that ends (Status
// says how, as the PyEDB service did), and also with job_failed or
// job_cancelled when it did not complete.
type JobEndedData struct {
	JobID      string    `json:"job_id"`
	Status     Status    `json:"status"`
	EndTime    time.Time `json:"end_time"`
	ReturnCode *int      `json:"return_code"`
	Error      string    `json:"error"`
	Attempt    int       `json:"attempt"`
}

// PriorityChangedData is sent when a queued job's priority changes.
type PriorityChangedData struct {
	JobID         string `json:"job_id"`
	OldPriority   int    `json:"old_priority"`
	NewPriority   int    `json:"new_priority"`
	QueuePosition int    `json:"queue_position"`
}

// LimitsUpdatedData is sent when the limits change.
type LimitsUpdatedData struct {
	OldLimits Limits `json:"old_limits"`
	NewLimits Limits `json:"new_limits"`
}

// licenses_updated carries a license.Report (package engine/license, which
// imports this one): the same document GET /api/licenses answers.

// JobProgressData is sent when what a job's solver log says changes in a
// way a person watching cares about: a new phase, a finished adaptive
// pass, convergence, a sweep step, a warning or an error. It is sent a
// last time after the job's end, with the final state.
type JobProgressData struct {
	JobID    string             `json:"job_id"`
	Attempt  int                `json:"attempt"`
	Progress solverlog.Progress `json:"progress"`
}

// SweepEndedData is the data of sweep_ended: GET /api/sweeps/{id} has the
// counts.
type SweepEndedData struct {
	SweepID string `json:"sweep_id"`
	// User owns the sweep (the dashboard tells only its owner).
	User string `json:"user"`
}
