package lsf

import (
	"fmt"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// Script returns the batch script of a job attempt named name and the
// bsub arguments that go with it. Names and numbers go in #BSUB lines,
// each value checked against a strict pattern (the constraint expression,
// limited to its own character set, in double quotes inside select[]);
// paths go on bsub's command line as separate arguments (no shell reads
// them), checked for control characters and for '%', which LSF expands
// (%J, %I) in -o, -e and -cwd. The command and environment are
// single-quoted for /bin/sh after the last directive.
//
// LSF has no QOS and takes user priority only where the administrator
// allows it: qos and priority are left out. Memory is per node in the
// job's options and per slot in LSF's rusage[mem], so it is divided by
// the slots on a node.
func Script(spec runner.Spec, name string) (script string, args []string, err error) {
	r := spec.Resources
	c, err := cluster.Check(spec)
	if err != nil {
		return "", nil, err
	}
	env, wall, mem := c.Env, c.Wall, c.MemoryMiB
	for _, p := range []struct{ opt, field, value string }{
		{"-cwd", "working directory", spec.Dir}, {"-o", "stdout file", spec.Stdout}, {"-e", "stderr file", spec.Stderr},
	} {
		if p.value == "" {
			continue
		}
		if err := cluster.CheckPath(p.field, p.value, "%"); err != nil {
			return "", nil, err
		}
		args = append(args, p.opt, p.value)
	}

	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# simjobs job %s attempt %d (generated; bsub reads the #BSUB lines)\n", spec.JobID, spec.Attempt)
	d := func(format string, a ...any) { fmt.Fprintf(&b, "#BSUB "+format+"\n", a...) }
	d("-J %s", name)
	if !cluster.DefaultQueue(r.Queue) {
		d("-q %s", r.Queue)
	}
	ptile := r.CoresPerNode
	if ptile <= 0 {
		ptile = max(r.TasksPerNode, 1)
	}
	d("-n %d", cluster.Cores(r))
	d(`-R "span[ptile=%d]"`, ptile)
	if mem > 0 {
		d(`-R "rusage[mem=%dMB]"`, max(cluster.CeilDiv(int(mem), ptile), 1))
	}
	if r.Constraints != "" {
		d(`-R "select[%s]"`, r.Constraints)
	}
	if wall > 0 {
		d("-W %s", formatTime(wall))
	}
	if r.Exclusive {
		d("-x")
	}
	if r.Account != "" {
		d("-P %s", r.Account)
	}
	if r.Reservation != "" {
		d("-U %s", r.Reservation)
	}
	if r.GPUs > 0 {
		if r.GPUType != "" {
			d(`-gpu "num=%d:gmodel=%s"`, r.GPUs, r.GPUType)
		} else {
			d(`-gpu "num=%d"`, r.GPUs)
		}
	}
	if r.Email != "" {
		d("-u %s", r.Email)
		d("-N")
	}
	body, err := cluster.JobBody(spec, env, hosts)
	if err != nil {
		return "", nil, err
	}
	b.WriteString(body)
	return b.String(), args, nil
}

// formatTime writes a wall time as LSF's -W hours:minutes, rounded up to
// the minute.
func formatTime(d time.Duration) string {
	m := int64((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("%d:%02d", m/60, m%60)
}

// hosts is where a job reads the hosts it was given, for a multi-host
// solve's machine list.
var hosts = cluster.Hosts{Scheduler: "LSF", From: "LSB_MCPU_HOSTS", List: `echo "$LSB_MCPU_HOSTS" | awk '{ for (i = 1; i < NF; i += 2) print $i, $(i + 1) }'`, Counts: "cores"}
