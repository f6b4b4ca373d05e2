package sge

import (
	"fmt"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// Script returns the batch script of a job attempt named name and the
// qsub arguments that go with it (without -terse, which Submit adds).
// Names and numbers go in "#$" lines, each value checked against a strict
// pattern; paths go on qsub's command line as separate arguments (no
// shell reads them), checked for control characters and for what Grid
// Engine reads in them: ':' (host:path), ',' (a list of paths) and '$'
// (its pseudo variables, $JOB_ID, $HOME...). The command and environment
// are single-quoted for /bin/sh after the last directive; no line of the
// body starts with "#$", so qsub finds no directive there.
//
// A job of more than one slot (nodes × cores per node, or × tasks per
// node) asks for them from the parallel environment pe, whose allocation
// rule decides how they spread over hosts. Memory is per node, as
// mem_free (the hosts must have that much free); wall time is h_rt.
// Grid Engine has no QOS, no portable constraint syntax, takes advance
// reservations by number (-ar) where the job options name them, and lets
// users only lower their priority: qos, constraints, reservation,
// gpu_type and priority are left out; gpus asks for the gpu complex most
// sites define.
func Script(spec runner.Spec, name, pe string) (script string, args []string, err error) {
	r := spec.Resources
	c, err := cluster.Check(spec)
	if err != nil {
		return "", nil, err
	}
	env, wall, mem := c.Env, c.Wall, c.MemoryMiB
	if err := cluster.CheckName("parallel environment", pe); err != nil {
		return "", nil, err
	}
	if args, err = cluster.OutputFlags(spec, ":,$"); err != nil {
		return "", nil, err
	}

	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# simjobs job %s attempt %d (generated; qsub reads the #$ lines)\n", spec.JobID, spec.Attempt)
	d := func(format string, a ...any) { fmt.Fprintf(&b, "#$ "+format+"\n", a...) }
	d("-N %s", name)
	d("-S /bin/sh")
	if !cluster.DefaultQueue(r.Queue) {
		d("-q %s", r.Queue)
	}
	if slots := cluster.Cores(r); slots > 1 {
		if pe == "" {
			return "", nil, fmt.Errorf("%w: the job asks for %d slots and no parallel environment is configured", cluster.ErrInvalid, slots)
		}
		d("-pe %s %d", pe, slots)
	}
	if wall > 0 {
		d("-l h_rt=%s", formatTime(wall))
	}
	if mem > 0 {
		d("-l mem_free=%dM", mem)
	}
	if r.Exclusive {
		d("-l exclusive=true")
	}
	if r.GPUs > 0 {
		d("-l gpu=%d", r.GPUs)
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

// hosts is where a job reads the hosts it was given, for a multi-host
// solve's machine list: PE_HOSTFILE has a line "host slots queue
// processors" per host, and a slot is a core here (see Script).
var hosts = cluster.Hosts{Scheduler: "Grid Engine", From: "PE_HOSTFILE", List: `cat "$PE_HOSTFILE"`, Counts: "cores"}

// formatTime writes a wall time as h_rt's HH:MM:SS (hours may pass 24),
// rounded up to the second.
func formatTime(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
