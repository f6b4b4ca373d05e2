//go:build unix

package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// noController puts SLURM client commands first on PATH that fail as they
// do on a host without slurmctld.
func noController(t *testing.T) []string {
	t.Helper()
	dir, err := filepath.Abs("testdata/slurm-no-controller")
	if err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
}

// With SLURM's commands on PATH but no controller, --scheduler auto runs
// jobs on this host and says how to insist on SLURM.
func TestAutoSchedulerSkipsSLURMThatDoesNotAnswer(t *testing.T) {
	t.Parallel()
	p := startEnv(t, t.TempDir(), noController(t), "--scheduler", "auto", "--allow-exec", fakesolver.Path())
	_, st := p.get(t, "/system/status")
	det, _ := st["scheduler_detection"].(map[string]any)
	if det["active_scheduler"] != "none" || !strings.Contains(det["detected_by"].(string), "did not answer") {
		t.Fatalf("scheduler_detection %v, want none because slurm did not answer", det)
	}
	if !strings.Contains(p.logs.String(), "--scheduler slurm") {
		t.Errorf("the log does not name --scheduler slurm: %s", p.logs)
	}
	code, body := p.post(t, "/jobs/submit", map[string]any{"config": map[string]any{"jobid": "here_1", "command": []string{fakesolver.Path()}}})
	if code != 200 {
		t.Fatalf("submit: %d %v", code, body)
	}
	p.waitStatus(t, "here_1", "completed")
	if page := p.page(t, "/"); strings.Contains(page, "ov-sched-down") {
		t.Errorf("the overview says the scheduler is down while jobs run here")
	}
}

// --scheduler slurm insists: jobs wait for the controller, and the
// overview says so.
func TestExplicitSLURMWaitsAndOverviewSaysSo(t *testing.T) {
	t.Parallel()
	p := startEnv(t, t.TempDir(), noController(t), "--scheduler", "slurm", "--allow-exec", fakesolver.Path())
	_, st := p.get(t, "/system/status")
	det, _ := st["scheduler_detection"].(map[string]any)
	if det["active_scheduler"] != "slurm" || det["backend_available"] != false {
		t.Fatalf("scheduler_detection %v, want slurm, not available", det)
	}
	code, body := p.post(t, "/jobs/submit", map[string]any{"config": map[string]any{"jobid": "wait_1", "command": []string{fakesolver.Path()}}})
	if code != 200 {
		t.Fatalf("submit: %d %v", code, body)
	}
	if _, j := p.get(t, "/jobs/wait_1"); j["status"] != "pending" {
		t.Errorf("job %v, want pending for the controller", j)
	}
	page := p.page(t, "/")
	if !strings.Contains(page, `id="ov-sched-down"`) || !strings.Contains(page, "does not answer") {
		t.Errorf("the overview has no scheduler banner:\n%s", page)
	}
}

func (p *proc) page(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
