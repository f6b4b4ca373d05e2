package slurm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
	"github.com/simjobs/simjobs/testdata/fakesched"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// TestMachineListFromNodelist runs the script of a multi-host solve as
// SLURM would, SLURM_JOB_NODELIST set and an scontrol that expands it:
// the solver gets one entry per node, with the tasks and cores the job
// asked for on each.
func TestMachineListFromNodelist(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\n[ \"$1 $2\" = 'show hostnames' ] || exit 2\ncase $3 in\n'node[01-02]') printf 'node01\\nnode02\\n' ;;\nvm) echo vm ;;\n*) echo \"scontrol: error: bad hostlist $3\" >&2; exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "scontrol"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		nodes, tasks, cores int
		nodelist, want      string
	}{
		{"two nodes of 4 tasks", 2, 4, 0, "node[01-02]", "list=node01:4:4:90%,node02:4:4:90%"},
		{"4 tasks of 4 cores a node", 2, 4, 16, "node[01-02]", "list=node01:4:16:90%,node02:4:16:90%"},
		{"two tasks on one node", 1, 2, 0, "vm", "list=vm:2:2:90%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := clustertest.MachineListSpec(t, tt.nodes, tt.tasks, tt.cores)
			script, err := Script(spec, "simjobs.x.1")
			if err != nil {
				t.Fatal(err)
			}
			out, stderr, err := clustertest.RunScript(t, script, bin, "SLURM_JOB_NODELIST="+tt.nodelist)
			if err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			if want := "simjobs: -machinelist " + tt.want + "\nsolver got " + tt.want + "\n"; out != want {
				t.Errorf("the job printed %q, want %q", out, want)
			}
		})
	}
	spec := clustertest.MachineListSpec(t, 2, 1, 0)
	script, _ := Script(spec, "simjobs.x.1")
	out, stderr, err := clustertest.RunScript(t, script, bin, "SLURM_JOB_NODELIST=bad[")
	if err == nil || strings.Contains(out, "solver got") || !strings.Contains(stderr, "from SLURM_JOB_NODELIST") {
		t.Errorf("an unreadable node list: err %v, stdout %q, stderr %q; want the job to fail before the solver", err, out, stderr)
	}
}

// TestMultiHostMachineList runs a two-task HFSS-style job on the real
// SLURM (its one node cannot give two nodes: two tasks on it stand for
// them): the solver gets the machine list scontrol expanded from
// SLURM_JOB_NODELIST in place of numcores, and the job's log shows it.
func TestMultiHostMachineList(t *testing.T) {
	requireSLURM(t)
	out, err := exec.Command("sinfo", "-h", "-N", "-o", "%N").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "list=" + strings.Fields(string(out))[0] + ":2:2:90%"
	spec := fakesched.Spec(t, runnertest.Job{JobID: "MULTI_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1})
	record := filepath.Join(spec.Dir, "record")
	spec.Env = append(spec.Env, fakesolver.EnvRecord+"="+record)
	spec.Argv = []string{fakesolver.Path(), "-jobid", spec.JobID, "-distributed", "-machinelist", "numcores=2", "-batchsolve", "board:Nominal:Setup1", filepath.Join(spec.Dir, "board.aedb")}
	spec.MachineList = &runner.MachineList{Arg: 5, Utilization: 90}
	spec.Resources = runner.Resources{Nodes: 1, TasksPerNode: 2}
	r := New(testOptions())
	t.Cleanup(func() { r.Close() })
	if _, err := r.Start(context.Background(), spec); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if u := waitEnd(t, r, spec.JobID); u.State != runner.StateCompleted {
		t.Fatalf("job ended %s (%q)", u.State, u.Message)
	}
	runs, err := fakesolver.ReadRecord(record)
	if err != nil || len(runs) != 1 {
		t.Fatalf("record: %v, %d runs", err, len(runs))
	}
	if got := runs[0].Args[4]; got != want {
		t.Errorf("-machinelist %q, want %q (all arguments %q)", got, want, runs[0].Args)
	}
	log, _ := os.ReadFile(spec.Stdout)
	if !strings.Contains(string(log), "simjobs: -machinelist "+want+"\n") {
		t.Errorf("the job's log does not show the machine list %q:\n%s", want, log)
	}
}
