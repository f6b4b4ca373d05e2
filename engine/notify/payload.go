package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// Summary is what a notification says about a job attempt.
type Summary struct {
	JobID      string        `json:"job_id"`
	Attempt    int           `json:"attempt"`
	User       string        `json:"user"`
	Status     engine.Status `json:"status"`
	ReturnCode *int          `json:"return_code"`
	// ElapsedSeconds is from start to end (or to now, for a start).
	ElapsedSeconds *float64 `json:"elapsed_seconds"`
	// Converged is the adaptive solve's convergence, nil when the log
	// says nothing of it (not HFSS, or no adaptive passes).
	Converged *bool `json:"converged"`
	// FirstError is the first error the job recorded or its log shows.
	FirstError string `json:"first_error"`
	URL        string `json:"url"`
}

// summarize reads what the job record and its solver log say.
func (n *Notifier) summarize(ctx context.Context, job engine.Job, tr engine.TransitionRow) Summary {
	s := Summary{JobID: job.ID, Attempt: job.Attempt, User: job.User, Status: tr.Status, ReturnCode: job.ReturnCode,
		FirstError: firstLine(job.Error), URL: n.jobLink(job.ID)}
	if job.StartTime != nil {
		end := tr.Time
		if job.EndTime != nil && tr.Status.Terminal() {
			end = *job.EndTime
		}
		if e := end.Sub(*job.StartTime).Seconds(); e >= 0 {
			s.ElapsedSeconds = &e
		}
	}
	if tr.Status == engine.StatusRunning {
		return s
	}
	log, ok, err := n.o.Jobs.LogSummary(ctx, job.ID, job.Attempt)
	if err != nil || !ok {
		return s
	}
	if log.Adaptive != nil && len(log.Adaptive.Passes) > 0 {
		c := log.Adaptive.Converged
		s.Converged = &c
	}
	if s.FirstError == "" {
		s.FirstError = firstLine(log.Error)
	}
	if s.FirstError == "" && len(log.Errors.Last) > 0 {
		s.FirstError = firstLine(log.Errors.Last[0].Text)
	}
	return s
}

func (n *Notifier) jobLink(id string) string {
	if n.o.PublicURL == "" {
		return ""
	}
	return n.o.PublicURL + "/ui/jobs/" + url.PathEscape(id)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return truncate(s, 300)
}

// text is the one-line message Slack and Teams show.
func (s Summary) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "simjobs: job %s", s.JobID)
	if s.Attempt > 1 {
		fmt.Fprintf(&b, " (attempt %d)", s.Attempt)
	}
	if s.Status == engine.StatusRunning {
		b.WriteString(" started")
	} else {
		fmt.Fprintf(&b, " %s", s.Status)
	}
	var parts []string
	if s.ReturnCode != nil {
		parts = append(parts, fmt.Sprintf("exit %d", *s.ReturnCode))
	}
	if s.ElapsedSeconds != nil && s.Status != engine.StatusRunning {
		parts = append(parts, "after "+elapsed(*s.ElapsedSeconds))
	}
	if s.Converged != nil {
		if *s.Converged {
			parts = append(parts, "converged")
		} else {
			parts = append(parts, "not converged")
		}
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	if s.FirstError != "" {
		b.WriteString(": " + s.FirstError)
	}
	if s.URL != "" {
		b.WriteString(" " + s.URL)
	}
	return b.String()
}

func elapsed(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	return d.String()
}

// webhookBody is the JSON document a webhook receives.
type webhookBody struct {
	// Text makes Slack and Teams incoming webhooks show the message as is.
	Text     string        `json:"text"`
	Event    string        `json:"event"`
	Delivery string        `json:"delivery"`
	Time     time.Time     `json:"time"`
	URL      string        `json:"url"`
	Summary  *Summary      `json:"summary,omitempty"`
	Job      *engine.Job   `json:"job,omitempty"`
	Sweep    *SweepSummary `json:"sweep,omitempty"`
}

// compose fixes what a job delivery sends.
func (n *Notifier) compose(d *engine.Delivery, s Summary, job engine.Job) {
	job.Status = s.Status // the record as of this event, whatever came after
	switch d.Channel {
	case ChannelWebhook:
		d.Display = redact(d.Target)
		d.Payload, _ = json.Marshal(webhookBody{Text: s.text(), Event: d.Event, Delivery: d.ID, Time: d.Created,
			URL: s.URL, Summary: &s, Job: &job})
	case ChannelEmail:
		d.Display = d.Target
		d.Payload = n.mailMessage(d, mailSubject(s), jobMailText(s))
	}
}

func (n *Notifier) composeSweep(d *engine.Delivery, s SweepSummary) {
	text := sweepText(s)
	switch d.Channel {
	case ChannelWebhook:
		d.Display = redact(d.Target)
		d.Payload, _ = json.Marshal(webhookBody{Text: text, Event: d.Event, Delivery: d.ID, Time: d.Created, URL: s.Link, Sweep: &s})
	case ChannelEmail:
		d.Display = d.Target
		d.Payload = n.mailMessage(d, "simjobs: sweep "+oneLine(s.Name, s.ID)+" ended", text+"\n")
	}
}

func oneLine(name, id string) string {
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, name)
	if name == "" {
		return id
	}
	return truncate(name, 80) + " (" + id + ")"
}

func sweepText(s SweepSummary) string {
	keys := make([]string, 0, len(s.Counts))
	for k := range s.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", s.Counts[k], k))
	}
	t := fmt.Sprintf("simjobs: sweep %s ended: %d jobs", oneLine(s.Name, s.ID), s.Total)
	if len(parts) > 0 {
		t += " (" + strings.Join(parts, ", ") + ")"
	}
	if s.Link != "" {
		t += " " + s.Link
	}
	return t
}

func mailSubject(s Summary) string {
	st := string(s.Status)
	if s.Status == engine.StatusRunning {
		st = "started"
	}
	return fmt.Sprintf("simjobs: job %s %s", s.JobID, st)
}

// jobMailText is the plain-text summary of a job's end.
func jobMailText(s Summary) string {
	var b bytes.Buffer
	line := func(k, v string) { fmt.Fprintf(&b, "%-11s %s\n", k+":", v) }
	line("Job", s.JobID)
	if s.Attempt > 1 {
		line("Attempt", fmt.Sprint(s.Attempt))
	}
	line("User", s.User)
	line("Status", string(s.Status))
	if s.ReturnCode != nil {
		line("Exit code", fmt.Sprint(*s.ReturnCode))
	} else {
		line("Exit code", "none")
	}
	if s.ElapsedSeconds != nil {
		line("Elapsed", elapsed(*s.ElapsedSeconds))
	}
	switch {
	case s.Converged == nil:
		line("Converged", "not reported")
	case *s.Converged:
		line("Converged", "yes")
	default:
		line("Converged", "no")
	}
	if s.FirstError != "" {
		line("Error", s.FirstError)
	}
	if s.URL != "" {
		line("Link", s.URL)
	}
	return b.String()
}
