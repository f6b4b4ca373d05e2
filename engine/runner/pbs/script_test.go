package pbs

import (
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/hfss"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
)

func baseSpec() runner.Spec {
	return runner.Spec{
		JobID:   "JOB_20251110_174607_01f4bf99",
		Attempt: 1,
		Argv: []string{"/opt/AnsysEM/v252/Linux64/ansysedt", "-jobid", "JOB_20251110_174607_01f4bf99",
			"-distributed", "-machinelist", "numcores=1", "-ng", "-monitor",
			"-batchoptions", "'HFSS 3D Layout Design/MPIVendor'='Intel' 'HFSS/RAMLimitPercent'='90'",
			"-batchsolve", "board:Nominal:Setup1", "/data/projects/board.aedb"},
		Dir:       "/data/projects",
		Env:       []string{"SIMJOBS_JOB_ID=JOB_20251110_174607_01f4bf99", "SIMJOBS_ATTEMPT=1"},
		Stdout:    "/var/lib/simjobs/jobs/JOB_20251110_174607_01f4bf99/1/stdout.log",
		Stderr:    "/var/lib/simjobs/jobs/JOB_20251110_174607_01f4bf99/1/stderr.log",
		WallTime:  24 * time.Hour,
		Resources: runner.Resources{Queue: "default", Time: "24:00:00", Nodes: 1, TasksPerNode: 1, Memory: "4GB", Priority: "Normal"},
	}
}

// render is a golden file: the qsub command, then the script.
func render(spec runner.Spec) (string, error) {
	name, err := cluster.JobName("k3x9", spec.JobID, spec.Attempt, 236)
	if err != nil {
		return "", err
	}
	script, args, err := Script(spec, name)
	if err != nil {
		return "", err
	}
	return "$ " + hfss.PosixCommandLine(append([]string{"qsub"}, args...)) + " <<'SCRIPT'\n" + script + "SCRIPT\n", nil
}

func TestScriptGolden(t *testing.T) {
	tests := []struct {
		name string
		edit func(*runner.Spec)
	}{
		{"defaults", func(*runner.Spec) {}},
		{"every_option", func(s *runner.Spec) {
			s.Attempt = 2
			s.WallTime = 36*time.Hour + 30*time.Minute
			s.Resources = runner.Resources{Queue: "long", Nodes: 4, TasksPerNode: 8, CoresPerNode: 32, Memory: "256GB",
				Account: "rf-team", Reservation: "R12", QOS: "high", Constraints: "ib", Exclusive: true, GPUs: 2, GPUType: "a100",
				Priority: "High", Email: "alice@example.com"}
		}},
		{"several_nodes_shared", func(s *runner.Spec) {
			s.WallTime = 0
			s.Resources = runner.Resources{Nodes: 2, TasksPerNode: 4}
			s.Env = nil
		}},
		{"several_nodes_machinelist", func(s *runner.Spec) {
			s.Resources = runner.Resources{Nodes: 2, TasksPerNode: 4, Memory: "4GB"}
			s.Argv[5] = "numcores=8"
			s.MachineList = &runner.MachineList{Arg: 5, Utilization: 90}
		}},
		{"tricky_paths", func(s *runner.Spec) {
			s.Dir = `/data/o'brien/my "quoted" proj/$(rm -rf ~)/#1`
			s.Stdout = `/srv/sim jobs/100% done/#PBS -q evil/stdout.log`
			s.Argv = []string{"/opt/solver", "it's", `"q"`, "$HOME", "#PBS -q evil"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			tt.edit(&spec)
			got, err := render(spec)
			if err != nil {
				t.Fatal(err)
			}
			clustertest.Golden(t, tt.name, got)
		})
	}
}

func TestScriptInjection(t *testing.T) {
	clustertest.CheckInjection(t, baseSpec(), func(s runner.Spec) (string, []string, error) {
		return Script(s, "simjobs.x.1")
	}, "#PBS", cluster.ErrInvalid)
}

func TestScriptRefusesHostInPaths(t *testing.T) {
	spec := baseSpec()
	spec.Stdout = "/srv/a:b/stdout.log"
	if _, _, err := Script(spec, "simjobs.x.1"); err == nil || !strings.Contains(err.Error(), "':'") {
		t.Errorf("a ':' in the output path: %v, want it refused (PBS reads host:path)", err)
	}
}
