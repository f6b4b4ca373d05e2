package slurm

import (
	"errors"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
)

// baseSpec is a job as the engine hands it over: the HFSS command line
// PyEDB builds for a scheduler, PyEDB's default scheduler options.
func baseSpec() runner.Spec {
	return runner.Spec{
		JobID:   "JOB_20251110_174607_01f4bf99",
		Attempt: 1,
		Argv: []string{"/opt/AnsysEM/v252/Linux64/ansysedt", "-jobid", "JOB_20251110_174607_01f4bf99",
			"-distributed", "-machinelist", "numcores=1", "-ng", "-monitor",
			"-batchoptions", "'HFSS 3D Layout Design/MPIVendor'='Intel' 'HFSS/RAMLimitPercent'='90'",
			"-batchsolve", "board:Nominal:Setup1", "/data/projects/board.aedb"},
		Dir:      "/data/projects",
		Env:      []string{"SIMJOBS_JOB_ID=JOB_20251110_174607_01f4bf99", "SIMJOBS_ATTEMPT=1"},
		Stdout:   "/var/lib/simjobs/jobs/JOB_20251110_174607_01f4bf99/1/stdout.log",
		Stderr:   "/var/lib/simjobs/jobs/JOB_20251110_174607_01f4bf99/1/stderr.log",
		WallTime: 24 * time.Hour,
		Resources: runner.Resources{Queue: "default", Time: "24:00:00", Nodes: 1, TasksPerNode: 1,
			Memory: "4GB", Priority: "Normal"},
	}
}

func TestScriptGolden(t *testing.T) {
	tests := []struct {
		name string
		edit func(*runner.Spec)
	}{
		{"defaults", func(*runner.Spec) {}},
		{"every_option", func(s *runner.Spec) {
			s.Attempt = 3
			s.WallTime = 36*time.Hour + 30*time.Minute + 1
			s.Resources = runner.Resources{Queue: "long", Time: "1.12:30:00", Nodes: 4, TasksPerNode: 8, CoresPerNode: 32,
				Memory: "1.5TB", Account: "rf-team", Reservation: "maint_1", QOS: "high", Constraints: "ib&(skylake|icelake)",
				Exclusive: true, GPUs: 2, GPUType: "a100", Priority: "High", Email: "alice@example.com", RunAsAdmin: true}
		}},
		{"gpus_without_type_and_no_limits", func(s *runner.Spec) {
			s.WallTime = 0
			s.Resources = runner.Resources{Nodes: 2, TasksPerNode: 1, GPUs: 1}
			s.Env = nil
		}},
		{"several_nodes_machinelist", func(s *runner.Spec) {
			s.Resources = runner.Resources{Nodes: 2, TasksPerNode: 4, Memory: "4GB"}
			s.Argv[5] = "numcores=8"
			s.MachineList = &runner.MachineList{Arg: 5, Utilization: 90}
		}},
		{"tricky_paths", func(s *runner.Spec) {
			s.Dir = `/data/o'brien/my "quoted" proj/$(rm -rf ~)/résumé #1/ant;enna`
			s.Stdout = `/srv/sim jobs/100% done/#1/stdout.log`
			s.Stderr = `/srv/sim jobs/%j/stderr.log`
			s.Argv = []string{"/opt/solver", "it's", `"q"`, "$HOME", "a b", "#SBATCH --partition=evil"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := baseSpec()
			tt.edit(&spec)
			name, err := cluster.JobName("", spec.JobID, spec.Attempt, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Script(spec, name)
			if err != nil {
				t.Fatalf("Script: %v", err)
			}
			clustertest.Golden(t, tt.name, got)
		})
	}
}

// TestScriptInjection feeds every hostile value through every field: the
// script is refused (ErrInvalid), or its directives are exactly those of
// a harmless value and the hostile one reaches the job only inside quotes.
func TestScriptInjection(t *testing.T) {
	clustertest.CheckInjection(t, baseSpec(), func(s runner.Spec) (string, []string, error) {
		script, err := Script(s, "simjobs.x.1")
		return script, nil, err
	}, "#SBATCH", cluster.ErrInvalid)
}

func TestScriptRejectsLineBreaksEverywhere(t *testing.T) {
	base := baseSpec()
	for field, spec := range clustertest.Fields(base, "ok\n#SBATCH --partition=evil") {
		if _, err := Script(spec, "simjobs.x.1"); !errors.Is(err, cluster.ErrInvalid) {
			t.Errorf("%s with a line break: err = %v, want ErrInvalid", field, err)
		}
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "00:00:01"},
		{90 * time.Minute, "01:30:00"},
		{24 * time.Hour, "1-00:00:00"},
		{36*time.Hour + 30*time.Minute + 1, "1-12:30:01"},
		{1500 * time.Millisecond, "00:00:02"},
	}
	for _, tt := range tests {
		if got := formatTime(tt.d); got != tt.want {
			t.Errorf("formatTime(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
