package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// licensePatterns are the forms an Ansys license checkout failure takes in
// a solver's log or stderr: the Ansys License Manager's and FlexNet's own
// messages (FlexNet error -4,132 is "Licensed number of users already
// reached"; -5 "No such feature exists"; -15/-96 the server cannot be
// reached; -18 "License server does not support this feature"). See
// testdata/license for the fixtures.
var licensePatterns = regexp.MustCompile(`(?i)` +
	`unable to check ?out (a |the )?licen[cs]e` +
	`|licen[cs]e checkout failed` +
	`|failed to check ?out (a |the )?licen[cs]e` +
	`|could not check ?out (a |the )?licen[cs]e` +
	`|flex(lm|net)[^\n]{0,40}error` +
	`|licensed number of users already reached` +
	`|cannot connect to licen[cs]e server` +
	`|no such feature exists` +
	`|licen[cs]e server (machine )?is down or not responding` +
	`|all licen[cs]es (are )?(in use|checked out)` +
	`|request for licen[cs]e .{0,80} (failed|denied)` +
	`|-4,132\b`)

// LicenseFailure reports whether log text shows a license checkout failure.
func LicenseFailure(text []byte) bool {
	return licensePatterns.Match(text)
}

// logScanBytes is how much of the end of each log a license check reads:
// solvers print the checkout failure and stop, so it is near the end.
const logScanBytes = 1 << 20

// attemptFailedOnLicense reads the end of an attempt's stdout and stderr.
func (m *Manager) attemptFailedOnLicense(id string, attempt int, msg string) bool {
	if LicenseFailure([]byte(msg)) {
		return true
	}
	for _, stream := range []string{stdoutLog, stderrLog} {
		b, err := readTail(filepath.Join(m.jobDir(id, attempt), stream), logScanBytes)
		if err == nil && LicenseFailure(b) {
			return true
		}
	}
	return false
}

func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-n, 0)
	var b bytes.Buffer
	_, err = io.Copy(&b, io.NewSectionReader(f, off, st.Size()-off))
	return b.Bytes(), err
}

// retryDelay is the wait before retry number n (1 for the first): the
// backoff, doubling each time, at most a day.
func retryDelay(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// afterEnd runs once a job's end is recorded: a failed attempt its retry
// policy covers is queued again; otherwise the job ended for good and the
// jobs waiting for it are settled.
func (m *Manager) afterEnd(ctx context.Context, a *activeJob, st Status, msg string) {
	m.mu.Lock()
	p := m.plans.jobs[a.id]
	if p != nil && p.attempt != a.attempt {
		p = nil // a newer attempt already took its place
	}
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return // settled after the restart, from the store
	}
	if p != nil && st == StatusFailed && p.retry != nil {
		if m.retry(ctx, a, p, msg) {
			return
		}
	}
	m.mu.Lock()
	sweepEnded := ""
	if p != nil {
		sweepEnded = m.plans.detach(a.id)
	}
	m.mu.Unlock()
	m.dependencyEnded(ctx, a.id, st)
	if sweepEnded != "" {
		// After the job's own end events: the sweep's counts are final.
		m.bus.Publish(EventSweepEnded, SweepEndedData{SweepID: sweepEnded, User: a.user})
	}
}

// retry queues the next attempt of a failed job if its policy allows, and
// reports whether it did.
func (m *Manager) retry(ctx context.Context, a *activeJob, p *jobPlan, msg string) bool {
	r := *p.retry
	first := r.FirstAttempt
	if first == 0 {
		first = a.attempt
	}
	used := a.attempt - first + 1
	if used >= r.MaxAttempts {
		return false
	}
	reason := "the attempt failed"
	if r.On == RetryOnLicense {
		if !m.attemptFailedOnLicense(a.id, a.attempt, msg) {
			return false
		}
		reason = "license checkout failed"
	}
	wait := retryDelay(r.backoff(), used)
	at := m.now().UTC().Add(wait)
	r.FirstAttempt, r.NotBefore, r.Reason = first, &at, reason
	m.mu.Lock()
	sweepID, maxPar := "", 0
	if p.sweep != nil {
		sweepID, maxPar = p.sweep.id, p.sweep.max
	}
	m.mu.Unlock()
	res, err := m.Submit(ctx, SubmitRequest{Config: a.config, Priority: a.priority, User: a.user,
		plan: &jobPlan{retry: &r, index: p.index}, sweepID: sweepID, maxParallel: maxPar})
	m.mu.Lock()
	// The old attempt's plan gives way to the new one's (or goes, if the
	// resubmission failed); the sweep keeps its member either way.
	if cur := m.plans.jobs[a.id]; cur == p {
		delete(m.plans.jobs, a.id)
	}
	if p.sweep != nil {
		p.sweep.members--
		if p.sweep.members <= 0 && m.plans.sweeps[p.sweep.id] == p.sweep {
			delete(m.plans.sweeps, p.sweep.id)
		}
	}
	m.mu.Unlock()
	if err != nil || res.Duplicate {
		if err != nil {
			m.log.Error("queue a retry", "job", a.id, "attempt", a.attempt+1, "err", err)
		}
		return res.Duplicate
	}
	m.log.Info("job queued again", "job", a.id, "attempt", res.Attempt, "after", wait, "why", reason)
	return true
}

// isNotFound reports a store's ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
