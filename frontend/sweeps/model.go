// Package sweeps is the sweeps pages: the list of sweeps, one sweep with a
// row per variation (live), and the form that submits a sweep with a
// preview of the jobs it expands to.
package sweeps

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/a-h/templ"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/engine/solverlog"
)

// MaxRows bounds the variations a sweep page shows; the CLI and the API
// list them all.
const MaxRows = 1000

// ListModel is the sweeps list.
type ListModel struct {
	Sweeps []engine.Sweep
	Total  int
}

// listMax bounds the sweeps the list shows.
const listMax = 100

// LoadList reads the newest sweeps with their counts.
func LoadList(ctx context.Context, m *engine.Manager) (ListModel, error) {
	lp := engine.SweepListParams{Limit: listMax}
	list, err := m.Sweeps(ctx, lp)
	if err != nil {
		return ListModel{}, err
	}
	total, err := m.CountSweeps(ctx, lp)
	return ListModel{Sweeps: list, Total: total}, err
}

// Model is one sweep's page.
type Model struct {
	Sweep      engine.Sweep
	Jobs       []engine.Job
	Variations []expand.Variation
	MayChange  bool
	Notice     string
}

// LoadSweep reads a sweep and the jobs its page shows.
func LoadSweep(ctx context.Context, m *engine.Manager, id string) (Model, error) {
	sw, err := m.Sweep(ctx, id)
	if err != nil {
		return Model{}, err
	}
	jobs, err := m.SweepJobs(ctx, id)
	if err != nil {
		return Model{}, err
	}
	if len(jobs) > MaxRows {
		jobs = jobs[:MaxRows]
	}
	vars, _ := expand.Combine(sw.Parameters, sw.Mode)
	return Model{Sweep: sw, Jobs: jobs, Variations: vars}, nil
}

// Index is a sweep job's variation index, from its id (<sweep>_<index>).
func Index(sweepID, jobID string) (int, bool) {
	rest, ok := strings.CutPrefix(jobID, sweepID+"_")
	if !ok {
		return 0, false
	}
	var n int
	if _, err := fmt.Sscanf(rest, "%d", &n); err != nil || fmt.Sprint(n) != rest {
		return 0, false
	}
	return n, true
}

// Values are the parameter values of a job's variation.
func (m Model) Values(j engine.Job) []string {
	i, ok := Index(m.Sweep.ID, j.ID)
	if !ok || i >= len(m.Variations) {
		return make([]string, len(m.Sweep.Parameters))
	}
	return m.Variations[i]
}

// Ended counts the sweep's jobs that ended, whichever way.
func Ended(sw engine.Sweep) int {
	return sw.Counts[engine.StatusCompleted] + sw.Counts[engine.StatusFailed] + sw.Counts[engine.StatusCancelled]
}

// Percent is the share of the sweep that ended, for the progress bar.
func Percent(sw engine.Sweep) string {
	if sw.Total == 0 {
		return "0"
	}
	return fmt.Sprint(Ended(sw) * 100 / sw.Total)
}

// CountsText lists the counts in life-cycle order.
func CountsText(sw engine.Sweep) []string {
	var out []string
	for _, st := range engine.Statuses {
		if n := sw.Counts[st]; n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, st))
		}
	}
	return out
}

// Failed is how many jobs a "resubmit failed" would submit again.
func Failed(sw engine.Sweep) int {
	return sw.Counts[engine.StatusFailed] + sw.Counts[engine.StatusCancelled]
}

// Active reports whether any job of the sweep has not ended.
func Active(sw engine.Sweep) bool { return Ended(sw) < sw.Total }

// ProgressText is a job's solver progress, or "".
func ProgressText(j engine.Job) string { return solverlog.Text(j.Progress) }

// URL is a sweep's page.
func URL(id string) templ.SafeURL { return templ.SafeURL("/ui/sweeps/" + url.PathEscape(id)) }

func action(id, what string) templ.SafeURL {
	return templ.SafeURL("/ui/sweeps/" + url.PathEscape(id) + "/" + what)
}

// RowID is the id of a variation's row.
func RowID(jobID string) string { return "var-" + jobID }

// ParamsText is a sweep's parameters, short.
func ParamsText(ps expand.Params) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s = %s", p.Name, strings.Join(p.Values, ", "))
		if b.Len() > 120 {
			return b.String()[:120] + "…"
		}
	}
	return b.String()
}
