package slurm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
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
