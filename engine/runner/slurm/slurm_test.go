package slurm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
	"github.com/simjobs/simjobs/testdata/fakesched"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

func requireSLURM(t *testing.T) { clustertest.RequireSLURM(t) }

// testInstance keeps this test run's job names apart from earlier runs'
// (the job ids repeat), as a server's data directory does.
var testInstance = strconv.FormatInt(time.Now().UnixNano(), 36)

// testOptions poll fast: the cluster is local and the tests wait on it.
func testOptions() Options {
	return Options{Runner: cluster.Options{Instance: testInstance, PollMin: 100 * time.Millisecond, PollMax: 400 * time.Millisecond, LostAfter: 20 * time.Second}}
}

// fakeSpec runs the fake solver as a SLURM job in a fresh directory.
func fakeSpec(t *testing.T, job runnertest.Job) runner.Spec { return fakesched.Spec(t, job) }

func TestConformance(t *testing.T) {
	requireSLURM(t)
	runnertest.RunConformance(t,
		func(t *testing.T) runner.Runner { return New(testOptions()) },
		fakeSpec,
		runnertest.Scheduler())
}

// TestInjectionReachesNobody submits a job whose directory, log paths,
// environment and arguments are full of shell syntax and directive text
// to the real SLURM: the job runs in that exact directory with exactly
// those arguments, and nothing the text says happens.
func TestInjectionReachesNobody(t *testing.T) {
	requireSLURM(t)
	root := t.TempDir()
	canary := filepath.Join(root, "pwned")
	hostile := fmt.Sprintf(`a b/it's "q" #SBATCH --partition=nope/$(touch %s)/%%j %%u/;touch %s`, canary, canary)
	dir := filepath.Join(root, hostile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(root, "record")
	args := []string{"$(touch " + canary + ")", "`touch " + canary + "`", "; touch " + canary, `"`, `'`, "#SBATCH --partition=nope", "%j"}
	spec := runner.Spec{
		JobID: "INJECT_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1,
		Argv:   append([]string{fakesolver.Path()}, args...),
		Dir:    dir,
		Env:    []string{fakesolver.EnvRecord + "=" + record, "HOSTILE=$(touch " + canary + ")\"'`"},
		Stdout: filepath.Join(dir, "out %j.log"), Stderr: filepath.Join(dir, "err %u.log"),
	}
	r := New(testOptions())
	t.Cleanup(func() { r.Close() })
	h, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	u := waitEnd(t, r, spec.JobID)
	if u.State != runner.StateCompleted {
		t.Fatalf("job %s ended %s (%q)", h.ExternalID, u.State, u.Message)
	}
	runs, err := fakesolver.ReadRecord(record)
	if err != nil || len(runs) != 1 {
		t.Fatalf("record: %v, %d runs", err, len(runs))
	}
	if diff := cmp.Diff(args, runs[0].Args); diff != "" {
		t.Errorf("arguments the job got (-want +got):\n%s", diff)
	}
	for _, f := range []string{"out %j.log", "err %u.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("log %q not written where asked: %v", f, err)
		}
	}
	if _, err := os.Stat(canary); err == nil {
		t.Errorf("%s exists: text from the job ran as a command", canary)
	}
	out, _ := exec.Command("scontrol", "show", "job", h.ExternalID).Output()
	if !strings.Contains(string(out), "WorkDir="+dir) || strings.Contains(string(out), "Partition=nope") {
		t.Errorf("scontrol show job:\n%s", out)
	}
}

func waitEnd(t *testing.T, r runner.Runner, id string) runner.Update {
	t.Helper()
	timeout := time.After(runnertest.Timeout)
	for {
		select {
		case u := <-r.Updates():
			if u.JobID == id && u.State.Terminal() {
				return u
			}
		case <-timeout:
			t.Fatalf("job %s did not end within %v", id, runnertest.Timeout)
		}
	}
}

func TestRejectedSubmissionIsAClearError(t *testing.T) {
	requireSLURM(t)
	r := New(testOptions())
	t.Cleanup(func() { r.Close() })
	spec := fakeSpec(t, runnertest.Job{JobID: "REJECT_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1})
	spec.Resources.Queue = "nosuchpartition"
	_, err := r.Start(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "invalid partition") {
		t.Fatalf("Start into a missing partition: %v, want sbatch's 'invalid partition' error", err)
	}
}

func TestPartitions(t *testing.T) {
	requireSLURM(t)
	parts, err := NewBackend(Options{}).Partitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) == 0 {
		t.Fatal("no partitions")
	}
	for _, p := range parts {
		if p.Name == "" || p.NodesTotal < 1 || p.CoresTotal < 1 || p.MemoryTotalGB <= 0 || p.CoresUsed > p.CoresTotal {
			t.Errorf("partition %+v", p)
		}
	}
}
