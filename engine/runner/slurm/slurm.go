// Package slurm runs jobs at a SLURM cluster through its command-line
// tools: sbatch, squeue, sacct, scontrol, scancel and sinfo.
//
// Each job attempt gets a batch script (see Script) submitted on sbatch's
// standard input with --parsable; a copy is kept next to the job's log as
// job.sbatch. The job is named cluster.JobName(id, attempt), and Start
// looks for that name (squeue, then sacct) before it submits.
//
// Tracking is the cluster package's: one `squeue -h -t all -u USER` per
// poll cycle for all jobs. The final state and exit code come from sacct:
// the accounting database when slurmdbd runs, else the job-completion
// file (`sacct -c`, which needs JobCompType=jobcomp/filetxt), else
// `scontrol show job` while slurmctld still remembers the job (MinJobAge).
package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// Options configure the SLURM backend.
type Options struct {
	// Dir holds the SLURM commands; "" uses PATH.
	Dir string
	// Env is added to the environment of every command (SLURM_CONF, ...).
	Env []string
	// Timeout bounds each command; default cluster.DefaultTimeout.
	Timeout time.Duration
	// User whose jobs squeue lists; default the user the server runs as.
	User string
	// Runner configures polling.
	Runner cluster.Options
}

// Backend speaks SLURM's command-line tools. It implements cluster.Backend.
type Backend struct {
	cli  *cluster.Exec
	user string

	mu      sync.Mutex
	jobcomp bool // accounting storage is disabled: read the jobcomp file (sacct -c)
}

var _ cluster.Backend = (*Backend)(nil)

// New returns a runner for the SLURM cluster the commands reach.
func New(o Options) *cluster.Runner { return cluster.New(NewBackend(o), o.Runner) }

// NewBackend returns the backend alone.
func NewBackend(o Options) *Backend {
	u := o.User
	if u == "" {
		if cur, err := user.Current(); err == nil {
			u = cur.Username
		}
	}
	return &Backend{cli: &cluster.Exec{Dir: o.Dir, Env: o.Env, Timeout: o.Timeout}, user: u}
}

// Commands are the tools the backend needs.
var Commands = []string{"sbatch", "squeue", "sacct", "scontrol", "scancel", "sinfo"}

// Exec is the backend's command runner (for its call counts).
func (b *Backend) Exec() *cluster.Exec { return b.cli }

// Name returns "slurm".
func (b *Backend) Name() string { return "slurm" }

// MaxNameLen: SLURM keeps long job names.
func (b *Backend) MaxNameLen() int { return 0 }

// Submit writes the script next to the job's log and submits it.
func (b *Backend) Submit(ctx context.Context, spec runner.Spec, name string) (string, error) {
	script, err := Script(spec, name)
	if err != nil {
		return "", fmt.Errorf("slurm: job %s: %w", spec.JobID, err)
	}
	id, err := b.cli.Submit(ctx, spec, cluster.Submission{Command: "sbatch", Args: []string{"--parsable"}, Script: script, Copy: "job.sbatch", Parse: parseSbatch})
	if err != nil {
		return "", fmt.Errorf("slurm: %w", err)
	}
	return id, nil
}

// Find looks for a job named name: in the queue, then in the accounting
// of the last week.
func (b *Backend) Find(ctx context.Context, name string) (string, bool, error) {
	out, err := b.cli.Run(ctx, nil, "squeue", "-h", "-t", "all", "-u", b.user, "-n", name, "-o", squeueFormat)
	if err != nil {
		return "", false, fmt.Errorf("slurm: %w", err)
	}
	listed, err := parseSqueue(out.Stdout)
	if err != nil {
		return "", false, fmt.Errorf("slurm: %w", err)
	}
	ids := make([]string, 0, len(listed))
	for id := range listed {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		// The job-completion plugin (sacct -c) ignores --name: the names
		// are read back and compared here.
		out, err := b.sacct(ctx, "-n", "-P", "-X", "--name="+name, "-S", "now-7days", "-E", "now", "-o", "JobID,State,JobName")
		if err != nil {
			return "", false, fmt.Errorf("slurm: %w", err)
		}
		if ids, err = parseSacctNamed(out.Stdout, name); err != nil {
			return "", false, fmt.Errorf("slurm: %w", err)
		}
	}
	if len(ids) == 0 {
		return "", false, nil
	}
	return newest(ids), true, nil
}

