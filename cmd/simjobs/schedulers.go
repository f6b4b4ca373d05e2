package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/lsf"
	"github.com/simjobs/simjobs/engine/runner/pbs"
	"github.com/simjobs/simjobs/engine/runner/sge"
	"github.com/simjobs/simjobs/engine/runner/slurm"
	"github.com/simjobs/simjobs/engine/runner/winhpc"
	"github.com/simjobs/simjobs/server"
)

// schedulerSigns are the commands that give each scheduler away, in the
// order auto-detection tries them. SLURM comes first: its torque wrappers
// provide qsub and pbsnodes too. Grid Engine has qsub but no pbsnodes, and
// qacct, which PBS has not.
var schedulerSigns = []struct {
	name string
	cmds []string
}{
	{"slurm", []string{"sbatch", "squeue", "scancel"}},
	{"lsf", []string{"bsub", "bjobs", "bkill"}},
	{"pbs", []string{"qsub", "qstat", "qdel", "pbsnodes"}},
	{"sge", []string{"qsub", "qstat", "qacct", "qdel"}},
	{"windows_hpc", []string{"job", "node"}},
}

// detectScheduler looks for a cluster scheduler's commands on PATH and
// says what it found, or why it found none.
func detectScheduler() (name, by string) {
	return detect(exec.LookPath, os.Getenv, runtime.GOOS)
}

// detect is detectScheduler with its surroundings passed in. HPC Pack's
// `job` and `node` are generic names, so they count only on Windows or
// where CCP_SCHEDULER (set by the HPC Pack client) names a head node.
func detect(lookPath func(string) (string, error), getenv func(string) string, goos string) (name, by string) {
	for _, s := range schedulerSigns {
		if s.name == "windows_hpc" && goos != "windows" && getenv("CCP_SCHEDULER") == "" {
			continue
		}
		found := true
		for _, c := range s.cmds {
			if _, err := lookPath(c); err != nil {
				found = false
				break
			}
		}
		if found {
			return s.name, strings.Join(s.cmds, ", ") + " on PATH"
		}
	}
	return "", "no scheduler commands on PATH (looked for sbatch, bsub, qsub with pbsnodes, qsub with qacct, and HPC Pack's job and node)"
}

// newCluster returns the runner of a cluster scheduler, after checking
// that its commands are installed. Its job names carry an instance token
// kept in dataDir (see clusterInstance).
func newCluster(ctx context.Context, name, dataDir string, log *slog.Logger) (runner.Runner, error) {
	instance, err := clusterInstance(dataDir)
	if err != nil {
		return nil, err
	}
	opts := cluster.Options{Instance: instance, Logger: log}
	var cmds []string
	var r *cluster.Runner
	switch name {
	case "slurm":
		cmds, r = slurm.Commands, slurm.New(slurm.Options{Runner: opts})
	case "lsf":
		cmds, r = lsf.Commands, lsf.New(lsf.Options{Runner: opts})
	case "pbs":
		cmds, r = pbs.Commands, pbs.New(pbs.Options{Runner: opts})
	case "sge":
		// SIMJOBS_SGE_PE names the parallel environment of jobs of several
		// slots (default "mpi"), as CCP_SCHEDULER names HPC Pack's head node.
		cmds, r = sge.Commands, sge.New(sge.Options{PE: os.Getenv("SIMJOBS_SGE_PE"), Runner: opts})
	case "windows_hpc":
		cmds, r = winhpc.Commands, winhpc.New(winhpc.Options{Scheduler: os.Getenv("CCP_SCHEDULER"), Runner: opts})
	default:
		return nil, fmt.Errorf("unknown scheduler %q: %w", name, errNoScheduler)
	}
	var missing []string
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		r.Close()
		return nil, fmt.Errorf("%s needs %s on PATH: %w", name, strings.Join(missing, ", "), cluster.ErrCommandNotFound)
	}
	log.Info("jobs go to the cluster scheduler", "scheduler", name, "instance", instance)
	return r, nil
}

// schedulerWatchEvery is how often the scheduler is asked whether it
// answers, for /system/status.
const schedulerWatchEvery = 30 * time.Second

