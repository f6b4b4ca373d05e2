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
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/lsf"
	"github.com/simjobs/simjobs/engine/runner/pbs"
	"github.com/simjobs/simjobs/engine/runner/slurm"
	"github.com/simjobs/simjobs/engine/runner/winhpc"
)

// schedulerSigns are the commands that give each scheduler away, in the
// order auto-detection tries them. SLURM comes first: its torque wrappers
// provide qsub and pbsnodes too. Grid Engine has qsub but no pbsnodes.
var schedulerSigns = []struct {
	name string
	cmds []string
}{
	{"slurm", []string{"sbatch", "squeue", "scancel"}},
	{"lsf", []string{"bsub", "bjobs", "bkill"}},
	{"pbs", []string{"qsub", "qstat", "qdel", "pbsnodes"}},
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
	return "", "no scheduler commands on PATH (looked for sbatch, bsub, qsub with pbsnodes, and HPC Pack's job and node)"
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

// probeScheduler asks the scheduler for its partitions: whether it
// answers, for /system/status. A scheduler that does not answer yet is
// still used (jobs fail at submission with the reason, or wait for it).
func probeScheduler(ctx context.Context, r runner.Runner, log *slog.Logger) bool {
	pl, ok := r.(runner.PartitionLister)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := pl.Partitions(ctx); err != nil {
		log.Warn("the cluster scheduler does not answer: jobs stay pending until it does (--scheduler none runs them on this host instead)", "scheduler", r.Name(), "err", err)
		return false
	}
	return true
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
