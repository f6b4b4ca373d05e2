// Package clustertest holds what the scheduler runners' tests share:
// golden files, the hostile values of the injection tests, the directive
// reader, and the rule that a missing scheduler skips a test locally but
// fails it in CI.
package clustertest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/runner"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Golden compares got with testdata/golden/name.golden; -update rewrites it.
func Golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// Unavailable skips the test with reason, except in CI (CI=true), where a
// scheduler that should have been set up and is not fails the test.
func Unavailable(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s", reason)
	}
	t.Skipf("skipped: %s", reason)
}

// RequireSLURM skips the test (fails it in CI) unless a SLURM cluster
// answers with a usable node; as root, scripts/slurm-up.sh starts one.
//
// The cluster is asked once per test binary, for at most slurmProbeTimeout:
// a SLURM client without a controller retries for about ten seconds, and
// asking again for every test made a run wait that long per test.
func RequireSLURM(t *testing.T) {
	t.Helper()
	if reason := slurmProbe(); reason != "" {
		Unavailable(t, reason)
	}
}

// slurmProbeTimeout bounds the question to the controller.
const slurmProbeTimeout = 3 * time.Second

// slurmProbe is the one answer of slurmMissing for this test binary.
var slurmProbe = sync.OnceValue(func() string { return slurmMissing(slurmProbeTimeout) })

func slurmMissing(timeout time.Duration) string {
	if _, err := exec.LookPath("sbatch"); err != nil {
		return "SLURM is not installed (no sbatch on PATH); as root, run scripts/slurm-up.sh"
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%t")
	cmd.WaitDelay = time.Second // a child left holding the output pipe
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Sprintf("SLURM does not answer (sinfo gave no answer within %s: no controller?); as root, run scripts/slurm-up.sh", timeout)
	}
	if err != nil {
		return fmt.Sprintf("SLURM does not answer (sinfo: %v: %s); as root, run scripts/slurm-up.sh", err, strings.TrimSpace(string(out)))
	}
	for _, st := range strings.Fields(string(out)) {
		if st == "idle" || st == "mix" || st == "alloc" {
			return ""
		}
	}
	return fmt.Sprintf("SLURM has no usable node (states %q); run scripts/slurm-up.sh", strings.TrimSpace(string(out)))
}

// RequireSGE skips the test (fails it in CI) unless a Grid Engine cell
// answers with a queue instance that takes jobs; as root,
// scripts/sge-up.sh starts one.
func RequireSGE(t *testing.T) {
	t.Helper()
	if reason := sgeMissing(); reason != "" {
		Unavailable(t, reason)
	}
}

func sgeMissing() string {
	if _, err := exec.LookPath("qacct"); err != nil {
		return "Grid Engine is not installed (no qacct on PATH); as root, run scripts/sge-up.sh"
	}
	out, err := exec.Command("qstat", "-f").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("Grid Engine does not answer (qstat -f: %v: %s); as root, run scripts/sge-up.sh", err, strings.TrimSpace(string(out)))
	}
	// A queue instance line: "all.q@vm  BIP  0/0/8  0.52  lx-amd64  [states]";
	// one without states takes jobs.
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && strings.Contains(f[0], "@") && strings.Count(f[2], "/") == 2 {
			return ""
		}
	}
	return fmt.Sprintf("Grid Engine has no queue instance taking jobs (qstat -f: %q); run scripts/sge-up.sh", strings.TrimSpace(string(out)))
}

// Hostile are values that would change a batch script if pasted into it:
// shell syntax, quotes, comment and directive starts, line breaks.
var Hostile = []string{
	"x\n#SBATCH --wrap=evil",
	"x\n#BSUB -q evil",
	"x\n#PBS -q evil",
	"x\n#$ -q evil",
	"x #$ -q evil",
	"$JOB_ID:x,y",
	"x\r\n#SBATCH --uid=0",
	"q; touch /tmp/simjobs-pwned",
	"$(touch /tmp/simjobs-pwned)",
	"`touch /tmp/simjobs-pwned`",
	`x" --partition=evil "`,
	"x' --partition=evil '",
	"x #SBATCH --partition=evil",
	"x --partition=evil",
	"-x",
	"a|b&c>d<e",
	"%j%u%x",
	"x\x00y",
	"x\\",
}

// Fields returns specs that each carry one hostile value in one field of
// base, named by the field.
func Fields(base runner.Spec, value string) map[string]runner.Spec {
	out := map[string]runner.Spec{}
	set := func(name string, edit func(*runner.Spec)) {
		s := base
		s.Resources = base.Resources
		s.Argv = append([]string(nil), base.Argv...)
		s.Env = append([]string(nil), base.Env...)
		edit(&s)
		out[name] = s
	}
	set("queue", func(s *runner.Spec) { s.Resources.Queue = value })
	set("account", func(s *runner.Spec) { s.Resources.Account = value })
	set("reservation", func(s *runner.Spec) { s.Resources.Reservation = value })
	set("qos", func(s *runner.Spec) { s.Resources.QOS = value })
	set("constraints", func(s *runner.Spec) { s.Resources.Constraints = value })
	set("gpu_type", func(s *runner.Spec) { s.Resources.GPUType = value; s.Resources.GPUs = 1 })
	set("email", func(s *runner.Spec) { s.Resources.Email = value })
	set("memory", func(s *runner.Spec) { s.Resources.Memory = value })
	set("time", func(s *runner.Spec) { s.WallTime = 0; s.Resources.Time = value })
	set("priority", func(s *runner.Spec) { s.Resources.Priority = value })
	set("dir", func(s *runner.Spec) { s.Dir = "/tmp/" + value })
	set("stdout", func(s *runner.Spec) { s.Stdout = "/tmp/" + value + "/out.log" })
	set("stderr", func(s *runner.Spec) { s.Stderr = "/tmp/" + value + "/err.log" })
	set("env", func(s *runner.Spec) { s.Env = append(s.Env, "HOSTILE="+value) })
	set("env_key", func(s *runner.Spec) { s.Env = append(s.Env, value+"=1") })
	set("argv", func(s *runner.Spec) { s.Argv = append(s.Argv, value) })
	return out
}

