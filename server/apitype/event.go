package apitype

import (
	"encoding/json"
	"time"
)

// Event names, as the /ws stream and Socket.IO carry them.
const (
	EventJobQueued        = "job_queued"        // JobQueuedData
	EventJobStarted       = "job_started"       // JobStartedData
	EventJobScheduled     = "job_scheduled"     // JobScheduledData
	EventJobCompleted     = "job_completed"     // JobEndedData, for every job that ends
	EventJobFailed        = "job_failed"        // JobEndedData
	EventJobCancelled     = "job_cancelled"     // JobEndedData
	EventPriorityChanged  = "priority_changed"  // PriorityChangedData
	EventLimitsUpdated    = "limits_updated"    // LimitsUpdatedData
	EventResourcesUpdated = "resources_updated" // ResourcesUpdatedData
	EventJobProgress      = "job_progress"      // JobProgressData
	EventLicensesUpdated  = "licenses_updated"  // LicenseReport
	EventSweepEnded       = "sweep_ended"       // SweepEndedData
	// EventResync is the first message when the events after the
	// requested sequence number are no longer kept: reload state.
	EventResync = "resync" // ResyncData
)

// Event is one message of the /ws stream: the envelope, with the data
// left raw until its name says what it holds (see Decode).
type Event struct {
	Name string          `json:"event"`
	Seq  int64           `json:"seq"`
	Time time.Time       `json:"time"`
	Data json.RawMessage `json:"data"`
}

// JobID returns the job_id of the event's data, "" when it has none.
func (e Event) JobID() string {
	var d struct {
		JobID string `json:"job_id"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.JobID
}

// Decode returns the event's data as the type its name names (a
// *JobQueuedData for job_queued, ...), or the raw data for a name this
// package does not know.
func (e Event) Decode() (any, error) {
	v := newData(e.Name)
	if v == nil {
		return e.Data, nil
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return nil, err
	}
	return v, nil
}

// newData is a pointer to a zero value of the data type of event name, or
// nil when the name is not known.
func newData(name string) any {
	switch name {
	case EventJobQueued:
		return &JobQueuedData{}
	case EventJobStarted:
		return &JobStartedData{}
	case EventJobScheduled:
		return &JobScheduledData{}
	case EventJobCompleted, EventJobFailed, EventJobCancelled:
		return &JobEndedData{}
	case EventPriorityChanged:
		return &PriorityChangedData{}
	case EventLimitsUpdated:
		return &LimitsUpdatedData{}
	case EventResourcesUpdated:
		return &ResourcesUpdatedData{}
	case EventJobProgress:
		return &JobProgressData{}
	case EventLicensesUpdated:
		return &LicenseReport{}
	case EventSweepEnded:
		return &SweepEndedData{}
	case EventResync:
		return &ResyncData{}
	}
	return nil
}

// JobQueuedData is sent when a job is accepted.
type JobQueuedData struct {
	JobID         string `json:"job_id"`
	Priority      int    `json:"priority"`
	QueuePosition int    `json:"queue_position"`
	User          string `json:"user"`
	Attempt       int    `json:"attempt"`
	Status        Status `json:"status"`
}

// JobStartedData is sent when a job's process runs (or its scheduler runs
// it).
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
// says how), and also with job_failed or job_cancelled when it did not
// complete.
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

// ResourcesUpdatedData is sent with each host telemetry sample.
type ResourcesUpdatedData struct {
	Telemetry HostSample `json:"telemetry"`
}

// JobProgressData is sent when what a job's solver log says changes in a
// way a person watching cares about, and a last time after the job's end.
type JobProgressData struct {
	JobID    string   `json:"job_id"`
	Attempt  int      `json:"attempt"`
	Progress Progress `json:"progress"`
}

// SweepEndedData is sent when the last job of a sweep ended for good.
type SweepEndedData struct {
	SweepID string `json:"sweep_id"`
	User    string `json:"user"`
}

// ResyncData says why a resync was sent.
type ResyncData struct {
	Reason string `json:"reason"`
}
