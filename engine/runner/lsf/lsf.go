// Package lsf runs jobs at an IBM Spectrum LSF cluster through bsub,
// bjobs, bkill, bqueues, bhosts, bmgroup, lshosts and lsload.
//
// Each job attempt gets a batch script (see Script) submitted on bsub's
// standard input (bsub < script, the form in which bsub reads #BSUB
// lines), a copy kept next to the job's log as job.lsf. Start first looks
// for the job's name with `bjobs -a -J`. Tracking is one
// `bjobs -a -noheader -o "jobid stat exit_code"` per poll cycle for all
// the user's jobs: for LSF the listing is also the accounting, since
// bjobs -a keeps DONE and EXIT jobs with their exit code for
// CLEAN_PERIOD (an hour by default). A job gone from it without an end
// seen is reported lost after LostAfter, never completed.
package lsf

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

// Options configure the LSF backend.
type Options struct {
	// Dir holds the LSF commands; "" uses PATH.
	Dir string
	// Env is added to the environment of every command (LSF_ENVDIR, ...).
	Env []string
	// Timeout bounds each command; default cluster.DefaultTimeout.
	Timeout time.Duration
	// Runner configures polling.
	Runner cluster.Options
}

// Backend speaks LSF's command-line tools. It implements cluster.Backend.
type Backend struct {
	cli *cluster.Exec
}

var _ cluster.Backend = (*Backend)(nil)

// Commands are the tools the backend needs.
var Commands = []string{"bsub", "bjobs", "bkill", "bqueues", "bhosts", "bmgroup", "lshosts", "lsload"}

// New returns a runner for the LSF cluster the commands reach.
func New(o Options) *cluster.Runner { return cluster.New(NewBackend(o), o.Runner) }

// NewBackend returns the backend alone.
func NewBackend(o Options) *Backend {
	return &Backend{cli: &cluster.Exec{Dir: o.Dir, Env: o.Env, Timeout: o.Timeout}}
}

// Exec is the backend's command runner (for its call counts).
func (b *Backend) Exec() *cluster.Exec { return b.cli }

// Name returns "lsf".
func (b *Backend) Name() string { return "lsf" }

// MaxNameLen is LSF's limit on job names.
func (b *Backend) MaxNameLen() int { return 4094 }

// Submit writes the script next to the job's log and submits it.
func (b *Backend) Submit(ctx context.Context, spec runner.Spec, name string) (string, error) {
	script, args, err := Script(spec, name)
	if err != nil {
		return "", fmt.Errorf("lsf: job %s: %w", spec.JobID, err)
	}
	id, err := b.cli.Submit(ctx, spec, cluster.Submission{Command: "bsub", Args: args, Script: script, Copy: "job.lsf", Parse: parseBsub})
	if err != nil {
		return "", fmt.Errorf("lsf: %w", err)
	}
	return id, nil
}

// bjobs runs bjobs with args; "nothing found" is an empty answer.
func (b *Backend) bjobs(ctx context.Context, args ...string) (map[string]cluster.Status, error) {
	out, err := b.cli.Run(ctx, nil, "bjobs", append([]string{"-a", "-noheader", "-o", bjobsFormat}, args...)...)
	var ce *cluster.CommandError
	if err != nil && !(errors.As(err, &ce) && errors.Is(err, cluster.ErrExit) && noJobs(ce.Stderr)) {
		return nil, fmt.Errorf("lsf: %w", err)
	}
	st, perr := parseBjobs(out.Stdout)
	if perr != nil {
		return nil, fmt.Errorf("lsf: %w", perr)
	}
	return st, nil
}

// Find looks for a job named name among the jobs bjobs -a knows.
func (b *Backend) Find(ctx context.Context, name string) (string, bool, error) {
	st, err := b.bjobs(ctx, "-J", name)
	if err != nil {
		return "", false, err
	}
	if len(st) == 0 {
		return "", false, nil
	}
	ids := make([]string, 0, len(st))
	for id := range st {
		ids = append(ids, id)
	}
	return slices.MaxFunc(ids, func(a, b string) int {
		na, _ := strconv.ParseInt(a, 10, 64)
		nb, _ := strconv.ParseInt(b, 10, 64)
		return int(na - nb)
	}), true, nil
}

// List runs one bjobs -a for every job of the user.
func (b *Backend) List(ctx context.Context, ids []string) (map[string]cluster.Status, error) {
	return b.bjobs(ctx)
}

// Final asks bjobs -a about jobs by id: the listing already carries the
// end of every job it still knows, so this finds only jobs that ended
// between a listing and CLEAN_PERIOD's edge.
func (b *Backend) Final(ctx context.Context, ids []string) (map[string]cluster.End, error) {
	st, err := b.bjobs(ctx, ids...)
	if err != nil {
		return nil, err
	}
	res := make(map[string]cluster.End)
	for id, s := range st {
		if s.End != nil {
			res[id] = *s.End
		}
	}
	return res, nil
}

// Cancel runs bkill; a job that already finished or that LSF forgot is
// not an error.
func (b *Backend) Cancel(ctx context.Context, id string) error {
	if !cluster.Digits(id) {
		return fmt.Errorf("lsf: %w: job id %q", cluster.ErrInvalid, id)
	}
	_, err := b.cli.Run(ctx, nil, "bkill", id)
	var ce *cluster.CommandError
	if err != nil && errors.As(err, &ce) && (strings.Contains(ce.Stderr, "Job has already finished") || strings.Contains(ce.Stderr, "No matching job found")) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lsf: %w", err)
	}
	return nil
}

// Partitions joins the queues' HOSTS (bqueues -l, host groups through
// bmgroup) with the hosts' slots (bhosts), CPUs and memory (lshosts) and
// free memory (lsload).
func (b *Backend) Partitions(ctx context.Context) ([]runner.Partition, error) {
	run := func(name string, args ...string) ([]byte, error) {
		out, err := b.cli.Run(ctx, nil, name, args...)
		if err != nil {
			return nil, fmt.Errorf("lsf: %w", err)
		}
		return out.Stdout, nil
	}
	qout, err := run("bqueues", "-l")
	if err != nil {
		return nil, err
	}
	qs, err := parseBqueues(qout)
	if err != nil {
		return nil, fmt.Errorf("lsf: %w", err)
	}
	var outs [3][]byte
	for i, c := range [][]string{{"bhosts", "-w"}, {"lshosts", "-w"}, {"lsload", "-w"}} {
		if outs[i], err = run(c[0], c[1:]...); err != nil {
			return nil, err
		}
	}
	hosts, err := parseHosts(outs[0], outs[1], outs[2])
	if err != nil {
		return nil, fmt.Errorf("lsf: %w", err)
	}
	groups := map[string][]string{}
	if usesGroups(qs) {
		gout, err := run("bmgroup", "-w")
		if err != nil {
			return nil, err
		}
		if groups, err = parseBmgroup(gout); err != nil {
			return nil, fmt.Errorf("lsf: %w", err)
		}
	}
	return partitions(qs, hosts, groups), nil
}

func usesGroups(qs []queue) bool {
	for _, q := range qs {
		for _, h := range q.hosts {
			if strings.HasSuffix(h, "/") || strings.HasPrefix(h, "~") {
				return true
			}
		}
	}
	return false
}
