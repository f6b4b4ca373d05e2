package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// TestClusterMultiHostSolve: an HFSS job of two nodes of two tasks goes
// to the (fake) PBS with a batch script that builds the solver's machine
// list from the PBS_NODEFILE PBS gives it; the job's log shows the list.
// A job of one slot keeps PyEDB's numcores.
func TestClusterMultiHostSolve(t *testing.T) {
	t.Parallel()
	c := newFakePBS(t)
	dataDir := t.TempDir()
	b := clusterSetup(t, c, dataDir, 50*time.Millisecond, nil)
	project := filepath.Join(t.TempDir(), "board.aedt")
	if err := os.WriteFile(project, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id      string
		opts    map[string]any
		logHas  string
		scriptA string
	}{
		{"multi", map[string]any{"nodes": 2, "tasks_per_node": 2}, "simjobs: -machinelist list=fakenode1:2:2:90%,fakenode2:2:2:90%\n", ` -distributed -machinelist "$SIMJOBS_MACHINELIST" `},
		{"single", map[string]any{"nodes": 1, "tasks_per_node": 1, "cores_per_node": 8}, "", " -distributed -machinelist numcores=8 "},
	} {
		cfg, _ := json.Marshal(map[string]any{"jobid": tc.id, "project_path": project, "scheduler_options": tc.opts})
		if _, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: cfg}); err != nil {
			t.Fatalf("submit %s: %v", tc.id, err)
		}
		j := b.wait(t, tc.id)
		if j.Status != engine.StatusCompleted {
			t.Fatalf("%s ended %s: %s", tc.id, j.Status, j.Error)
		}
		folder := filepath.Join(dataDir, "jobs", tc.id, "1")
		log, _ := os.ReadFile(filepath.Join(folder, "stdout.log"))
		if !strings.Contains(string(log), tc.logHas) || tc.logHas == "" && strings.Contains(string(log), "-machinelist") {
			t.Errorf("%s log:\n%s\nwant %q", tc.id, log, tc.logHas)
		}
		script, _ := os.ReadFile(filepath.Join(folder, "job.pbs"))
		if !strings.Contains(string(script), tc.scriptA) {
			t.Errorf("%s script lacks %q:\n%s", tc.id, tc.scriptA, script)
		}
	}
}
