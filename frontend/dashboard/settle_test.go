package dashboard_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// cutHFSSLog writes the fake solver's HFSS log up to the first line
// holding stop, with the replacements made, and returns its path.
func cutHFSSLog(t *testing.T, stop string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(fakesolver.HFSSLog())
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := strings.Cut(string(b), stop)
	text = strings.NewReplacer(replace...).Replace(text)
	path := filepath.Join(t.TempDir(), "cut.log")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Once the job ended the solver panel says so everywhere: no phase, pass,
// stage or frequency "running"; a completed interpolating sweep reads done;
// the log's end says how it ended without an empty exit code.
func TestSolverPanelSettlesWhenTheJobEnds(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	midPass := cutHFSSLog(t, "Matrix Solve : Real Time 00:00:06")
	midSweep := cutHFSSLog(t, "Frequency - 1.5GHz : Elapsed",
		"Discrete HFSS Frequency Sweep", "Interpolating HFSS Frequency Sweep", "6 Frequencies", "201 Frequencies")
	h.command("settle_done", "", solver("settle_done", fakesolver.EnvScript+"="+midSweep)...)
	h.command("settle_fail", "", solver("settle_fail", fakesolver.EnvScript+"="+midPass, fakesolver.EnvExit+"=3")...)
	h.command("settle_cancel", "", solver("settle_cancel", fakesolver.EnvScript+"="+midPass, fakesolver.EnvSleep+"=60")...)
	h.wait("settle_done")
	h.wait("settle_fail")
	h.waitStatus("settle_cancel", engine.StatusRunning)
	// The panel of the running job says a pass runs: the check below can fail.
	h.until(func() bool {
		return strings.Contains(h.get("/ui/jobs/settle_cancel").body, "adaptive pass 4 running")
	})
	if _, err := h.m.Cancel(context.Background(), "settle_cancel", "local"); err != nil {
		t.Fatal(err)
	}
	h.wait("settle_cancel")

	for id, want := range map[string][]string{
		"settle_done":   {`id="solver-phase" class="badge st-completed">completed<`, "done, 201 points fitted from", "sweep of 201 points done", "end of log: completed, exit code 0 —"},
		"settle_fail":   {`id="solver-phase" class="badge st-failed">failed<`, "end of log: failed, exit code 3 —"},
		"settle_cancel": {`id="solver-phase" class="badge st-cancelled">cancelled<`, "end of log: cancelled —"},
	} {
		a := h.get("/ui/jobs/" + id)
		mustStatus(t, a, 200)
		panel := between(a.body, `id="job-solver"`, `aria-labelledby="log-h"`)
		if strings.Contains(panel, "running") {
			t.Errorf("%s: the panel of an ended job says running: %s", id, panel)
		}
		for _, w := range want {
			if !strings.Contains(a.body, w) {
				t.Errorf("%s: the page lacks %q", id, w)
			}
		}
		if strings.Contains(a.body, "exit code — —") {
			t.Errorf("%s: the log's end shows an empty exit code", id)
		}
	}
}

// until waits, checking after every engine event, until ok holds.
func (h *harness) until(ok func() bool) {
	h.t.Helper()
	sub := h.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	enginetest.WaitOn(h.t, sub.C, func() error {
		if !ok() {
			return errors.New("the condition never held")
		}
		return nil
	})
}
