//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// TestMultiHostMachineListSLURM: an HFSS job of two tasks handed to the
// real SLURM by simjobs serve gets, inside its batch job, the machine
// list of the hosts SLURM gave it (scontrol show hostnames
// $SLURM_JOB_NODELIST) in place of numcores, and its log shows it. The
// one-node test cluster cannot give two nodes: two tasks on its node
// are the two "hosts" (one entry, two tasks).
func TestMultiHostMachineListSLURM(t *testing.T) {
	clustertest.RequireSLURM(t)
	t.Parallel()
	host, err := exec.Command("sinfo", "-h", "-N", "-o", "%N").Output()
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Fields(string(host))[0]
	checkMachineList(t, "slurm", map[string]any{"nodes": 1, "tasks_per_node": 2}, "list="+name+":2:2:90%")
}

// TestMultiHostMachineListSGE is the same on the real Grid Engine, with
// a job of two "nodes" of one task: two slots of the mpi parallel
// environment, which PE_HOSTFILE puts on the one host.
func TestMultiHostMachineListSGE(t *testing.T) {
	clustertest.RequireSGE(t)
	t.Parallel()
	out, err := exec.Command("qhost").Output()
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, l := range strings.Split(string(out), "\n")[2:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] != "global" {
			name = f[0]
			break
		}
	}
	checkMachineList(t, "sge", map[string]any{"nodes": 2, "tasks_per_node": 1}, "list="+name+":2:2:90%")
}

// checkMachineList runs simjobs serve against scheduler with the fake
// solver as the HFSS solver, submits a PyEDB config asking for opts, and
// checks the solver's -machinelist argument and the job's log.
func checkMachineList(t *testing.T, scheduler string, opts map[string]any, want string) {
	dataDir := t.TempDir()
	projects := t.TempDir()
	project := filepath.Join(projects, "board.aedt")
	if err := os.WriteFile(project, []byte("fake project\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, dataDir, "--scheduler", scheduler, "--ansys-edt-path", fakesolver.Path())
	id := "ml_" + scheduler
	code, body := p.post(t, "/jobs/submit", map[string]any{"config": map[string]any{
		"jobid": id, "project_path": project, "scheduler_options": opts}})
	if code != 200 {
		t.Fatalf("submit: %d %v", code, body)
	}
	var j map[string]any
	waitScheduler(t, p.logs, func() error {
		_, j = p.get(t, "/jobs/"+id)
		if s := j["status"]; s == "completed" || s == "failed" || s == "cancelled" {
			return nil
		}
		return fmt.Errorf("job still %v", j["status"])
	})
	if j["status"] != "completed" {
		t.Fatalf("job ended %v: %v", j["status"], j)
	}
	log, err := os.ReadFile(filepath.Join(dataDir, "jobs", id, "1", "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "simjobs: -machinelist "+want+"\n") {
		t.Errorf("the job's log does not show the machine list %q:\n%s", want, log)
	}
	// The solver gets the variable the log line printed in place of
	// numcores (the runner tests check the argument the solver received).
	copies, _ := filepath.Glob(filepath.Join(dataDir, "jobs", id, "1", "job.*"))
	if len(copies) != 1 {
		t.Fatalf("batch script copies: %q", copies)
	}
	script, err := os.ReadFile(copies[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), ` -distributed -machinelist "$SIMJOBS_MACHINELIST" `) || strings.Contains(string(script), "numcores=") {
		t.Errorf("the solver does not get -distributed -machinelist $SIMJOBS_MACHINELIST:\n%s", script)
	}
	t.Logf("%s job log:\n%s", scheduler, log)
}
