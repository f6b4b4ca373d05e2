package frontend

import (
	"strconv"

	"github.com/simjobs/simjobs/engine"
)

// Waiting says why a job that has not started waits, with its place in the
// queue: "#3 in the queue · 1 of 1 job slots in use"; "" for a job that
// runs or ended, or that waits for nothing known.
func Waiting(j engine.Job) string {
	switch j.Status {
	case engine.StatusPending, engine.StatusQueued, engine.StatusScheduled:
	default:
		return ""
	}
	reason := j.WaitingReason
	if reason == "" && j.Status == engine.StatusPending {
		reason = j.Error // "waiting for slurm (next try in 20s): ..."
	}
	if reason == "" && j.Status == engine.StatusScheduled {
		reason = "waiting at the scheduler"
	}
	if j.QueuePosition > 0 {
		place := "#" + strconv.Itoa(j.QueuePosition) + " in the queue"
		if j.QueuePosition == 1 {
			place = "next in the queue"
		}
		if reason == "" {
			return place
		}
		return place + " · " + reason
	}
	return reason
}