// schedulerWatch keeps whether the cluster scheduler answers, for
// /system/status: asked when it is made, then in the background between
// start and shutdown (a request never waits for the scheduler). A
// scheduler that does not answer is still used: jobs wait pending until it
// does. The app starts and stops it like its other parts; it used to be a
// goroutine bound only to a context, that nothing waited for.
type schedulerWatch struct {
	pl    runner.PartitionLister
	name  string
	log   *slog.Logger
	every time.Duration
	ok    atomic.Bool

	ctx    context.Context // ends at shutdown, cutting a probe short
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newSchedulerWatch asks r once, now; start asks again every interval. It
// returns nil when r cannot be asked (it has no partitions to list).
func newSchedulerWatch(ctx context.Context, r runner.Runner, every time.Duration, log *slog.Logger) *schedulerWatch {
	pl, ok := r.(runner.PartitionLister)
	if !ok {
		return nil
	}
	w := &schedulerWatch{pl: pl, name: r.Name(), log: log, every: every}
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	w.ok.Store(true)
	w.probe(ctx)
	return w
}

// start asks the scheduler every interval until shutdown.
func (w *schedulerWatch) start() {
	if w == nil {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(w.every)
		defer t.Stop()
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
				w.probe(w.ctx)
			}
		}
	}()
}

// shutdown stops the probes and waits for the one under way.
func (w *schedulerWatch) shutdown() {
	if w == nil {
		return
	}
	w.cancel()
	w.wg.Wait()
}

// probe asks the scheduler for its partitions and says when the answer
// changed.
func (w *schedulerWatch) probe(parent context.Context) {
	// While jobs are tracked the cluster runner lists them anyway: its
	// last listing answers the question without another command.
	if av, ok := w.pl.(interface {
		Available(within time.Duration) (ok, known bool)
	}); ok && w.every > 0 {
		if up, known := av.Available(w.every); known {
			var err error
			if !up {
				err = errListingFailed
			}
			w.note(err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(parent, 15*time.Second)
	defer cancel()
	_, err := w.pl.Partitions(ctx)
	if err != nil && parent.Err() != nil {
		return // shutting down: no news
	}
	w.note(err)
}

// errListingFailed is why a scheduler whose job listing failed counts as
// not answering (the runner logs the listing's own error).
var errListingFailed = errors.New("its last job listing failed")

// note records the answer and logs when it changed.
func (w *schedulerWatch) note(err error) {
	was := w.ok.Swap(err == nil)
	switch {
	case err != nil && was:
		w.log.Warn("the cluster scheduler does not answer: jobs stay pending until it does (--scheduler none runs them on this host instead)", "scheduler", w.name, "err", err)
	case err == nil && !was:
		w.log.Info("the cluster scheduler answers again", "scheduler", w.name)
	}
}

// Available reports whether the scheduler answered when last asked.
func (w *schedulerWatch) Available() bool { return w.ok.Load() }

// info is what /system/status says of the scheduler.
func (w *schedulerWatch) info(active, by string) server.SchedulerInfo {
	if w == nil {
		return server.SchedulerInfo{Active: active, DetectedBy: by, BackendAvailable: true}
	}
	return server.SchedulerInfo{Active: active, DetectedBy: by, BackendAvailable: w.Available(), Available: w.Available}
}

// instanceFile holds the token that sets this data directory's jobs
// apart at the scheduler.
const instanceFile = "scheduler-instance"

// clusterInstance returns the token that goes into every scheduler job
// name (cluster.JobName): the one in dataDir, or a new one when there is
// none or when the database is new. A new database numbers attempts from 1
// again, and without a new token a restarted job id would find last
// week's job of the same name at the scheduler and take it for its own.
func clusterInstance(dataDir string) (string, error) {
	path := filepath.Join(dataDir, instanceFile)
	if _, err := os.Stat(filepath.Join(dataDir, "simjobs.db")); err == nil {
		b, err := os.ReadFile(path)
		tok := strings.TrimSpace(string(b))
		if err == nil && tok != "" && cluster.CheckInstance(tok) == nil {
			return tok, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("scheduler instance: %w", err)
		}
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("scheduler instance: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("scheduler instance: %w", err)
	}
	return tok, nil
}
