package slurm

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// Script returns the batch script of a job attempt named name. Every value
// from the job is checked against a strict pattern or quoted:
//
//   - names (partition, account, reservation, QOS, GPU type) must match
//     cluster.CheckName and are written bare;
//   - paths (--chdir, --output, --error) and the constraint expression are
//     written in double quotes with '\' and '"' escaped, which sbatch's
//     directive parser undoes (verified against SLURM 22.05); '%' in output
//     paths is doubled so SLURM does not expand it; control characters and
//     backslashes are refused;
//   - the command and the environment are single-quoted for /bin/sh after
//     the last directive, where sbatch reads no more directives.
func Script(spec runner.Spec, name string) (string, error) {
	r := spec.Resources
	c, err := cluster.Check(spec)
	if err != nil {
		return "", err
	}
	env, wall, mem := c.Env, c.Wall, c.MemoryMiB
	paths := []struct{ field, value string }{{"working directory", spec.Dir}, {"stdout file", spec.Stdout}, {"stderr file", spec.Stderr}}
	for _, p := range paths {
		if p.value == "" {
			continue
		}
		if err := cluster.CheckPath(p.field, p.value, `\`); err != nil {
			return "", err
		}
	}

	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# simjobs job %s attempt %d (generated; sbatch reads the #SBATCH lines)\n", spec.JobID, spec.Attempt)
	d := func(format string, args ...any) { fmt.Fprintf(&b, "#SBATCH "+format+"\n", args...) }
	d("--job-name=%s", name)
	if spec.Dir != "" {
		d("--chdir=%s", quote(spec.Dir))
	}
	if spec.Stdout != "" {
		d("--output=%s", quote(filenamePattern(spec.Stdout)))
	}
	if spec.Stderr != "" {
		d("--error=%s", quote(filenamePattern(spec.Stderr)))
	}
	if !cluster.DefaultQueue(r.Queue) {
		d("--partition=%s", r.Queue)
	}
	nodes := max(r.Nodes, 1)
	tasks := max(r.TasksPerNode, 1)
	d("--nodes=%d", nodes)
	d("--ntasks-per-node=%d", tasks)
	if r.CoresPerNode > 0 {
		d("--cpus-per-task=%d", max(cluster.CeilDiv(r.CoresPerNode, tasks), 1))
	}
	if wall > 0 {
		d("--time=%s", formatTime(wall))
	}
	if mem > 0 {
		d("--mem=%dM", mem)
	}
	if r.Account != "" {
		d("--account=%s", r.Account)
	}
	if r.Reservation != "" {
		d("--reservation=%s", r.Reservation)
	}
	if r.QOS != "" {
		d("--qos=%s", r.QOS)
	}
	if r.Constraints != "" {
		d("--constraint=%s", quote(r.Constraints))
	}
	if r.Exclusive {
		d("--exclusive")
	}
	if r.GPUs > 0 {
		if r.GPUType != "" {
			d("--gpus=%s:%d", r.GPUType, r.GPUs)
		} else {
			d("--gpus=%d", r.GPUs)
		}
	}
	if r.Email != "" {
		d("--mail-user=%s", r.Email)
		d("--mail-type=END,FAIL")
	}
	body, err := cluster.JobBody(spec, env, hosts)
	if err != nil {
		return "", err
	}
	b.WriteString(body)
	return b.String(), nil
}

// quote writes a directive value in double quotes: sbatch's parser takes
// the text between them literally, with '\' escaping the next character.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// filenamePattern keeps SLURM from expanding '%' sequences (%j, %u) in a
// path: "%%" is a literal '%'.
func filenamePattern(p string) string { return strings.ReplaceAll(p, "%", "%%") }

// formatTime writes a wall time as SLURM's "D-HH:MM:SS", rounded up to the
// second.
func formatTime(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	if days > 0 {
		return strconv.FormatInt(days, 10) + "-" + fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

// hosts is where a job reads the hosts it was given, for a multi-host
// solve's machine list.
var hosts = cluster.Hosts{Scheduler: "SLURM", From: "SLURM_JOB_NODELIST", List: `scontrol show hostnames "$SLURM_JOB_NODELIST"`, Counts: "tasks", LineIsNode: true}
