// Package sge runs jobs at a Grid Engine cluster (Son of Grid Engine,
// Univa/Altair Grid Engine, Open Cluster Scheduler) through qsub, qstat,
// qacct, qdel and qhost.
//
// Each job attempt gets a batch script (see Script) submitted on qsub's
// standard input with -terse, a copy kept next to the job's log as
// job.sge. Start first looks for the job's name: in `qstat -xml`, then
// in the last week's accounting (`qacct -d 7 -j NAME`). Tracking is one `qstat -xml -u
// USER` per poll cycle for all jobs; a job that left it is looked up with
// `qacct -j ID` (one call per job: qacct takes one) for its exit status.
// A job deleted before it started has no accounting record: qdel's answer
// says so, and the job ends cancelled at once.
package sge

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// DefaultPE is the parallel environment jobs of several slots ask for
// when Options.PE is empty.
const DefaultPE = "mpi"

// Options configure the Grid Engine backend.
type Options struct {
	// Dir holds the Grid Engine commands; "" uses PATH.
	Dir string
	// Env is added to the environment of every command (SGE_ROOT,
	// SGE_CELL, ...).
	Env []string
	// Timeout bounds each command; default cluster.DefaultTimeout.
	Timeout time.Duration
	// User whose jobs qstat lists; default the user the server runs as.
	User string
	// PE is the parallel environment of jobs of more than one slot;
	// default DefaultPE.
	PE string
	// Runner configures polling.
	Runner cluster.Options
}

// Backend speaks Grid Engine's command-line tools. It implements
// cluster.Backend.
type Backend struct {
	cli  *cluster.Exec
	user string
	pe   string

	mu      sync.Mutex
	deleted map[string]bool // qdel removed them before they started
}

var _ cluster.Backend = (*Backend)(nil)

// Commands are the tools the backend needs.
var Commands = []string{"qsub", "qstat", "qacct", "qdel", "qhost"}

// New returns a runner for the Grid Engine cell the commands reach.
func New(o Options) *cluster.Runner { return cluster.New(NewBackend(o), o.Runner) }

// NewBackend returns the backend alone.
func NewBackend(o Options) *Backend {
	u := o.User
	if u == "" {
		if cur, err := user.Current(); err == nil {
			u = cur.Username
		}
	}
	pe := o.PE
	if pe == "" {
		pe = DefaultPE
	}
	return &Backend{cli: &cluster.Exec{Dir: o.Dir, Env: o.Env, Timeout: o.Timeout}, user: u, pe: pe, deleted: map[string]bool{}}
}

// Exec is the backend's command runner (for its call counts).
func (b *Backend) Exec() *cluster.Exec { return b.cli }

// Name returns "sge".
func (b *Backend) Name() string { return "sge" }

// MaxNameLen: Grid Engine keeps long job names.
func (b *Backend) MaxNameLen() int { return 0 }

// Submit writes the script next to the job's log and submits it.
func (b *Backend) Submit(ctx context.Context, spec runner.Spec, name string) (string, error) {
	script, args, err := Script(spec, name, b.pe)
	if err != nil {
		return "", fmt.Errorf("sge: job %s: %w", spec.JobID, err)
	}
	id, err := b.cli.Submit(ctx, spec, cluster.Submission{Command: "qsub", Args: append([]string{"-terse"}, args...), Script: script, Copy: "job.sge", Parse: parseQsub})
	if err != nil {
		return "", fmt.Errorf("sge: %w", err)
	}
	return id, nil
}

// qstat lists the user's jobs, waiting and running.
func (b *Backend) qstat(ctx context.Context) (map[string]cluster.Status, map[string]string, error) {
	out, err := b.cli.Run(ctx, nil, "qstat", "-xml", "-u", b.user)
	if err != nil {
		return nil, nil, fmt.Errorf("sge: %w", err)
	}
	st, names, err := parseQstat(out.Stdout)
	if err != nil {
		return nil, nil, fmt.Errorf("sge: %w", err)
	}
	return st, names, nil
}

// Find looks for a job named name: in the queue, then in the accounting
// of the last week.
func (b *Backend) Find(ctx context.Context, name string) (string, bool, error) {
	_, names, err := b.qstat(ctx)
	if err != nil {
		return "", false, err
	}
	var ids []string
	for id, n := range names {
		if n == name {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		// The last week of the accounting, as the SLURM backend asks
		// sacct: a Start interrupted longer ago is not worth a scan of
		// years of records.
		out, err := b.cli.Run(ctx, nil, "qacct", "-d", "7", "-j", name)
		if err != nil {
			if notFound(out) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("sge: %w", err)
		}
		recs, err := parseQacctRecords(out.Stdout)
		if err != nil {
			return "", false, fmt.Errorf("sge: %w", err)
		}
		for _, r := range recs {
			if r["jobname"] == name {
				ids = append(ids, r["jobnumber"])
			}
		}
	}
	if len(ids) == 0 {
		return "", false, nil
	}
	return slices.MaxFunc(ids, func(a, b string) int {
		na, _ := strconv.ParseInt(a, 10, 64)
		nb, _ := strconv.ParseInt(b, 10, 64)
		return int(na - nb)
	}), true, nil
}

// List runs one `qstat -xml` for every job of the user.
func (b *Backend) List(ctx context.Context, ids []string) (map[string]cluster.Status, error) {
	st, _, err := b.qstat(ctx)
	return st, err
}

// Final reads the end of each job from its accounting record. A job qdel
// removed before it started has none: it ended cancelled.
func (b *Backend) Final(ctx context.Context, ids []string) (map[string]cluster.End, error) {
	res := make(map[string]cluster.End)
	var errs []error
	for _, id := range ids {
		if !cluster.Digits(id) {
			errs = append(errs, fmt.Errorf("%w: job id %q", cluster.ErrInvalid, id))
			continue
		}
		out, err := b.cli.Run(ctx, nil, "qacct", "-j", id)
		if err != nil && !notFound(out) {
			errs = append(errs, err)
			continue
		}
		if err == nil {
			ends, err := parseQacct(out.Stdout)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if e, ok := ends[id]; ok {
				res[id] = e
				b.forget(id)
				continue
			}
		}
		if b.wasDeleted(id) {
			res[id] = cluster.End{State: runner.StateCancelled, Message: "deleted (qdel) before it started"}
			b.forget(id)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("sge: %w", err)
	}
	return res, nil
}

func (b *Backend) wasDeleted(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleted[id]
}

func (b *Backend) forget(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.deleted, id)
}

// Cancel runs qdel; a job that already ended is not an error.
func (b *Backend) Cancel(ctx context.Context, id string) error {
	if !cluster.Digits(id) {
		return fmt.Errorf("sge: %w: job id %q", cluster.ErrInvalid, id)
	}
	out, err := b.cli.Run(ctx, nil, "qdel", id)
	if err != nil {
		if notFound(out) {
			return nil
		}
		return fmt.Errorf("sge: %w", err)
	}
	if deletedBeforeStart(out.Stdout, id) {
		b.mu.Lock()
		b.deleted[id] = true
		b.mu.Unlock()
	}
	return nil
}

// Partitions sums `qhost -q` per cluster queue.
func (b *Backend) Partitions(ctx context.Context) ([]runner.Partition, error) {
	out, err := b.cli.Run(ctx, nil, "qhost", "-q")
	if err != nil {
		return nil, fmt.Errorf("sge: %w", err)
	}
	parts, err := parseQhost(out.Stdout)
	if err != nil {
		return nil, fmt.Errorf("sge: %w", err)
	}
	return parts, nil
}