// Directives returns the directive lines (starting with prefix, such as
// "#SBATCH") of a script's header: the comment block before the first
// command, which is all a scheduler reads directives from.
func Directives(script, prefix string) []string {
	var out []string
	for i, line := range strings.Split(script, "\n") {
		if i == 0 && strings.HasPrefix(line, "#!") {
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if !strings.HasPrefix(trimmed, "#") {
			break
		}
		if strings.HasPrefix(trimmed, prefix) {
			out = append(out, trimmed)
		}
	}
	return out
}

// Options returns the option of each directive line ("--partition",
// "-q"), in order.
func Options(directives []string, prefix string) []string {
	out := make([]string, len(directives))
	for i, d := range directives {
		rest := strings.TrimSpace(strings.TrimPrefix(d, prefix))
		opt, _, _ := strings.Cut(rest, " ")
		opt, _, _ = strings.Cut(opt, "=")
		out[i] = opt
	}
	return out
}

// benign is a harmless value for each field of Fields, the baseline the
// hostile values are compared with.
var benign = map[string]string{
	"queue": "normal", "account": "acct", "reservation": "resv", "qos": "normal",
	"constraints": "ib", "gpu_type": "a100", "email": "a@example.com", "memory": "4GB",
	"time": "01:00:00", "priority": "Normal", "dir": "ok", "stdout": "ok", "stderr": "ok",
	"env": "ok", "env_key": "OK", "argv": "ok",
}

// Generator is what a scheduler gets for a job: its batch script ("" when
// there is none) and the submit command's arguments.
type Generator func(runner.Spec) (script string, args []string, err error)

// CheckInjection feeds every Hostile value through every field of base.
// Each must be refused with an error wrapping invalid, or give exactly
// the directives, the script lines and the number of arguments that a
// harmless value in the same field gives: the value stayed inside its
// quotes or its own argument and changed nothing else.
func CheckInjection(t *testing.T, base runner.Spec, gen Generator, prefix string, invalid error) {
	t.Helper()
	accepted := 0
	for field := range Fields(base, "ok") {
		good := Fields(base, benign[field])[field]
		wantScript, wantArgs, err := gen(good)
		if err != nil {
			t.Fatalf("%s=%q (harmless) refused: %v", field, benign[field], err)
		}
		wantOpts := Options(Directives(wantScript, prefix), prefix)
		for _, v := range Hostile {
			script, args, err := gen(Fields(base, v)[field])
			if err != nil {
				if !errors.Is(err, invalid) {
					t.Errorf("%s=%s: error %v is not a validation error", field, Describe(v), err)
				}
				continue
			}
			accepted++
			if diff := cmp.Diff(wantOpts, Options(Directives(script, prefix), prefix)); diff != "" {
				t.Errorf("%s=%s changed the directives (-want +got):\n%s\n%s", field, Describe(v), diff, script)
			}
			if got, want := strings.Count(script, "\n"), strings.Count(wantScript, "\n"); got != want {
				t.Errorf("%s=%s: script has %d lines, want %d:\n%s", field, Describe(v), got, want, script)
			}
			if len(args) != len(wantArgs) {
				t.Errorf("%s=%s: %d arguments %q, want %d", field, Describe(v), len(args), args, len(wantArgs))
			}
		}
	}
	if accepted == 0 {
		t.Error("every hostile value was refused: the quoting paths are untested")
	}
}

// MachineListSpec is a job of nodes × tasks (cores per node cores) whose
// command prints the argument a multi-host solve's machine list replaces,
// for RunScript: "/bin/sh -c 'printf ...' numcores=N".
func MachineListSpec(t *testing.T, nodes, tasks, cores int) runner.Spec {
	return runner.Spec{
		JobID: "ML_1", Attempt: 1,
		Argv:        []string{"/bin/sh", "-c", `printf 'solver got %s\n' "$1"`, "-machinelist", "numcores=1"},
		Dir:         t.TempDir(),
		Resources:   runner.Resources{Nodes: nodes, TasksPerNode: tasks, CoresPerNode: cores},
		MachineList: &runner.MachineList{Arg: 4, Utilization: 90},
	}
}

// RunScript runs a POSIX batch script with /bin/sh, its environment
// PATH (with bin first, when not "") and env, and returns what it
// printed and whether it exited 0.
func RunScript(t *testing.T, script, bin string, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	path := "/usr/bin:/bin"
	if bin != "" {
		path = bin + ":" + path
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append([]string{"PATH=" + path}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// Describe is a short form of a hostile value for subtest names.
func Describe(v string) string { return fmt.Sprintf("%.24q", v) }
