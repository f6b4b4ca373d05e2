package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// A running solve shows how far it has come and the time left, on the
// overview, in the job table and on its page; the convergence chart has
// its axes, the value of each pass and the target line.
func TestTimeLeftAndConvergenceChart(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	log := cutHFSSLog(t, "Adaptive Pass 5 :")
	h.command("eta_1", "", solver("eta_1", fakesolver.EnvScript+"="+log, fakesolver.EnvSleep+"=60")...)
	t.Cleanup(func() { h.m.Cancel(context.Background(), "eta_1", "local") })
	h.waitStatus("eta_1", engine.StatusRunning)
	h.until(func() bool {
		j, err := h.m.Job(context.Background(), "eta_1")
		return err == nil && strings.Contains(string(j.Progress), `"estimate"`)
	})
	// Passes 1 to 4 of an expected 5: 80%.
	const want = "80% · "
	for path, in := range map[string]string{"/ui/jobs/eta_1": `id="job-left">`, "/": `id="ov-running"`, "/ui/jobs": `id="row-eta_1"`} {
		a := h.get(path)
		mustStatus(t, a, 200)
		if !strings.Contains(between(a.body, in, "</section>")+between(a.body, in, "</tr>"), want) {
			t.Errorf("%s does not show %q: %.2000s", path, want, between(a.body, in, "</section>"))
		}
	}
	a := h.get("/ui/jobs/eta_1")
	chart := between(a.body, `id="solver-chart"`, "</svg>")
	for _, w := range []string{`id="solver-target"`, "target 0.02 (HFSS default)", ">0.1<", ">0.01<", ">adaptive pass<", ">max ΔS<", ">0.318<", ">0.026<", `class="tick"`} {
		if !strings.Contains(chart, w) {
			t.Errorf("the chart lacks %q: %s", w, chart)
		}
	}
}
