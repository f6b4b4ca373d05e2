//go:build linux || darwin

package slurm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// scaleCLI is a fake squeue/sacct/scontrol that prints files the test
// writes and logs every call: enough to track thousands of jobs without
// a cluster.
func scaleCLI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, cmd := range []string{"squeue", "sacct", "scontrol", "sbatch", "scancel"} {
		body := fmt.Sprintf("#!/bin/sh\necho %s >>\"$SCALE_DIR/calls\"\ncat \"$SCALE_DIR/%s.out\" 2>/dev/null\n", cmd, cmd)
		if err := os.WriteFile(filepath.Join(dir, cmd), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// put replaces a fake command's output at once (rename), as a listing is
// a snapshot.
func put(t *testing.T, dir, cmd, out string) {
	t.Helper()
	tmp := filepath.Join(dir, cmd+".tmp")
	if err := os.WriteFile(tmp, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, cmd+".out")); err != nil {
		t.Fatal(err)
	}
}

func calls(t *testing.T, dir string) map[string]int {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "calls"))
	n := map[string]int{}
	for _, c := range strings.Fields(string(b)) {
		n[c]++
	}
	return n
}

// TestTrackTenThousandJobs is the benchmark: 10,000 tracked jobs
// cost ONE squeue per poll cycle, and the 1,000 that end together cost
// ONE sacct between them.
func TestTrackTenThousandJobs(t *testing.T) {
	const n, ending = 10000, 1000
	dir := scaleCLI(t)
	var sq strings.Builder
	for i := range n {
		fmt.Fprintf(&sq, "%d|RUNNING|2026-11-25T11:27:58|None\n", 1000+i)
	}
	put(t, dir, "squeue", sq.String())

	b := NewBackend(Options{Dir: dir, Env: []string{"SCALE_DIR=" + dir}, User: "bench"})
	r := cluster.New(b, cluster.Options{PollMin: 20 * time.Millisecond, PollMax: 20 * time.Millisecond})
	t.Cleanup(func() { r.Close() })
	for i := range n {
		rf := runner.Ref{JobID: fmt.Sprint("bench_", i), Attempt: 1, Handle: runner.Handle{ExternalID: fmt.Sprint(1000 + i)}}
		if err := r.Adopt(context.Background(), rf); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if u := <-r.Updates(); u.State != runner.StateRunning {
			t.Fatalf("%+v", u)
		}
	}

	// The first `ending` jobs end: the listing says so, sacct has the codes.
	var sq2, sa strings.Builder
	for i := range n {
		id := 1000 + i
		if i < ending {
			fmt.Fprintf(&sq2, "%d|COMPLETED|2026-11-25T11:27:58|None\n", id)
			fmt.Fprintf(&sa, "%d|FAILED|%d:0|2026-11-25T11:27:58|2026-11-25T11:30:00\n", id, 1+i%200)
		} else {
			fmt.Fprintf(&sq2, "%d|RUNNING|2026-11-25T11:27:58|None\n", id)
		}
	}
	put(t, dir, "sacct", sa.String())
	put(t, dir, "squeue", sq2.String())
	start := time.Now()
	for range ending {
		u := <-r.Updates()
		if u.State != runner.StateFailed || u.ExitCode == nil || *u.ExitCode < 1 {
			t.Fatalf("%+v", u)
		}
	}
	endLag := time.Since(start)

	// A few more cycles with nothing changing.
	before := r.Stats().Polls
	enginetest.WaitFor(t, "five more polls", func() bool { return r.Stats().Polls >= before+5 })
	r.Close()
	st := r.Stats()
	got := calls(t, dir)
	t.Logf("10,000 jobs tracked for %d cycles: squeue ran %d times, sacct %d, scontrol %d, sbatch %d; 1,000 ends reported %v after the listing changed",
		st.Polls, got["squeue"], got["sacct"], got["scontrol"], got["sbatch"], endLag.Round(time.Millisecond))
	if got["squeue"] != st.Polls {
		t.Errorf("squeue ran %d times in %d cycles, want one per cycle", got["squeue"], st.Polls)
	}
	if got["sacct"] != 1 || got["scontrol"] != 0 || got["sbatch"] != 0 || got["scancel"] != 0 {
		t.Errorf("calls %v: want one sacct for the 1,000 jobs that ended together, nothing else", got)
	}
	if st.Tracked != n-ending {
		t.Errorf("tracked %d, want %d", st.Tracked, n-ending)
	}
}

// BenchmarkListTenThousand is the cost of one cycle's listing of 10,000
// jobs: the squeue call (here a cat of its output) and the parse.
func BenchmarkListTenThousand(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "squeue"), []byte("#!/bin/sh\ncat \"$SCALE_DIR/squeue.out\"\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	var sq strings.Builder
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprint(1000 + i)
		fmt.Fprintf(&sq, "%s|RUNNING|2026-11-25T11:27:58|None\n", ids[i])
	}
	if err := os.WriteFile(filepath.Join(dir, "squeue.out"), []byte(sq.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	be := NewBackend(Options{Dir: dir, Env: []string{"SCALE_DIR=" + dir}, User: "bench"})
	for b.Loop() {
		st, err := be.List(context.Background(), ids)
		if err != nil || len(st) != len(ids) {
			b.Fatal(err, len(st))
		}
	}
}

// TestCLIFailuresReachTheCaller: a hung sbatch, a squeue printing
// garbage, a missing sinfo and a failing scancel each give an error that
// names the command and says what happened; no job is tracked on a
// failed submission.
func TestCLIFailuresReachTheCaller(t *testing.T) {
	dir := t.TempDir()
	scripts := map[string]string{
		"sbatch":  "sleep 30",
		"squeue":  "echo '<html><body>502 Bad Gateway</body></html>'",
		"sacct":   "echo 'sacct: error: Problem talking to the database: Connection refused' >&2; exit 1",
		"scancel": "echo 'scancel: error: Kill job error on job id 7: Access/permission denied' >&2; exit 1",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := NewBackend(Options{Dir: dir, Timeout: 300 * time.Millisecond, User: "u"})
	ctx := context.Background()
	spec := runner.Spec{JobID: "x", Attempt: 1, Argv: []string{"/bin/true"}}

	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"sbatch hangs", func() error { _, err := b.Submit(ctx, spec, "simjobs.x.1"); return err }(),
			[]string{"sbatch --parsable", "timed out after 300ms"}},
		{"squeue prints garbage", func() error { _, err := b.List(ctx, []string{"7"}); return err }(),
			[]string{"unexpected output", "squeue line 1"}},
		{"sacct fails", func() error { _, err := b.Final(ctx, []string{"7"}); return err }(),
			[]string{"sacct", "exit status 1", "Connection refused"}},
		{"scancel refused", b.Cancel(ctx, "7"), []string{"scancel 7: exit status 1", "Access/permission denied"}},
		{"sinfo missing", func() error { _, err := b.Partitions(ctx); return err }(),
			[]string{"sinfo", "command not found"}},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(tt.err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tt.name, tt.err, w)
			}
		}
	}

	// Through the runner: the failed submission is looked for again (a
	// hung sbatch may have submitted), which fails too: Start reports the
	// submission's error and tracks nothing.
	r := cluster.New(b, cluster.Options{})
	t.Cleanup(func() { r.Close() })
	if _, err := r.Start(ctx, spec); err == nil || !strings.Contains(err.Error(), "squeue") {
		t.Errorf("Start = %v, want the lookup's squeue error (no submission without a lookup)", err)
	}
	if st := r.Stats(); st.Tracked != 0 {
		t.Errorf("tracked %d jobs after failed Starts", st.Tracked)
	}
}
