package sge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
)

// TestMachineListFromPEHostfile runs the script of a multi-host solve
// with a PE_HOSTFILE as Grid Engine writes it ("host slots queue
// processors", a slot being a core): the solver gets one entry per host.
func TestMachineListFromPEHostfile(t *testing.T) {
	tests := []struct {
		name                string
		nodes, tasks, cores int
		hostfile, want      string
	}{
		{"two nodes of 4 tasks", 2, 4, 0, "node01 4 all.q@node01 UNDEFINED\nnode02 4 all.q@node02 UNDEFINED\n", "list=node01:4:4:90%,node02:4:4:90%"},
		{"4 tasks of 4 cores a node", 2, 4, 16, "node01 16 all.q@node01 UNDEFINED\nnode02 16 all.q@node02 UNDEFINED\n", "list=node01:4:16:90%,node02:4:16:90%"},
		{"two slots on one host", 2, 1, 0, "vm 2 all.q@vm UNDEFINED\n", "list=vm:2:2:90%"},
		{"uneven fill_up, a host in two queues", 3, 4, 0, "n1 8 all.q@n1 UNDEFINED\nn2 2 all.q@n2 UNDEFINED\nn2 2 long.q@n2 UNDEFINED\n", "list=n1:8:8:90%,n2:4:4:90%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := clustertest.MachineListSpec(t, tt.nodes, tt.tasks, tt.cores)
			script, _, err := Script(spec, "simjobs.x.1", DefaultPE)
			if err != nil {
				t.Fatal(err)
			}
			hf := filepath.Join(t.TempDir(), "pe_hostfile")
			if err := os.WriteFile(hf, []byte(tt.hostfile), 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := clustertest.RunScript(t, script, "", "PE_HOSTFILE="+hf)
			if err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			if want := "simjobs: -machinelist " + tt.want + "\nsolver got " + tt.want + "\n"; out != want {
				t.Errorf("the job printed %q, want %q", out, want)
			}
		})
	}
}

// TestMachineListRefusesWhatItCannotRead: without a PE_HOSTFILE, or
// with a host name a machine list cannot carry, the job fails saying so
// rather than running the solver on a wrong list.
func TestMachineListRefusesWhatItCannotRead(t *testing.T) {
	spec := clustertest.MachineListSpec(t, 2, 1, 0)
	script, _, err := Script(spec, "simjobs.x.1", DefaultPE)
	if err != nil {
		t.Fatal(err)
	}
	hf := filepath.Join(t.TempDir(), "pe_hostfile")
	os.WriteFile(hf, []byte("evil:host,x 2 all.q UNDEFINED\n"), 0o644)
	for _, env := range [][]string{nil, {"PE_HOSTFILE=/nonexistent"}, {"PE_HOSTFILE=" + hf}} {
		out, stderr, err := clustertest.RunScript(t, script, "", env...)
		if err == nil || strings.Contains(out, "solver got") || !strings.Contains(stderr, "cannot read the hosts Grid Engine gave the job from PE_HOSTFILE") {
			t.Errorf("env %q: err %v, stdout %q, stderr %q; want the job to fail before the solver", env, err, out, stderr)
		}
	}
}
