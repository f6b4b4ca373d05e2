package winhpc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
)

func baseSpec() runner.Spec {
	return runner.Spec{
		JobID:   "JOB_20251110_174607_01f4bf99",
		Attempt: 1,
		Argv: []string{`C:\Program Files\ANSYS Inc\v252\AnsysEM\ansysedt.exe`, "-jobid", "JOB_20251110_174607_01f4bf99",
			"-distributed", "-machinelist", "numcores=1", "-ng", "-monitor",
			"-batchoptions", "'HFSS 3D Layout Design/MPIVendor'='Intel' 'HFSS/RAMLimitPercent'='90'",
			"-batchsolve", "board:Nominal:Setup1", `\\fs01\projects\board.aedb`},
		Dir:       `\\fs01\projects`,
		Env:       []string{"SIMJOBS_JOB_ID=JOB_20251110_174607_01f4bf99", "SIMJOBS_ATTEMPT=1"},
		Stdout:    `\\fs01\simjobs\jobs\JOB_20251110_174607_01f4bf99\1\stdout.log`,
		Stderr:    `\\fs01\simjobs\jobs\JOB_20251110_174607_01f4bf99\1\stderr.log`,
		WallTime:  24 * time.Hour,
		Resources: runner.Resources{Queue: "default", Time: "24:00:00", Nodes: 1, TasksPerNode: 1, Memory: "4GB", Priority: "Normal"},
	}
}

func TestSubmitGolden(t *testing.T) {
	tests := []struct {
		name string
		edit func(*runner.Spec)
	}{
		{"defaults", func(*runner.Spec) {}},
		{"every_option", func(s *runner.Spec) {
			s.Attempt = 2
			s.WallTime = 36*time.Hour + 30*time.Minute + time.Second
			s.Resources = runner.Resources{Queue: "GPUNodes", Nodes: 2, TasksPerNode: 4, CoresPerNode: 16, Memory: "64GB",
				Account: "rf", Reservation: "r", QOS: "q", Constraints: "ib", Exclusive: true, GPUs: 1, GPUType: "a100",
				Priority: "High", Email: "alice@example.com", RunAsAdmin: true}
		}},
		{"several_nodes_machinelist", func(s *runner.Spec) {
			s.Resources = runner.Resources{Nodes: 2, TasksPerNode: 4, CoresPerNode: 16, Memory: "4GB"}
			s.Argv[5] = "numcores=8"
			s.MachineList = &runner.MachineList{Arg: 5, Utilization: 90}
		}},
		{"long_id_is_cut_to_80", func(s *runner.Spec) {
			s.JobID = strings.Repeat("board_sweep_", 10)
		}},
		{"tricky_arguments", func(s *runner.Spec) {
			s.Argv = []string{`C:\solver\run.exe`, "a b", "x&y", "p|q", "<in>", "^caret", "(paren)", `C:\trailing\`, `C:\dir with space\`, "", "semi;colon", "eq=al"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			tt.edit(&spec)
			name, err := cluster.JobName("k3x9", spec.JobID, spec.Attempt, MaxNameLen)
			if err != nil {
				t.Fatal(err)
			}
			args, err := SubmitArgs(spec, name, "HEADNODE")
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString("job.exe argv, one element a line:\n")
			for _, a := range args {
				fmt.Fprintf(&b, "%q\n", a)
			}
			if spec.MachineList != nil {
				path, content, err := BatchFile(spec)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "\n%s, CRLF lines:\n%s", path, strings.ReplaceAll(content, "\r\n", "\n"))
				clustertest.Golden(t, tt.name, b.String())
				if back := splitWindows(args[len(args)-1]); !cmp.Equal(back, []string{path}) {
					t.Errorf("the task does not run the batch file: %q", back)
				}
				return
			}
			clustertest.Golden(t, tt.name, b.String())
			if back := splitWindows(args[len(args)-1]); !cmp.Equal(back, spec.Argv) {
				t.Errorf("task command line does not read back as the argv:\n%s", cmp.Diff(spec.Argv, back))
			}
		})
	}
}

// splitWindows splits a command line as the MSVCRT does (what the solver
// on the node sees).
func splitWindows(s string) []string {
	var args []string
	var cur strings.Builder
	inq, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			k := 0
			for i < len(s) && s[i] == '\\' {
				k++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, k/2))
				if k%2 == 1 {
					cur.WriteByte('"')
				} else {
					inq = !inq
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, k))
				i--
			}
			have = true
		case c == '"':
			inq, have = !inq, true
		case (c == ' ' || c == '\t') && !inq:
			if have {
				args = append(args, cur.String())
			}
			cur.Reset()
			have = false
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

func TestSubmitInjection(t *testing.T) {
	clustertest.CheckInjection(t, baseSpec(), func(s runner.Spec) (string, []string, error) {
		args, err := SubmitArgs(s, "simjobs.x.1", "")
		return "", args, err
	}, "", cluster.ErrInvalid)
}

func TestCommandLineRefusesCmdExpansion(t *testing.T) {
	for _, arg := range []string{"%PATH%", `say "hi"`, "a\nb"} {
		if _, err := CommandLine([]string{`C:\x.exe`, arg}); !errors.Is(err, cluster.ErrInvalid) {
			t.Errorf("CommandLine with %q = %v, want ErrInvalid", arg, err)
		}
	}
}
