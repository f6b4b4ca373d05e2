package lsf

import (
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
)

// TestMachineListFromMcpuHosts runs the script of a multi-host solve with
// LSB_MCPU_HOSTS as LSF sets it ("host slots host slots ...", a slot
// being a core: the job asks for -n cores): one entry per host.
func TestMachineListFromMcpuHosts(t *testing.T) {
	tests := []struct {
		name                string
		nodes, tasks, cores int
		hosts, want         string
	}{
		{"two nodes of 4 tasks", 2, 4, 0, "node01 4 node02 4", "list=node01:4:4:90%,node02:4:4:90%"},
		{"4 tasks of 4 cores a node", 2, 4, 16, "node01 16 node02 16", "list=node01:4:16:90%,node02:4:16:90%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := clustertest.MachineListSpec(t, tt.nodes, tt.tasks, tt.cores)
			script, _, err := Script(spec, "simjobs.x.1")
			if err != nil {
				t.Fatal(err)
			}
			out, stderr, err := clustertest.RunScript(t, script, "", "LSB_MCPU_HOSTS="+tt.hosts)
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
	if err == nil || strings.Contains(out, "solver got") || !strings.Contains(stderr, "from LSB_MCPU_HOSTS") {
		t.Errorf("no LSB_MCPU_HOSTS: err %v, stdout %q, stderr %q; want the job to fail before the solver", err, out, stderr)
	}
}
