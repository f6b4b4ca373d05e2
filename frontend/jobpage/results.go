package jobpage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/results"
	"github.com/simjobs/simjobs/engine/touchstone"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// Results is the job page's Results panel: the files the job wrote, with
// download links, and a chart of one Touchstone file among them.
type Results struct {
	JobID     string
	Started   bool
	Running   bool
	Ended     bool // the job is over: its results will not change
	Files     []results.File
	Truncated bool
	Err       string

	Touchstones []string // paths of the .sNp files, for the chart's choice
	File        string   // the one charted
	Choices     []string // traces offered
	Selected    map[string]bool
	Quantity    string
	Compare     string   // the other job overlaid
	Others      []string // jobs offered for the overlay
	ChartErr    string
	Chart       *SChart
}

// ResultsQuery is what the reader chose: file, traces, quantity, overlay.
type ResultsQuery struct {
	File     string
	Traces   []string
	Quantity string
	Compare  string
}

func resultsQuery(c *fiber.Ctx) ResultsQuery {
	q := ResultsQuery{File: c.Query("file"), Quantity: c.Query("q"), Compare: strings.TrimSpace(c.Query("compare"))}
	for _, v := range c.Context().QueryArgs().PeekMulti("trace") {
		q.Traces = append(q.Traces, string(v))
	}
	return q
}

// LoadResults reads the Results panel of job for who.
func LoadResults(ctx context.Context, m *engine.Manager, job engine.Job, who server.Identity, q ResultsQuery) Results {
	r := Results{JobID: job.ID, Started: job.StartTime != nil, Running: job.Status == engine.StatusRunning, Ended: job.Status.Terminal(), Quantity: q.Quantity}
	if r.Quantity != quantityPhase {
		r.Quantity = quantityDB
	}
	if !server.MayRead(who, job) {
		r.Err = fmt.Sprintf("The results of job %s are for %s or an admin to see.", job.ID, job.User)
		return r
	}
	set := engine.ResultSet(job)
	files, truncated, err := results.List(ctx, set)
	if err != nil {
		r.Err = "The job's folder cannot be read."
		return r
	}
	r.Files, r.Truncated = files, truncated
	for _, f := range files {
		if _, ok := touchstone.PortsFromName(f.Path); ok {
			r.Touchstones = append(r.Touchstones, f.Path)
		}
	}
	if len(r.Touchstones) == 0 {
		return r
	}
	r.File = r.Touchstones[0]
	for _, t := range r.Touchstones {
		if t == q.File {
			r.File = t
		}
	}
	n, err := server.ReadTouchstone(set, r.File)
	if err != nil {
		r.ChartErr = fmt.Sprintf("%s cannot be plotted: %s", r.File, publicError(err))
		return r
	}
	r.Choices = TraceChoices(n)
	names := q.Traces
	if len(names) == 0 {
		names = DefaultTraces(n)
	}
	r.Selected = map[string]bool{}
	for _, name := range names {
		r.Selected[name] = true
	}
	var other *touchstone.Network
	if q.Compare != "" && q.Compare != job.ID {
		r.Compare = q.Compare
		other, r.ChartErr = compareWith(ctx, m, q.Compare, who, r.File)
	}
	r.Others = otherJobs(ctx, m, job, who)
	chart := BuildChart(n, names, r.Quantity, other, q.Compare)
	r.Chart = &chart
	return r
}

// compareWith reads the same file of another job the caller may read.
func compareWith(ctx context.Context, m *engine.Manager, id string, who server.Identity, file string) (*touchstone.Network, string) {
	job, set, err := m.Results(ctx, id)
	if err != nil || !server.MayRead(who, job) {
		return nil, fmt.Sprintf("There is no job %q to compare with.", id)
	}
	n, err := server.ReadTouchstone(set, file)
	if err != nil {
		return nil, fmt.Sprintf("Job %s has no %s to compare with.", id, file)
	}
	return n, ""
}

// otherJobs are recent finished jobs of the same owner, offered for the
// overlay (a sweep's runs, a rerun).
func otherJobs(ctx context.Context, m *engine.Manager, job engine.Job, who server.Identity) []string {
	p := engine.JobListParams{User: job.User, Statuses: []engine.Status{engine.StatusCompleted}, Limit: 50}
	if total, err := m.CountJobs(ctx, p); err == nil && total > p.Limit {
		p.Offset = total - p.Limit // the newest
	}
	jobs, err := m.Jobs(ctx, p)
	if err != nil {
		return nil
	}
	var out []string
	for i := len(jobs) - 1; i >= 0; i-- {
		if jobs[i].ID != job.ID && server.MayRead(who, jobs[i]) {
			out = append(out, jobs[i].ID)
		}
	}
	return out
}

func publicError(err error) string {
	var ve *engine.ValidationError
	if ok := asValidation(err, &ve); ok {
		return ve.Message
	}
	return "it could not be read"
}

func (h Handler) results(c *fiber.Ctx) error {
	id := jobID(c)
	who, _ := server.Caller(c)
	job, err := h.Env.Manager.Job(c.UserContext(), id)
	if err != nil || !server.MayRead(who, job) {
		return frontend.RenderStatus(c, fiber.StatusNotFound, frontend.Message("error", fmt.Sprintf("There is no job %q.", id)))
	}
	return frontend.Render(c, ResultsPanel(LoadResults(c.UserContext(), h.Env.Manager, job, who, resultsQuery(c))))
}

// File links.
func fileURL(id, path string, download bool) templ.SafeURL {
	u := "/api/jobs/" + url.PathEscape(id) + "/files/" + escapePath(path)
	if download {
		u += "?download=1"
	}
	return templ.SafeURL(u)
}

func zipURL(id string) templ.SafeURL {
	return templ.SafeURL("/api/jobs/" + url.PathEscape(id) + "/results.zip")
}

func touchstoneURL(id, path string) templ.SafeURL {
	return templ.SafeURL("/api/jobs/" + url.PathEscape(id) + "/touchstone/" + escapePath(path))
}

func resultsURL(id string) string { return "/ui/jobs/" + url.PathEscape(id) + "/results" }

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func asValidation(err error, target **engine.ValidationError) bool { return errors.As(err, target) }
