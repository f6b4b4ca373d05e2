package jobpage

import (
	"fmt"

	"github.com/simjobs/simjobs/engine"
)

// retryText says what the job's retry policy allows and where it stands.
func retryText(j engine.Job) string {
	r := j.Retry
	if r == nil {
		return ""
	}
	first := r.FirstAttempt
	if first == 0 {
		first = j.Attempt
	}
	on := "any failure"
	if r.On == engine.RetryOnLicense {
		on = "a license checkout failure"
	}
	s := fmt.Sprintf("up to %d attempts on %s, backoff %s doubling; this is attempt %d of %d", r.MaxAttempts, on, r.Backoff, j.Attempt-first+1, r.MaxAttempts)
	if r.Reason != "" {
		s += " (the previous one: " + r.Reason + ")"
	}
	return s
}
