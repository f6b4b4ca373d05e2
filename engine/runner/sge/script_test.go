package sge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/hfss"
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
	name, err := cluster.JobName("k3x9", spec.JobID, spec.Attempt, 0)
	if err != nil {
		return "", err
	}
	script, args, err := Script(spec, name, DefaultPE)
	if err != nil {
		return "", err
	}
	return "$ " + hfss.PosixCommandLine(append([]string{"qsub", "-terse"}, args...)) + " <<'SCRIPT'\n" + script + "SCRIPT\n", nil
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
			s.Resources = runner.Resources{Queue: "long.q", Nodes: 4, TasksPerNode: 8, CoresPerNode: 32, Memory: "256GB",
				Account: "rf-team", Reservation: "12", QOS: "high", Constraints: "ib", Exclusive: true, GPUs: 2, GPUType: "a100",
				Priority: "High", Email: "alice@example.com"}
		}},
		{"several_nodes_machinelist", func(s *runner.Spec) {
			s.WallTime = 0
			s.Resources = runner.Resources{Nodes: 2, TasksPerNode: 4}
			s.Argv[5] = "numcores=8"
			s.MachineList = &runner.MachineList{Arg: 5, Utilization: 90}
		}},
		{"tricky_paths", func(s *runner.Spec) {
			s.Dir = `/data/o'brien/my "quoted" proj/$(rm -rf ~)/#1`
			s.Stdout = `/srv/sim jobs/100% done/# -q evil; it's/stdout.log`
			s.Argv = []string{"/opt/solver", "it's", `"q"`, "$HOME", "#$ -q evil"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			spec.Argv = append([]string(nil), spec.Argv...)
			tt.edit(&spec)
			got, err := render(spec)
			if err != nil {
				t.Fatal(err)
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
		return Script(s, "simjobs.x.1", DefaultPE)
	}, "#$", cluster.ErrInvalid)
}

func TestScriptRefuses(t *testing.T) {
	tests := []struct {
		name, want string
		edit       func(*runner.Spec)
		pe         string
	}{
		{"host in a log path", "':'", func(s *runner.Spec) { s.Stdout = "/srv/a:b/stdout.log" }, DefaultPE},
		{"a list of log paths", "','", func(s *runner.Spec) { s.Stderr = "/srv/a,/srv/b" }, DefaultPE},
		{"a pseudo variable in a log path", "'$'", func(s *runner.Spec) { s.Stdout = "/srv/$JOB_ID/stdout.log" }, DefaultPE},
		{"several slots without a parallel environment", "no parallel environment", func(s *runner.Spec) { s.Resources.Nodes = 2 }, ""},
		{"a hostile parallel environment", "parallel environment", func(s *runner.Spec) {}, "mpi\n#$ -q evil"},
		{"a machine list outside the command", "machine list argument", func(s *runner.Spec) { s.MachineList = &runner.MachineList{Arg: 99, Utilization: 90} }, DefaultPE},
		{"a machine list without a RAM share", "utilization", func(s *runner.Spec) { s.MachineList = &runner.MachineList{Arg: 5} }, DefaultPE},
	}
	for _, tt := range tests {
		spec := baseSpec()
		tt.edit(&spec)
		_, _, err := Script(spec, "simjobs.x.1", tt.pe)
		if !errors.Is(err, cluster.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestScriptRejectsLineBreaksEverywhere(t *testing.T) {
	for field, spec := range clustertest.Fields(baseSpec(), "ok\n#$ -q evil") {
		if _, _, err := Script(spec, "simjobs.x.1", DefaultPE); !errors.Is(err, cluster.ErrInvalid) {
			t.Errorf("%s with a line break: err = %v, want ErrInvalid", field, err)
		}
	}
}

func TestFormatTime(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Second: "00:00:01", 90 * time.Minute: "01:30:00", 36*time.Hour + 1: "36:00:01"} {
		if got := formatTime(d); got != want {
			t.Errorf("formatTime(%v) = %q, want %q", d, got, want)
		}
	}
}
