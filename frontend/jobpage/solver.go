package jobpage

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/frontend"
)

// MaxPassRows bounds the pass table; the chart shows every pass.
const MaxPassRows = 30

// LoadSolver reads what the job's solver log says, nil when it says
// nothing a solver wrote.
func LoadSolver(ctx context.Context, m *engine.Manager, job engine.Job) (*solverlog.Summary, error) {
	s, ok, err := m.LogSummary(ctx, job.ID, job.Attempt)
	if err != nil || !ok {
		return nil, err
	}
	return &s, nil
}

func phaseClass(st solverlog.State) string {
	switch st {
	case solverlog.StateStarting:
		return "badge st-queued"
	case solverlog.StateCompleted:
		return "badge st-completed"
	case solverlog.StateFailed:
		return "badge st-failed"
	case solverlog.StateCancelled:
		return "badge st-cancelled"
	}
	return "badge st-running"
}

// phaseText is the state in a few words: "adaptive pass 4 running".
func phaseText(s *solverlog.Summary) string {
	switch {
	case s.State == solverlog.StateAdaptive && s.Adaptive != nil && s.Adaptive.CurrentPass > 0:
		return fmt.Sprintf("adaptive pass %d running", s.Adaptive.CurrentPass)
	case s.State.Final():
		return string(s.State)
	case s.State == solverlog.StateConverged && s.Adaptive != nil && len(s.Adaptive.Passes) > 0:
		return fmt.Sprintf("converged at pass %d", s.Adaptive.Passes[len(s.Adaptive.Passes)-1].Pass)
	}
	return string(s.State)
}

// solverLine is what solves what, where: "HFSS 2025.2.0 · filter_bank /
// rx_filter / Setup1 · simnode07, 4 cores".
func solverLine(s *solverlog.Summary) string {
	var parts []string
	if who := strings.TrimSpace(s.Solver + " " + s.SolverVersion); who != "" {
		parts = append(parts, who)
	} else if s.Product != "" {
		parts = append(parts, strings.TrimSpace(s.Product+" "+s.Version))
	}
	var what []string
	for _, v := range []string{s.Project, s.Design, s.Setup} {
		if v != "" {
			what = append(what, v)
		}
	}
	if len(what) > 0 {
		parts = append(parts, strings.Join(what, " / "))
	}
	where := s.Host
	if where == "" && len(s.Machines) > 0 {
		where = s.Machines[0].Name
		if len(s.Machines) > 1 {
			where += fmt.Sprintf(" and %d more", len(s.Machines)-1)
		}
	}
	if s.Cores != nil {
		where = strings.TrimPrefix(where+", "+strconv.Itoa(*s.Cores)+" cores", ", ")
	}
	if where != "" {
		parts = append(parts, where)
	}
	return strings.Join(parts, " · ")
}

// shownPasses are the passes the table lists: the last MaxPassRows.
func shownPasses(a *solverlog.Adaptive) []solverlog.Pass {
	return a.Passes[max(0, len(a.Passes)-MaxPassRows):]
}

func delta(f *float64) string {
	if f == nil {
		return "—"
	}
	return strconv.FormatFloat(*f, 'g', 3, 64)
}

func count(n *int64) string {
	if n == nil {
		return "—"
	}
	return frontend.Count(int(*n))
}

func seconds(f *float64) string {
	if f == nil {
		return "—"
	}
	return frontend.Duration(time.Duration(*f * float64(time.Second)))
}

func memory(mb *float64) string {
	switch {
	case mb == nil:
		return "—"
	case *mb >= 1024:
		return strconv.FormatFloat(*mb/1024, 'f', 2, 64) + " GB"
	}
	return strconv.FormatFloat(*mb, 'f', 0, 64) + " MB"
}

func timePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return frontend.Time(*t)
}

// sweepText is the sweep in words: "Sweep1, discrete, 0.5GHz to 3GHz:
// 4 of 6 frequencies solved, 2 solving".
func sweepText(sw *solverlog.Sweep) string {
	var head []string
	for _, v := range []string{sw.Name, sw.Kind} {
		if v != "" {
			head = append(head, v)
		}
	}
	if sw.Start != "" && sw.Stop != "" {
		head = append(head, sw.Start+" to "+sw.Stop)
	}
	solved := fmt.Sprintf("%d frequencies solved", sw.Solved)
	if sw.Points != nil {
		solved = fmt.Sprintf("%d of %d frequencies solved", sw.Solved, *sw.Points)
		if sw.Kind == "interpolating" {
			solved = fmt.Sprintf("%d frequencies solved for %d points", sw.Solved, *sw.Points)
		}
	}
	if sw.Done {
		solved += ", done"
		if sw.Points != nil && sw.Kind == "interpolating" {
			solved = fmt.Sprintf("done, %d points fitted from %d solved frequencies", *sw.Points, sw.Solved)
		}
	}
	if sw.Solving > 0 {
		solved += fmt.Sprintf(", %d solving", sw.Solving)
	}
	if sw.BasisElements > 0 {
		solved += fmt.Sprintf(", %d basis elements", sw.BasisElements)
	}
	if sw.Converged {
		solved += ", converged"
	}
	if len(head) == 0 {
		return solved
	}
	return strings.Join(head, ", ") + ": " + solved
}

// sweepBar is the width of the sweep's progress bar, "" when the share
// solved is not known (an interpolating sweep solves only a few points).
func sweepBar(sw *solverlog.Sweep) string {
	if sw.Done {
		return frontend.PctClass(100)
	}
	if sw.Points == nil || *sw.Points == 0 || sw.Kind == "interpolating" {
		return ""
	}
	return frontend.PctClass(100 * float64(sw.Solved) / float64(*sw.Points))
}

// deltaLabel describes the chart for screen readers.
func deltaLabel(a *solverlog.Adaptive) string {
	var parts []string
	for _, p := range a.Passes {
		if p.MaxMagDeltaS != nil {
			parts = append(parts, fmt.Sprintf("pass %d: %s", p.Pass, delta(p.MaxMagDeltaS)))
		}
	}
	return "Max Mag. Delta S per adaptive pass, log scale: " + strings.Join(parts, ", ")
}

func logSummaryURL(id string, attempt int) templ.SafeURL {
	return templ.SafeURL("/api/jobs/" + url.PathEscape(id) + "/log?attempt=" + strconv.Itoa(attempt))
}

// timelineText is a transition's message for people: the first transition
// of a later attempt says it was resubmitted.
func timelineText(t engine.Transition) string {
	if t.Attempt > 1 && t.Message == "submitted" {
		return "resubmitted: attempt " + strconv.Itoa(t.Attempt)
	}
	return t.Message
}
