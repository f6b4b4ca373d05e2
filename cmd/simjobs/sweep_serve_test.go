package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

func recorded(id, record, secs string) map[string]any {
	return map[string]any{"jobid": id, "command": []string{"env", "FAKE_SOLVER_RECORD=" + record, "FAKE_SOLVER_SLEEP=" + secs, fakesolver.Path(), "--job", id}}
}

// Dependencies through a real server process: order, refusals, and a
// chain that waits across a restart.
func TestServeDependencyOrderAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	record := filepath.Join(dir, "record.txt")
	allow := "--allow-exec=env," + fakesolver.Path()
	p := start(t, dir, allow, "--max-concurrent", "4")
	if code, r := p.post(t, "/api/submit", map[string]any{"config": recorded("solve", record, "0.5")}); code != 200 {
		t.Fatalf("submit solve: %d %v", code, r)
	}
	code, r := p.post(t, "/api/submit", map[string]any{"config": recorded("extract", record, "0"),
		"depends_on": []map[string]string{{"job_id": "solve", "condition": "afterok"}}})
	if code != 200 {
		t.Fatalf("submit extract: %d %v", code, r)
	}
	_, j := p.get(t, "/jobs/extract")
	if j["status"] != "queued" || !strings.Contains(j["waiting_reason"].(string), "solve") {
		t.Errorf("extract while solve runs: %v %q", j["status"], j["waiting_reason"])
	}
	code, r = p.post(t, "/api/submit", map[string]any{"config": recorded("orphan", record, "0"),
		"depends_on": []map[string]string{{"job_id": "nope"}}})
	if code != 400 || !strings.Contains(r["error"].(string), "depends_on[0].job_id") {
		t.Errorf("depends_on an unknown job: %d %v", code, r)
	}
	p.waitStatus(t, "extract", "completed")
	runs, err := fakesolver.ReadRecord(record)
	if err != nil || len(runs) != 2 || runs[1].Args[len(runs[1].Args)-1] != "extract" || !runs[1].Start.After(runs[0].End) {
		t.Fatalf("runs %+v, %v: extract must start after solve ended", runs, err)
	}

	// A chain submitted while the server drains waits across the restart.
	p.post(t, "/api/submit", map[string]any{"config": recorded("first", record, "1")})
	p.waitStatus(t, "first", "running")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, "readyz to report the drain", func() bool {
		code, _ := p.get(t, "/readyz")
		return code == 503
	})
	if code, r := p.post(t, "/api/submit", map[string]any{"config": recorded("second", record, "0"),
		"depends_on": []map[string]string{{"job_id": "first"}}}); code != 200 {
		t.Fatalf("submit second: %d %v", code, r)
	}
	if code, r := p.post(t, "/api/submit", map[string]any{"config": recorded("third", record, "0"),
		"depends_on": []map[string]string{{"job_id": "second", "condition": "afternotok"}}}); code != 200 {
		t.Fatalf("submit third: %d %v", code, r)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after the drain")
	}
	q := start(t, dir, allow, "--max-concurrent", "4")
	q.waitStatus(t, "second", "completed")
	q.waitStatus(t, "third", "cancelled")
	_, third := q.get(t, "/jobs/third")
	if !strings.Contains(third["error"].(string), "dependency second ended completed") {
		t.Errorf("third's error: %q", third["error"])
	}
	_, first := q.get(t, "/jobs/first")
	if first["status"] != "completed" {
		t.Errorf("first: %v", first["status"])
	}
}

// A 10,000-job sweep is accepted in one request, listed, and cancelled
// whole.
func TestServeTenThousandJobSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path(), "--max-concurrent", "1")
	values := make([]int, 100)
	for i := range values {
		values[i] = i
	}
	code, r := p.post(t, "/api/sweeps", map[string]any{
		"name":         "ten thousand",
		"template":     map[string]any{"command": []string{"env", "FAKE_SOLVER_SLEEP=5", fakesolver.Path(), "--w", "${W}", "--l", "${L}"}},
		"parameters":   map[string]any{"W": values, "L": values},
		"mode":         "product",
		"max_parallel": 1,
	})
	if code != 200 || r["success"] != true {
		t.Fatalf("sweep: %d %v", code, r)
	}
	id := r["sweep_id"].(string)
	if ids := r["job_ids"].([]any); len(ids) != 10000 || ids[9999] != id+"_9999" {
		t.Fatalf("%d job ids", len(ids))
	}
	_, sw := p.get(t, "/api/sweeps/"+id)
	if sw["total"] != 10000.0 || sw["max_parallel"] != 1.0 || sw["name"] != "ten thousand" {
		t.Errorf("sweep record: total %v max_parallel %v name %v", sw["total"], sw["max_parallel"], sw["name"])
	}
	code, r = p.post(t, "/api/sweeps/"+id+"/cancel", nil)
	if code != 200 || r["cancelled"] != 10000.0 {
		t.Errorf("cancel: %d %v", code, r)
	}
	_, sw = p.get(t, "/api/sweeps/"+id)
	if counts := sw["counts"].(map[string]any); counts["cancelled"] != 10000.0 {
		t.Errorf("counts after the cancel: %v", counts)
	}
}

// The CLI's sweep, jobs --sweep and submit --depends-on/--retry against a
// real server.
func TestCLISweepAndDependsOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path(), "--max-concurrent", "2")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, append(args[:1:1], append([]string{"--server", p.url}, args[1:]...)...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("simjobs %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	file := filepath.Join(dir, "sweep.json")
	os.WriteFile(file, []byte(`{"name": "cli", "template": {"command": ["env", "FAKE_SOLVER_SLEEP=0", "`+fakesolver.Path()+`", "--w", "${W}"]},
		"parameters": {"W": ["1", "2", "3"]}, "max_parallel": 1}`), 0o644)
	id := run("sweep", "--quiet", file)
	ids := strings.Fields(run("jobs", "--sweep", id, "--ids"))
	if len(ids) != 3 || ids[0] != id+"_0" || ids[2] != id+"_2" {
		t.Fatalf("jobs --sweep: %v", ids)
	}
	out := run("submit", "--quiet", "--depends-on", ids[2]+":afterok", "--retry", "2", "--jobid", "post", "--", "env", fakesolver.Path())
	if out != "post" {
		t.Fatalf("submit: %q", out)
	}
	p.waitStatus(t, "post", "completed")
	_, j := p.get(t, "/jobs/post")
	if deps, _ := j["depends_on"].([]any); len(deps) != 1 || j["retry"] == nil {
		t.Errorf("post's plan on its record: depends_on %v retry %v", j["depends_on"], j["retry"])
	}
	if show := run("sweep", "--show", id); !strings.Contains(show, "completed 3") {
		t.Errorf("sweep --show:\n%s", show)
	}
}
