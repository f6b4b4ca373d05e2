package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/runner"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name     string
		onPath   []string
		env      map[string]string
		goos     string
		want     string
		wantHint string
	}{
		{"nothing", nil, nil, "linux", "", "no scheduler commands"},
		{"slurm", []string{"sbatch", "squeue", "scancel"}, nil, "linux", "slurm", "sbatch, squeue, scancel on PATH"},
		{"slurm with its torque wrappers", []string{"sbatch", "squeue", "scancel", "qsub", "qstat", "qdel", "pbsnodes"}, nil, "linux", "slurm", "sbatch"},
		{"lsf", []string{"bsub", "bjobs", "bkill"}, nil, "linux", "lsf", "bsub"},
		{"pbs", []string{"qsub", "qstat", "qdel", "pbsnodes"}, nil, "linux", "pbs", "pbsnodes"},
		{"qsub alone is neither", []string{"qsub", "qstat", "qdel"}, nil, "linux", "", "no scheduler"},
		{"grid engine", []string{"qsub", "qstat", "qacct", "qdel", "qhost"}, nil, "linux", "sge", "qsub, qstat, qacct, qdel on PATH"},
		{"grid engine is not pbs", []string{"qsub", "qstat", "qacct", "qdel"}, nil, "linux", "sge", "qacct"},
		{"half a slurm", []string{"sbatch"}, nil, "linux", "", "no scheduler"},
		{"hpc pack on windows", []string{"job", "node"}, nil, "windows", "windows_hpc", "job, node on PATH"},
		{"job and node elsewhere are not hpc pack", []string{"job", "node"}, nil, "linux", "", "no scheduler"},
		{"hpc pack client elsewhere", []string{"job", "node"}, map[string]string{"CCP_SCHEDULER": "head01"}, "linux", "windows_hpc", "job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			look := func(name string) (string, error) {
				for _, p := range tt.onPath {
					if p == name {
						return "/usr/bin/" + name, nil
					}
				}
				return "", errors.New("not found")
			}
			got, by := detect(look, func(k string) string { return tt.env[k] }, tt.goos)
			if got != tt.want || !strings.Contains(by, tt.wantHint) {
				t.Errorf("detect = %q, %q; want %q, mentioning %q", got, by, tt.want, tt.wantHint)
			}
		})
	}
}

func TestClusterInstance(t *testing.T) {
	dir := t.TempDir()
	first, err := clusterInstance(dir)
	if err != nil || first == "" {
		t.Fatalf("clusterInstance = %q, %v", first, err)
	}
	// No database yet: every start is a new database, a new token.
	second, _ := clusterInstance(dir)
	if second == first {
		t.Errorf("token %q kept although there is no database", first)
	}
	if err := os.WriteFile(filepath.Join(dir, "simjobs.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	third, _ := clusterInstance(dir)
	if third != second {
		t.Errorf("token changed from %q to %q with the database in place", second, third)
	}
}

// flakyScheduler is a scheduler whose partitions answer or not, as the
// test says.
type flakyScheduler struct {
	runner.Runner // only Name and Partitions are called
	down          atomic.Bool
}

func (f *flakyScheduler) Name() string { return "flaky" }

func (f *flakyScheduler) Partitions(ctx context.Context) ([]runner.Partition, error) {
	if f.down.Load() {
		return nil, errors.New("slurm_load_partitions: Unable to contact slurm controller (connect failure)")
	}
	return nil, nil
}

// /system/status's backend_available follows the scheduler: asked at
// start-up, then again in the background, each change logged once.
func TestSchedulerWatch(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	f := &flakyScheduler{}
	f.down.Store(true)
	w := newSchedulerWatch(ctx, f, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	w.start()
	defer w.shutdown()
	info := w.info("flaky", "flag")
	if info.BackendAvailable || info.Available() {
		t.Fatal("a scheduler that did not answer at start-up shows as available")
	}
	until := func(want bool) {
		t.Helper()
		enginetest.WaitFor(t, fmt.Sprintf("Available to turn %v", want), func() bool { return info.Available() == want })
	}
	f.down.Store(false)
	until(true)
	f.down.Store(true)
	until(false)
	time.Sleep(50 * time.Millisecond) // more probes, no more news
	got := logs.String()
	if strings.Count(got, "does not answer") != 2 || strings.Count(got, "answers again") != 1 {
		t.Errorf("each change should be logged once:\n%s", got)
	}
	if w := newSchedulerWatch(ctx, struct{ runner.Runner }{}, time.Hour, slog.Default()); w != nil || !w.info("x", "flag").BackendAvailable {
		t.Error("a runner without partitions should count as available")
	}
}

// listingScheduler is a cluster runner that is listing its jobs: it says
// whether the last listing answered, and counts the questions asked.
type listingScheduler struct {
	flakyScheduler
	asked atomic.Int32
}

func (l *listingScheduler) Partitions(ctx context.Context) ([]runner.Partition, error) {
	l.asked.Add(1)
	return l.flakyScheduler.Partitions(ctx)
}

func (l *listingScheduler) Available(time.Duration) (ok, known bool) { return !l.down.Load(), true }

// While the runner lists jobs, the watch goes by its last listing and asks
// nothing of its own.
func TestSchedulerWatchUsesTheRunnersListing(t *testing.T) {
	t.Parallel()
	l := &listingScheduler{}
	l.down.Store(true)
	w := newSchedulerWatch(context.Background(), l, 5*time.Millisecond, slog.New(slog.DiscardHandler))
	w.start()
	defer w.shutdown()
	if w.Available() {
		t.Fatal("a scheduler whose listing failed shows as available")
	}
	l.down.Store(false)
	enginetest.WaitFor(t, "Available after the listing answered", w.Available)
	if n := l.asked.Load(); n != 0 {
		t.Errorf("the watch asked for partitions %d times while the runner was listing", n)
	}
}

// waitScheduler is enginetest.WaitForNil with a real scheduler's bound:
// its queue and accounting take their own time, at least 90 s (WaitFor
// gives 60 locally). On timeout it fails with cond's last error and the
// server's log.
func waitScheduler(t *testing.T, serverLog fmt.Stringer, cond func() error) {
	t.Helper()
	within := max(90*time.Second, enginetest.Timeout())
	if err := enginetest.Poll(within, cond); err != nil {
		t.Fatalf("after %v: %v\nserver log:\n%s", within, err, serverLog)
	}
}
