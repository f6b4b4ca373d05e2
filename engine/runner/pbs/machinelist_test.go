package pbs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
)

// TestMachineListFromNodefile runs the script of a multi-host solve with
// a PBS_NODEFILE as PBS writes it (a line per MPI process): the solver
// gets one entry per host, its lines counted as tasks.
func TestMachineListFromNodefile(t *testing.T) {
	tests := []struct {
		name                string
		nodes, tasks, cores int
		nodefile, want      string
	}{
		{"two nodes of 2 tasks", 2, 2, 0, "node01\nnode01\nnode02\nnode02\n", "list=node01:2:2:90%,node02:2:2:90%"},
		{"2 tasks of 8 cores a node", 2, 2, 16, "node01\nnode01\nnode02\nnode02\n", "list=node01:2:16:90%,node02:2:16:90%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := clustertest.MachineListSpec(t, tt.nodes, tt.tasks, tt.cores)
			script, _, err := Script(spec, "simjobs.x.1")
			if err != nil {
				t.Fatal(err)
			}
			nf := filepath.Join(t.TempDir(), "nodefile")
			if err := os.WriteFile(nf, []byte(tt.nodefile), 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := clustertest.RunScript(t, script, "", "PBS_NODEFILE="+nf)
			if err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			if want := "simjobs: -machinelist " + tt.want + "\nsolver got " + tt.want + "\n"; out != want {
				t.Errorf("the job printed %q, want %q", out, want)
			}
		})
	}
	spec := clustertest.MachineListSpec(t, 2, 1, 0)
	script, _, _ := Script(spec, "simjobs.x.1")
	out, stderr, err := clustertest.RunScript(t, script, "")
	if err == nil || strings.Contains(out, "solver got") || !strings.Contains(stderr, "from PBS_NODEFILE") {
		t.Errorf("no PBS_NODEFILE: err %v, stdout %q, stderr %q; want the job to fail before the solver", err, out, stderr)
	}
}
