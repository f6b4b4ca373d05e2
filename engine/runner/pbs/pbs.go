// Package pbs runs jobs at a PBS Professional (or OpenPBS) cluster through
// qsub, qstat, qselect, qdel and pbsnodes.
//
// Each job attempt gets a batch script (see Script) submitted on qsub's
// standard input, a copy kept next to the job's log as job.pbs. Start
// first looks for the job's name with `qselect -x -N`. Tracking is one
// `qstat -x <ids>` per poll cycle for all jobs; the exit status of the
// jobs that finished comes from one `qstat -x -f <ids>` (the job history,
// kept for job_history_duration, which must be enabled).
package pbs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// Options configure the PBS backend.
type Options struct {
	// Dir holds the PBS commands; "" uses PATH.
	Dir string
	// Env is added to the environment of every command (PBS_CONF_FILE, ...).
	Env []string
	// Timeout bounds each command; default cluster.DefaultTimeout.
	Timeout time.Duration
	// Runner configures polling.
	Runner cluster.Options
}

// Backend speaks PBS's command-line tools. It implements cluster.Backend.
type Backend struct {
	cli *cluster.Exec
}

var _ cluster.Backend = (*Backend)(nil)

// Commands are the tools the backend needs.
var Commands = []string{"qsub", "qstat", "qselect", "qdel", "pbsnodes"}

// New returns a runner for the PBS server the commands reach.
func New(o Options) *cluster.Runner { return cluster.New(NewBackend(o), o.Runner) }

// NewBackend returns the backend alone.
func NewBackend(o Options) *Backend {
	return &Backend{cli: &cluster.Exec{Dir: o.Dir, Env: o.Env, Timeout: o.Timeout}}
}

// Exec is the backend's command runner (for its call counts).
func (b *Backend) Exec() *cluster.Exec { return b.cli }

// Name returns "pbs".
func (b *Backend) Name() string { return "pbs" }

// MaxNameLen is PBS Professional's limit on job names.
func (b *Backend) MaxNameLen() int { return 236 }

// Submit writes the script next to the job's log and submits it.
func (b *Backend) Submit(ctx context.Context, spec runner.Spec, name string) (string, error) {
	script, args, err := Script(spec, name)
	if err != nil {
		return "", fmt.Errorf("pbs: job %s: %w", spec.JobID, err)
	}
	id, err := b.cli.Submit(ctx, spec, cluster.Submission{Command: "qsub", Args: args, Script: script, Copy: "job.pbs", Parse: parseQsub})
	if err != nil {
		return "", fmt.Errorf("pbs: %w", err)
	}
	return id, nil
}

// Find looks for a job named name, finished ones included.
func (b *Backend) Find(ctx context.Context, name string) (string, bool, error) {
	out, err := b.cli.Run(ctx, nil, "qselect", "-x", "-N", name)
	if err != nil {
		return "", false, fmt.Errorf("pbs: %w", err)
	}
	ids, err := parseQselect(out.Stdout)
	if err != nil {
		return "", false, fmt.Errorf("pbs: %w", err)
	}
	if len(ids) == 0 {
		return "", false, nil
	}
	return slices.MaxFunc(ids, func(a, b string) int {
		na, _ := strconv.ParseInt(seq(a), 10, 64)
		nb, _ := strconv.ParseInt(seq(b), 10, 64)
		return int(na - nb)
	}), true, nil
}

// onlyUnknown reports whether a failed qstat or qdel complained only about
// jobs it does not know or that finished: the answer for the others
// stands.
func onlyUnknown(err error) bool {
	var ce *cluster.CommandError
	if !errors.As(err, &ce) || !errors.Is(err, cluster.ErrExit) {
		return false
	}
	for _, l := range cluster.Lines([]byte(ce.Stderr)) {
		if !strings.Contains(l, "Unknown Job Id") && !strings.Contains(l, "Job has finished") {
			return false
		}
	}
	return true
}

// List runs one `qstat -x` naming every tracked job.
func (b *Backend) List(ctx context.Context, ids []string) (map[string]cluster.Status, error) {
	out, err := b.cli.Run(ctx, nil, "qstat", append([]string{"-x"}, ids...)...)
	if err != nil && !onlyUnknown(err) {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	bySeq, err := parseQstat(out.Stdout)
	if err != nil {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	res := make(map[string]cluster.Status, len(ids))
	for _, id := range ids {
		if s, ok := bySeq[seq(id)]; ok {
			res[id] = s
		}
	}
	return res, nil
}

// Final reads the exit status of finished jobs from one `qstat -x -f`.
func (b *Backend) Final(ctx context.Context, ids []string) (map[string]cluster.End, error) {
	out, err := b.cli.Run(ctx, nil, "qstat", append([]string{"-x", "-f"}, ids...)...)
	if err != nil && !onlyUnknown(err) {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	bySeq, err := parseFinal(out.Stdout)
	if err != nil {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	res := make(map[string]cluster.End, len(ids))
	for _, id := range ids {
		if e, ok := bySeq[seq(id)]; ok {
			res[id] = e
		}
	}
	return res, nil
}

// Cancel runs qdel; a job that finished or that PBS forgot is not an
// error.
func (b *Backend) Cancel(ctx context.Context, id string) error {
	if !cluster.Digits(seq(id)) {
		return fmt.Errorf("pbs: %w: job id %q", cluster.ErrInvalid, id)
	}
	if _, err := b.cli.Run(ctx, nil, "qdel", id); err != nil && !onlyUnknown(err) {
		return fmt.Errorf("pbs: %w", err)
	}
	return nil
}

// Partitions combines the execution queues (qstat -Q) with the nodes
// (pbsnodes -a).
func (b *Backend) Partitions(ctx context.Context) ([]runner.Partition, error) {
	out, err := b.cli.Run(ctx, nil, "qstat", "-Q")
	if err != nil {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	queues, err := parseQueues(out.Stdout)
	if err != nil {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	out, err = b.cli.Run(ctx, nil, "pbsnodes", "-a")
	if err != nil {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	nodes, err := parseNodes(out.Stdout)
	if err != nil {
		return nil, fmt.Errorf("pbs: %w", err)
	}
	return partitions(queues, nodes), nil
}