// newest is the highest job id.
func newest(ids []string) string {
	return slices.MaxFunc(ids, func(a, b string) int {
		na, _ := strconv.ParseInt(a, 10, 64)
		nb, _ := strconv.ParseInt(b, 10, 64)
		return int(na - nb)
	})
}

// List runs one squeue for every job of the user, ended ones included
// while slurmctld remembers them.
func (b *Backend) List(ctx context.Context, ids []string) (map[string]cluster.Status, error) {
	out, err := b.cli.Run(ctx, nil, "squeue", "-h", "-t", "all", "-u", b.user, "-o", squeueFormat)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	st, err := parseSqueue(out.Stdout)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	return st, nil
}

// Final reads the end of jobs from sacct, and from scontrol for those
// sacct has no record of.
func (b *Backend) Final(ctx context.Context, ids []string) (map[string]cluster.End, error) {
	res := make(map[string]cluster.End)
	var errs []error
	out, err := b.sacct(ctx, "-n", "-P", "-X", "-j", strings.Join(ids, ","), "-o", sacctFields)
	if err == nil {
		res, err = parseSacct(out.Stdout)
	}
	if err != nil {
		res = make(map[string]cluster.End)
		errs = append(errs, err)
	}
	var missing []string
	for _, id := range ids {
		if _, ok := res[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		ends, err := b.scontrol(ctx, missing)
		if err != nil {
			errs = append(errs, err)
		}
		for id, e := range ends {
			res[id] = e
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("slurm: %w", err)
	}
	return res, nil
}

// sacct runs sacct with args, switching once for good to the job
// completion file (sacct -c) when the cluster has no accounting storage.
func (b *Backend) sacct(ctx context.Context, args ...string) (cluster.Output, error) {
	b.mu.Lock()
	jobcomp := b.jobcomp
	b.mu.Unlock()
	if !jobcomp {
		out, err := b.cli.Run(ctx, nil, "sacct", args...)
		if err == nil || !accountingDisabled(out) {
			return out, err
		}
		b.mu.Lock()
		b.jobcomp = true
		b.mu.Unlock()
	}
	return b.cli.Run(ctx, nil, "sacct", append([]string{"-c"}, args...)...)
}

func accountingDisabled(out cluster.Output) bool {
	return bytes.Contains(out.Stderr, []byte("accounting storage is disabled")) ||
		bytes.Contains(out.Stdout, []byte("accounting storage is disabled"))
}

// scontrol asks slurmctld about jobs it may still remember: one job by
// id, several with one listing of all jobs.
func (b *Backend) scontrol(ctx context.Context, ids []string) (map[string]cluster.End, error) {
	args := []string{"show", "job", "-o"}
	if len(ids) == 1 {
		args = append(args, ids[0])
	}
	out, err := b.cli.Run(ctx, nil, "scontrol", args...)
	if err != nil {
		if len(ids) == 1 && bytes.Contains(out.Stderr, []byte("Invalid job id")) {
			return nil, nil // forgotten (MinJobAge): not an error, just unknown
		}
		return nil, err
	}
	ends, err := parseScontrol(out.Stdout)
	if err != nil {
		return nil, err
	}
	res := make(map[string]cluster.End)
	for _, id := range ids {
		if e, ok := ends[id]; ok {
			res[id] = e
		}
	}
	return res, nil
}

// Cancel runs scancel, which succeeds for jobs that already ended.
func (b *Backend) Cancel(ctx context.Context, id string) error {
	if !isJobID(id) {
		return fmt.Errorf("slurm: %w: job id %q", cluster.ErrInvalid, id)
	}
	if _, err := b.cli.Run(ctx, nil, "scancel", id); err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	return nil
}

// Partitions sums `sinfo -N` per partition.
func (b *Backend) Partitions(ctx context.Context) ([]runner.Partition, error) {
	out, err := b.cli.Run(ctx, nil, "sinfo", "-h", "-N", "-O", sinfoFields)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	parts, err := parseSinfo(out.Stdout)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	return parts, nil
}
