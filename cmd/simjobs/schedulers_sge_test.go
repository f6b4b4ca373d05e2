//go:build unix

package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// TestSGEServe: simjobs serve --scheduler sge hands a job to the real
// Grid Engine; /system/status, /scheduler/partitions and the cluster page
// show the cell's queue and the job with its Grid Engine id, as they do
// for SLURM; cancelling it ends it cancelled.
// TestSGEStateChangeLatency is TestSLURMStateChangeLatency against the
// real Grid Engine: each change must show within PollMax + 1 s of the job
// making it (the end once qacct has it, which the test cell flushes every
// second).
func TestSGEStateChangeLatency(t *testing.T) {
	clustertest.RequireSGE(t)
	t.Parallel()
	stateChangeLatency(t, "sge")
}

func TestSGEServe(t *testing.T) {
	clustertest.RequireSGE(t)
	t.Parallel()
	p := start(t, t.TempDir(), "--scheduler", "sge", "--allow-exec", "env,"+fakesolver.Path())
	code, body := p.post(t, "/jobs/submit", map[string]any{"config": map[string]any{"jobid": "sge_page", "command": []string{"env", "FAKE_SOLVER_SLEEP=120", fakesolver.Path()}}})
	if code != 200 {
		t.Fatalf("submit: %d %v", code, body)
	}
	p.waitStatus(t, "sge_page", "running")
	_, st := p.get(t, "/system/status")
	if sd, _ := st["scheduler_detection"].(map[string]any); sd["active_scheduler"] != "sge" {
		t.Errorf("/system/status does not name sge: %v", st)
	}
	_, job := p.get(t, "/jobs/sge_page")
	ext, _ := job["scheduler_job_id"].(string)
	if ext == "" {
		t.Fatalf("job has no Grid Engine id: %v", job)
	}
	resp, err := http.Get(p.url + "/scheduler/partitions")
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(parts), `"all.q"`) {
		t.Errorf("/scheduler/partitions: %d %s", resp.StatusCode, parts)
	}
	resp, err = http.Get(p.url + "/ui/cluster")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"<strong>sge</strong>", "<td>all.q</td>", "sge_page", "<td>" + ext + "</td>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("/ui/cluster lacks %q:\n%s", want, page)
		}
	}
	if code, body := p.post(t, "/jobs/sge_page/cancel", nil); code != 200 {
		t.Fatalf("cancel: %d %v", code, body)
	}
	waitScheduler(t, p.logs, func() error {
		_, job = p.get(t, "/jobs/sge_page")
		if job["status"] != "cancelled" {
			return fmt.Errorf("job %v after cancel", job["status"])
		}
		return nil
	})
}
