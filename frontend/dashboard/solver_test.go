package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// The job page reads the solver's log into a panel: phase, passes with
// their chart, sweep and warnings. A job whose output no solver wrote has
// no panel.
func TestSolverPanel(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.command("hfss_1", "", solver("hfss_1", fakesolver.EnvScript+"="+fakesolver.HFSSLog())...)
	h.command("plain_1", "", "printf", "hello\n")
	h.wait("hfss_1")
	h.wait("plain_1")

	a := h.get("/ui/jobs/hfss_1")
	mustStatus(t, a, 200)
	for _, w := range []string{
		`id="job-solver" class="panel mb-1"`, `id="solver-phase" class="badge st-completed">completed<`,
		"HFSS 2025.2.0 · filter_bank / rx_filter / Setup1", `id="solver-chart"`, `class="s-delta"`,
		`id="solver-passes"`, "69,871", "0.0119", "Sweep1, discrete, 0.5GHz to 3GHz: 6 of 6 frequencies solved",
		`id="solver-warnings"`, "Port P3 is close to the region boundary", `/api/jobs/hfss_1/log?attempt=1`,
		`id="job-progress"`,
	} {
		if !strings.Contains(a.body, w) {
			t.Errorf("hfss page lacks %q", w)
		}
	}
	if strings.Contains(a.body, `id="solver-errors"`) {
		t.Error("a clean log shows an error list")
	}
	b := h.get("/ui/jobs/plain_1")
	mustStatus(t, b, 200)
	if !strings.Contains(b.body, `<section id="job-solver" hidden>`) || strings.Contains(b.body, `id="solver-phase"`) {
		t.Errorf("a plain command's page shows a solver panel: %.3000s", between(b.body, `id="job-solver"`, "</section>"))
	}
}

// What the solver printed is not ours either: names and messages from its
// log are shown as text.
func TestSolverPanelEscapes(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	log := filepath.Join(t.TempDir(), "evil.log")
	const evil = `<script>alert(1)</script>`
	text := "Ansys Electronics Desktop Version 2025.2.0, Build: x\n" +
		"[info] Project:" + evil + ", Setup1 : [PROFILE] Adaptive Pass 1 : Frequency: 2.5GHz (09:14:26 AM  Mar 03, 2026)\n" +
		"[warning] Project:p, Design:d, <img src=x onerror=alert(1)> (09:14:27 AM  Mar 03, 2026)\n" +
		"[error] Project:p, Design:d, " + evil + " (09:14:28 AM  Mar 03, 2026)\n"
	if err := os.WriteFile(log, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	h.command("evil_log", "", solver("evil_log", fakesolver.EnvScript+"="+log, "FAKE_SOLVER_EXIT=1")...)
	h.wait("evil_log")
	a := h.get("/ui/jobs/evil_log")
	mustStatus(t, a, 200)
	panel := between(a.body, `id="job-solver"`, `aria-labelledby="log-h"`)
	if !strings.Contains(panel, `id="solver-errors"`) || !strings.Contains(panel, `id="solver-warnings"`) {
		t.Fatalf("the panel does not list the log's error and warning: %s", panel)
	}
	for _, bad := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(a.body, bad) {
			t.Errorf("the page shows %q unescaped", bad)
		}
	}
	if !strings.Contains(panel, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the error text is not shown escaped: %s", panel)
	}
}

// While the job runs the panel follows the log: passes appear as they
// are printed, and the phase settles when the job ends. The job prints the
// log in two parts with a gate between them, so what the page has seen at
// each step does not depend on timing.
func TestLiveSolverPanel(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	lines := strings.SplitAfter(readFile(t, fakesolver.HFSSLog()), "\n")
	dir := t.TempDir()
	part1, part2, gate := filepath.Join(dir, "part1"), filepath.Join(dir, "part2"), filepath.Join(dir, "gate")
	// Part 1 ends as pass 2 starts, part 2 as pass 4 starts.
	writeFile(t, part1, strings.Join(lines[:35], ""))
	writeFile(t, part2, strings.Join(lines[35:41], ""))
	script := `cat "$1"; while [ ! -e "$3" ]; do sleep 0.05; done; cat "$2"; sleep 60`
	h.command("live_hfss", "", "sh", "-c", script, "sh", part1, part2, gate)
	h.waitStatus("live_hfss", engine.StatusRunning)

	p, body := h.open(t, "/ui/jobs/live_hfss")
	const pass2 = `id="solver-phase" class="badge st-running">adaptive pass 2 running<`
	if !strings.Contains(body, pass2) {
		p.until(pass2) // part 1 was still being written when the page loaded
	}
	writeFile(t, gate, "")
	got := p.until(`id="solver-phase" class="badge st-running">adaptive pass 4 running<`, "46,955")
	if !strings.Contains(got, `id="job-solver" class="panel mb-1" aria-labelledby="solver-h" hx-swap-oob="true"`) {
		t.Errorf("the panel is not swapped in place: %.2000s", got)
	}
	if _, err := h.m.Cancel(context.Background(), "live_hfss", "test"); err != nil {
		t.Fatal(err)
	}
	p.until(`id="solver-phase" class="badge st-cancelled">cancelled<`)
}

// A page that reconnects after the end, having shown only the first bytes,
// gets the settled panel, not a running one.
func TestLiveSolverPanelAfterTheEnd(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.command("done_hfss", "", solver("done_hfss", fakesolver.EnvScript+"="+fakesolver.HFSSLog())...)
	h.wait("done_hfss")
	a := h.get("/ui/jobs/done_hfss")
	late := h.dial(t, "/ui/live?page=job&id=done_hfss&attempt=1&since=0&boot="+between(a.body, `data-boot="`, `"`)+"&log_offset=10")
	got := late.until("end of log: completed", `id="solver-phase"`)
	if i := strings.LastIndex(got, `id="solver-phase"`); i < 0 || !strings.HasPrefix(got[i:], `id="solver-phase" class="badge st-completed"`) {
		t.Errorf("the last panel sent is not the settled one: %.3000s", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
