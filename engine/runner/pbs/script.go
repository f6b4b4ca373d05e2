package pbs

import (
	"fmt"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// Script returns the batch script of a job attempt named name, and the
// qsub arguments that go with it. Names and numbers go in #PBS lines, each
// value checked against a strict pattern; paths, which may hold spaces and
// quotes, go on qsub's command line as separate arguments (no shell reads
// them) and are checked for control characters and for ':', which PBS
// reads as "host:path". The command and environment are single-quoted
// for /bin/sh after the last directive, where qsub reads no more.
//
// PBS has no place for reservation, QOS, constraints, GPU type or
// priority in a portable script: they are left out.
func Script(spec runner.Spec, name string) (script string, args []string, err error) {
	r := spec.Resources
	c, err := cluster.Check(spec)
	if err != nil {
		return "", nil, err
	}
	env, wall, mem := c.Env, c.Wall, c.MemoryMiB
	if args, err = cluster.OutputFlags(spec, ":"); err != nil {
		return "", nil, err
	}

	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# simjobs job %s attempt %d (generated; qsub reads the #PBS lines)\n", spec.JobID, spec.Attempt)
	d := func(format string, a ...any) { fmt.Fprintf(&b, "#PBS "+format+"\n", a...) }
	d("-N %s", name)
	if !cluster.DefaultQueue(r.Queue) {
		d("-q %s", r.Queue)
	}
	tasks := max(r.TasksPerNode, 1)
	ncpus := r.CoresPerNode
	if ncpus <= 0 {
		ncpus = tasks
	}
	sel := fmt.Sprintf("select=%d:ncpus=%d:mpiprocs=%d", max(r.Nodes, 1), ncpus, tasks)
	if mem > 0 {
		sel += fmt.Sprintf(":mem=%dmb", mem)
	}
	if r.GPUs > 0 {
		sel += fmt.Sprintf(":ngpus=%d", r.GPUs)
	}
	d("-l %s", sel)
	if wall > 0 {
		d("-l walltime=%s", formatTime(wall))
	}
	if r.Exclusive {
		d("-l place=scatter:excl")
	} else if r.Nodes > 1 {
		d("-l place=scatter")
	}
	if r.Account != "" {
		d("-A %s", r.Account)
	}
	if r.Email != "" {
		d("-M %s", r.Email)
		d("-m ae")
	}
	body, err := cluster.JobBody(spec, env, hosts)
	if err != nil {
		return "", nil, err
	}
	b.WriteString(body)
	return b.String(), args, nil
}

// formatTime writes a wall time as PBS's HH:MM:SS (hours may pass 24),
// rounded up to the second.
func formatTime(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// hosts is where a job reads the hosts it was given, for a multi-host
// solve's machine list.
var hosts = cluster.Hosts{Scheduler: "PBS", From: "PBS_NODEFILE", List: `cat "$PBS_NODEFILE"`, Counts: "tasks"}
