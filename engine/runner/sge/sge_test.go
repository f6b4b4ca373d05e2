package sge

import (
	"context"
	"errors"
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

// testInstance keeps this test run's job names apart from earlier runs'
// (the job ids repeat), as a server's data directory does.
var testInstance = strconv.FormatInt(time.Now().UnixNano(), 36)

// testOptions poll fast: the cell is local and the tests wait on it.
func testOptions() Options {
	return Options{Runner: cluster.Options{Instance: testInstance, PollMin: 100 * time.Millisecond, PollMax: 400 * time.Millisecond, LostAfter: 30 * time.Second}}
}

func TestConformance(t *testing.T) {
	clustertest.RequireSGE(t)
	runnertest.RunConformance(t,
		func(t *testing.T) runner.Runner { return New(testOptions()) },
		fakesched.Spec,
		runnertest.Scheduler())
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

// TestInjectionReachesNobody submits a job whose directory, log paths,
// environment and arguments are full of shell syntax and directive text
// to the real Grid Engine: the job runs in that exact directory with
// exactly those arguments, and nothing the text says happens.
func TestInjectionReachesNobody(t *testing.T) {
	clustertest.RequireSGE(t)
	root := t.TempDir()
	canary := filepath.Join(root, "pwned")
	hostile := fmt.Sprintf(`a b/it's "q" #$ -q nope/$(touch %s)/;touch %s`, canary, canary)
	dir := filepath.Join(root, hostile)
	logs := filepath.Join(root, `logs with "quotes" it's # -q nope;x`)
	for _, d := range []string{dir, logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	record := filepath.Join(root, "record")
	args := []string{"$(touch " + canary + ")", "`touch " + canary + "`", "; touch " + canary, `"`, `'`, "#$ -q nope", "%j", "$JOB_ID"}
	spec := runner.Spec{
		JobID: "INJECT_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1,
		Argv:   append([]string{fakesolver.Path()}, args...),
		Dir:    dir,
		Env:    []string{fakesolver.EnvRecord + "=" + record, "HOSTILE=$(touch " + canary + ")\"'`"},
		Stdout: filepath.Join(logs, "out %j.log"), Stderr: filepath.Join(logs, "err #1.log"),
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
	for _, f := range []string{"out %j.log", "err #1.log"} {
		if _, err := os.Stat(filepath.Join(logs, f)); err != nil {
			t.Errorf("log %q not written where asked: %v", f, err)
		}
	}
	if _, err := os.Stat(canary); err == nil {
		t.Errorf("%s exists: text from the job ran as a command", canary)
	}
	out, _ := exec.Command("qacct", "-j", h.ExternalID).Output()
	if !strings.Contains(string(out), "qname        all.q") {
		t.Errorf("qacct -j %s: the job did not run in all.q:\n%s", h.ExternalID, out)
	}
}

func TestRejectedSubmissionIsAClearError(t *testing.T) {
	clustertest.RequireSGE(t)
	r := New(testOptions())
	t.Cleanup(func() { r.Close() })
	spec := fakesched.Spec(t, runnertest.Job{JobID: "REJECT_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1})
	spec.Resources.Queue = "nosuchqueue"
	_, err := r.Start(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), `unknown queue "nosuchqueue"`) {
		t.Fatalf("Start into a missing queue: %v, want qsub's 'unknown queue' error", err)
	}
}

func TestPartitions(t *testing.T) {
	clustertest.RequireSGE(t)
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

// TestMultiHostMachineList runs a two-slot HFSS-style job (two "nodes"
// of one task, which the mpi parallel environment puts on the one host)
// on the real Grid Engine: the solver gets the machine list built from
// PE_HOSTFILE in place of numcores, and the job's log shows it.
func TestMultiHostMachineList(t *testing.T) {
	clustertest.RequireSGE(t)
	spec := fakesched.Spec(t, runnertest.Job{JobID: "MULTI_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1})
	record := filepath.Join(spec.Dir, "record")
	spec.Env = append(spec.Env, fakesolver.EnvRecord+"="+record)
	spec.Argv = []string{fakesolver.Path(), "-jobid", spec.JobID, "-distributed", "-machinelist", "numcores=2", "-batchsolve", "board:Nominal:Setup1", filepath.Join(spec.Dir, "board.aedb")}
	spec.MachineList = &runner.MachineList{Arg: 5, Utilization: 90}
	spec.Resources = runner.Resources{Nodes: 2, TasksPerNode: 1}
	r := New(testOptions())
	t.Cleanup(func() { r.Close() })
	if _, err := r.Start(context.Background(), spec); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if u := waitEnd(t, r, spec.JobID); u.State != runner.StateCompleted {
		t.Fatalf("job ended %s (%q)", u.State, u.Message)
	}
	host, err := peHost()
	if err != nil {
		t.Fatal(err)
	}
	want := "list=" + host + ":2:2:90%"
	runs, err := fakesolver.ReadRecord(record)
	if err != nil || len(runs) != 1 {
		t.Fatalf("record: %v, %d runs", err, len(runs))
	}
	if got := runs[0].Args[4]; got != want {
		t.Errorf("-machinelist %q, want %q (all arguments %q)", got, want, runs[0].Args)
	}
	log, _ := os.ReadFile(spec.Stdout)
	if !strings.Contains(string(log), "simjobs: -machinelist "+want+"\n") {
		t.Errorf("the job's log does not show the machine list %q:\n%s", want, log)
	}
}

// peHost is the name Grid Engine gives this host in PE_HOSTFILE: the
// host of its queue instances.
func peHost() (string, error) {
	out, err := exec.Command("qhost").Output()
	if err != nil {
		return "", err
	}
	lines := cluster.Lines(out)
	for _, l := range lines[2:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] != "global" {
			return f[0], nil
		}
	}
	return "", fmt.Errorf("qhost lists no host:\n%s", out)
}

// TestUnreachableIsUnavailable: while qmaster cannot be reached (here: a
// port nothing listens on) Start reports the scheduler unavailable, so
// the engine keeps the job pending and tries again, and nothing was
// submitted; once it answers, the same Start submits the job.
func TestUnreachableIsUnavailable(t *testing.T) {
	clustertest.RequireSGE(t)
	down := testOptions()
	down.Env = []string{"SGE_QMASTER_PORT=1"}
	r := New(down)
	t.Cleanup(func() { r.Close() })
	spec := fakesched.Spec(t, runnertest.Job{JobID: "OUTAGE_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1})
	_, err := r.Start(context.Background(), spec)
	if !errors.Is(err, runner.ErrUnavailable) || !strings.Contains(err.Error(), "qstat -xml") {
		t.Fatalf("Start while qmaster is unreachable: %v, want ErrUnavailable naming qstat", err)
	}
	if _, err := NewBackend(down).Partitions(context.Background()); err == nil || !strings.Contains(err.Error(), "qhost -q") {
		t.Errorf("Partitions while qmaster is unreachable: %v, want an error naming qhost", err)
	}
	up := New(testOptions())
	t.Cleanup(func() { up.Close() })
	if _, err := up.Start(context.Background(), spec); err != nil {
		t.Fatalf("Start once it answers: %v", err)
	}
	if u := waitEnd(t, up, spec.JobID); u.State != runner.StateCompleted {
		t.Errorf("job ended %s (%q)", u.State, u.Message)
	}
}

// TestFindsEndedJobInAccounting: a job that ended while no server
// watched has left qstat; Find still finds it by name, in qacct, so a
// restarted Start does not run it again.
func TestFindsEndedJobInAccounting(t *testing.T) {
	clustertest.RequireSGE(t)
	r := New(testOptions())
	t.Cleanup(func() { r.Close() })
	spec := fakesched.Spec(t, runnertest.Job{JobID: "ENDED_" + fmt.Sprint(time.Now().UnixNano()), Attempt: 1})
	h, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitEnd(t, r, spec.JobID) // reported once qacct has the record
	name, err := cluster.JobName(testInstance, spec.JobID, spec.Attempt, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBackend(testOptions())
	id, found, err := b.Find(context.Background(), name)
	if err != nil || !found || id != h.ExternalID {
		t.Errorf("Find(%s) = %q, %v, %v; want %q from the accounting", name, id, found, err, h.ExternalID)
	}
	if calls := b.Exec().Calls(); calls["qacct"] != 1 {
		t.Errorf("calls %v: want the accounting asked", calls)
	}
	if _, found, err := b.Find(context.Background(), name+"0"); found || err != nil {
		t.Errorf("Find of a name never used: found %v, %v", found, err)
	}
}

// TestOneListingPerCycle: however many jobs are tracked, a poll cycle
// runs qstat once (the rest of its calls are each Start's look for an
// earlier submission), and qacct only for jobs that left the listing.
func TestOneListingPerCycle(t *testing.T) {
	clustertest.RequireSGE(t)
	b := NewBackend(testOptions())
	r := cluster.New(b, testOptions().Runner)
	t.Cleanup(func() { r.Close() })
	const n = 5
	ids := map[string]bool{}
	for i := range n {
		spec := fakesched.Spec(t, runnertest.Job{JobID: fmt.Sprintf("CYCLE_%d_%d", time.Now().UnixNano(), i), Attempt: 1, Duration: time.Second})
		if _, err := r.Start(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
		ids[spec.JobID] = true
	}
	for len(ids) > 0 {
		select {
		case u := <-r.Updates():
			if u.State.Terminal() {
				if u.State != runner.StateCompleted {
					t.Errorf("%s ended %s (%q)", u.JobID, u.State, u.Message)
				}
				delete(ids, u.JobID)
			}
		case <-time.After(runnertest.Timeout):
			t.Fatalf("jobs %v did not end", ids)
		}
	}
	st := r.Stats()
	calls := b.Exec().Calls()
	t.Logf("%d jobs: %d cycles; calls %s", n, st.Polls, b.Exec().CallSummary())
	if calls["qstat"] != st.Polls+n {
		t.Errorf("qstat ran %d times for %d cycles and %d submissions", calls["qstat"], st.Polls, n)
	}
	if calls["qsub"] != n || calls["qacct"] < n {
		t.Errorf("calls %v: want %d qsub and a qacct per ended job", calls, n)
	}
}
