// Package winhpc runs jobs at a Microsoft HPC Pack (Windows HPC) cluster
// through its `job` and `node` commands.
//
// A job attempt is one `job submit` with one task (see SubmitArgs); there
// is no batch script. Start first looks for the job's name with
// `job list /jobname:<name> /state:all`. Tracking is one
// `job list /jobname:simjobs.* /state:all /format:list` per poll cycle
// for all jobs; the exit code of a job that ended comes from its task,
// `job listtasks <id> /format:list`, once per finished job. Names are cut
// to HPC Pack's 80 characters the way cluster.JobName describes.
package winhpc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// Options configure the Windows HPC backend.
type Options struct {
	// Dir holds job.exe and node.exe; "" uses PATH.
	Dir string
	// Env is added to the environment of every command.
	Env []string
	// Timeout bounds each command; default cluster.DefaultTimeout.
	Timeout time.Duration
	// Scheduler is the head node (/scheduler:); "" uses CCP_SCHEDULER.
	Scheduler string
	// NodeGroups are the partitions to describe; default ComputeNodes.
	NodeGroups []string
	// Runner configures polling.
	Runner cluster.Options
}

// Backend speaks HPC Pack's command-line tools. It implements
// cluster.Backend.
type Backend struct {
	cli       *cluster.Exec
	scheduler string
	groups    []string
}

var _ cluster.Backend = (*Backend)(nil)

// Commands are the tools the backend needs.
var Commands = []string{"job", "node"}

// MaxNameLen is HPC Pack's limit on job names.
const MaxNameLen = 80

// New returns a runner for the HPC Pack cluster the commands reach.
func New(o Options) *cluster.Runner { return cluster.New(NewBackend(o), o.Runner) }

// NewBackend returns the backend alone.
func NewBackend(o Options) *Backend {
	groups := o.NodeGroups
	if len(groups) == 0 {
		groups = []string{"ComputeNodes"}
	}
	return &Backend{cli: &cluster.Exec{Dir: o.Dir, Env: o.Env, Timeout: o.Timeout}, scheduler: o.Scheduler, groups: groups}
}

// Exec is the backend's command runner (for its call counts).
func (b *Backend) Exec() *cluster.Exec { return b.cli }

// Name returns "windows_hpc".
func (b *Backend) Name() string { return "windows_hpc" }

// MaxNameLen is HPC Pack's limit on job names.
func (b *Backend) MaxNameLen() int { return MaxNameLen }

func (b *Backend) with(args ...string) []string {
	if b.scheduler != "" {
		args = append(args, "/scheduler:"+b.scheduler)
	}
	return args
}

// Submit runs job submit.
func (b *Backend) Submit(ctx context.Context, spec runner.Spec, name string) (string, error) {
	args, err := SubmitArgs(spec, name, b.scheduler)
	if err != nil {
		return "", fmt.Errorf("windows_hpc: job %s: %w", spec.JobID, err)
	}
	if spec.MachineList != nil {
		path, content, err := BatchFile(spec)
		if err == nil {
			err = os.WriteFile(path, []byte(content), 0o644)
		}
		if err != nil {
			return "", fmt.Errorf("windows_hpc: job %s: %w: %w", spec.JobID, cluster.ErrInvalid, err)
		}
	}
	id, err := b.cli.Submit(ctx, spec, cluster.Submission{Command: "job", Args: args, Parse: parseSubmit})
	if err != nil {
		return "", fmt.Errorf("windows_hpc: %w", err)
	}
	return id, nil
}

func (b *Backend) list(ctx context.Context, pattern string) (map[string]cluster.Status, map[string]string, error) {
	out, err := b.cli.Run(ctx, nil, "job", b.with("list", "/jobname:"+pattern, "/state:all", "/format:list")...)
	if err != nil {
		return nil, nil, fmt.Errorf("windows_hpc: %w", err)
	}
	st, names, err := parseJobs(out.Stdout)
	if err != nil {
		return nil, nil, fmt.Errorf("windows_hpc: %w", err)
	}
	return st, names, nil
}

// Find looks for a job named name in any state.
func (b *Backend) Find(ctx context.Context, name string) (string, bool, error) {
	_, names, err := b.list(ctx, name)
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
		return "", false, nil
	}
	return slices.MaxFunc(ids, func(a, b string) int {
		na, _ := strconv.ParseInt(a, 10, 64)
		nb, _ := strconv.ParseInt(b, 10, 64)
		return int(na - nb)
	}), true, nil
}

// List runs one job list of every simjobs job.
func (b *Backend) List(ctx context.Context, ids []string) (map[string]cluster.Status, error) {
	st, _, err := b.list(ctx, cluster.NamePrefix+"*")
	if err != nil {
		return nil, err
	}
	for id, s := range st {
		if s.State.Terminal() {
			// The job's state says it ended; its task has the exit code.
			s.State = runner.StateFailed
			if strings.EqualFold(s.Detail, "Finished") {
				s.State = runner.StateCompleted
			}
			st[id] = s
		}
	}
	return st, nil
}

// Final asks each ended job's task for its state and exit code: HPC Pack
// has no command that answers for several jobs.
func (b *Backend) Final(ctx context.Context, ids []string) (map[string]cluster.End, error) {
	res := make(map[string]cluster.End)
	var errs []error
	for _, id := range ids {
		out, err := b.cli.Run(ctx, nil, "job", b.with("listtasks", id, "/format:list")...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e, ended, err := parseTasks(out.Stdout)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", id, err))
			continue
		}
		if ended {
			res[id] = e
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("windows_hpc: %w", err)
	}
	return res, nil
}

// Cancel runs job cancel; a job that already ended is not an error.
func (b *Backend) Cancel(ctx context.Context, id string) error {
	if !cluster.Digits(id) {
		return fmt.Errorf("windows_hpc: %w: job id %q", cluster.ErrInvalid, id)
	}
	_, err := b.cli.Run(ctx, nil, "job", b.with("cancel", id)...)
	var ce *cluster.CommandError
	if err != nil && errors.As(err, &ce) {
		msg := ce.Stdout + ce.Stderr
		for _, s := range []string{"Finished state", "Failed state", "Canceled state", "was not found"} {
			if strings.Contains(msg, s) {
				return nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("windows_hpc: %w", err)
	}
	return nil
}

// Partitions describes each configured node group with `node list`.
// HPC Pack's node list has no memory columns: memory is reported as 0.
func (b *Backend) Partitions(ctx context.Context) ([]runner.Partition, error) {
	var res []runner.Partition
	for _, g := range b.groups {
		if err := cluster.CheckName("node group", g); err != nil {
			return nil, fmt.Errorf("windows_hpc: %w", err)
		}
		out, err := b.cli.Run(ctx, nil, "node", b.with("list", "/group:"+g, "/format:list")...)
		if err != nil {
			return nil, fmt.Errorf("windows_hpc: %w", err)
		}
		p, err := parseNodes(out.Stdout, g)
		if err != nil {
			return nil, fmt.Errorf("windows_hpc: %w", err)
		}
		res = append(res, p)
	}
	sortPartitions(res)
	return res, nil
}
