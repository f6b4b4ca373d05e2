package winhpc

import (
	"fmt"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// SubmitArgs returns the arguments of `job submit` for a job attempt
// named name. HPC Pack takes no batch script: everything is an argument,
// each its own element of the argv job.exe is started with (no shell
// reads them). The task's command line comes last, as ONE argument that
// job submit joins with nothing else: it is built by CommandLine. A
// multi-host solve's task runs its batch file instead (see BatchFile),
// which Submit writes first.
//
// HPC Pack has no account, reservation, QOS, constraints or GPU options
// in job submit: they are left out. Queue names a node group.
func SubmitArgs(spec runner.Spec, name, scheduler string) ([]string, error) {
	r := spec.Resources
	c, err := cluster.Check(spec)
	if err != nil {
		return nil, err
	}
	env, wall, mem := c.Env, c.Wall, c.MemoryMiB
	cmdline, err := CommandLine(spec.Argv)
	if err != nil {
		return nil, err
	}
	if spec.MachineList != nil {
		// A multi-host solve runs its batch file (see BatchFile).
		path, _, err := BatchFile(spec)
		if err != nil {
			return nil, err
		}
		if cmdline, err = CommandLine([]string{path}); err != nil {
			return nil, err
		}
	}
	args := []string{"submit"}
	if scheduler != "" {
		args = append(args, "/scheduler:"+scheduler)
	}
	args = append(args, "/jobname:"+name, fmt.Sprintf("/numcores:%d", cluster.Cores(r)))
	for _, p := range []struct{ opt, field, value string }{
		{"/workdir:", "working directory", spec.Dir}, {"/stdout:", "stdout file", spec.Stdout}, {"/stderr:", "stderr file", spec.Stderr},
	} {
		if p.value == "" {
			continue
		}
		if err := cluster.CheckPath(p.field, p.value, `"%`); err != nil {
			return nil, err
		}
		args = append(args, p.opt+p.value)
	}
	if !cluster.DefaultQueue(r.Queue) {
		args = append(args, "/nodegroup:"+r.Queue)
	}
	if p := priority(r.Priority); p != "" {
		args = append(args, "/priority:"+p)
	}
	if wall > 0 {
		args = append(args, "/runtime:"+formatTime(wall))
	}
	if mem > 0 {
		args = append(args, fmt.Sprintf("/memorypernode:%d", mem))
	}
	if r.Exclusive {
		args = append(args, "/exclusive:true")
	}
	if r.Email != "" {
		args = append(args, "/emailaddress:"+r.Email, "/notifyoncompletion:true")
	}
	for _, kv := range env {
		if strings.ContainsAny(kv[1], `;"%`) {
			return nil, fmt.Errorf("%w: environment variable %s: ';', '\"' and '%%' cannot pass through job submit /env", cluster.ErrInvalid, kv[0])
		}
		args = append(args, "/env:"+kv[0]+"="+kv[1])
	}
	return append(args, cmdline), nil
}

// priority maps the job's priority to HPC Pack's names.
func priority(p string) string {
	switch p {
	case "Low":
		return "Lowest"
	case "High":
		return "Highest"
	}
	return p
}

// CommandLine builds the task's command line from argv. The compute
// node's cmd.exe reads it, so: '"' and '%' (which cmd expands even inside
// quotes) are refused with control characters; every argument holding a
// space or a character cmd treats specially (& | < > ^ ( ) , ; = !) is
// wrapped in double quotes, inside which cmd takes them literally;
// backslashes before a closing quote are doubled so the program's
// argument parser does not read \" as a quote.
func CommandLine(argv []string) (string, error) {
	if err := cluster.CheckArgv(argv); err != nil {
		return "", err
	}
	parts := make([]string, len(argv))
	for i, a := range argv {
		if strings.ContainsAny(a, `"%`) {
			return "", fmt.Errorf("%w: command argument %d %q: '\"' and '%%' cannot pass through cmd.exe on a Windows HPC node", cluster.ErrInvalid, i, a)
		}
		if a != "" && !strings.ContainsAny(a, " \t&|<>^(),;=!") {
			parts[i] = a
			continue
		}
		trail := len(a) - len(strings.TrimRight(a, `\`))
		parts[i] = `"` + a + strings.Repeat(`\`, trail) + `"`
	}
	return strings.Join(parts, " "), nil
}

// formatTime writes a wall time as job submit's /runtime, days:hours:minutes,
// rounded up to the minute.
func formatTime(d time.Duration) string {
	m := int64((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("%d:%d:%d", m/(24*60), m/60%24, m%60)
}
