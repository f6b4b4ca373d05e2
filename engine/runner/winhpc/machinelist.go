package winhpc

import (
	"fmt"
	"strings"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// BatchFileName is the file beside a multi-host solve's stdout log that
// its task runs: HPC Pack hands a job's nodes to its task only in the
// environment (CCP_NODES), so the machine list is built by cmd.exe on
// the node, and a task command line is too short a place for that.
const BatchFileName = "job.cmd"

// BatchFile returns where a multi-host solve's batch file goes (beside
// its stdout log, on the share the nodes see) and what it holds: it
// reads CCP_NODES ("N host1 cores1 host2 cores2 ..."), builds the
// machine list host:tasks:cores:RAM% (tasks from the cores HPC Pack gave
// the host and the job's cores per task), prints it to the log and runs
// the command with it in place of argv[MachineList.Arg]. The command
// line is built by CommandLine (so '%' and '"' are refused in it); the
// machine list is expanded once, after setlocal has ended, so nothing in
// it is read again by cmd.exe.
func BatchFile(spec runner.Spec) (path, content string, err error) {
	ml := spec.MachineList
	if ml == nil {
		return "", "", fmt.Errorf("%w: job %s is not a multi-host solve", cluster.ErrInvalid, spec.JobID)
	}
	if ml.Arg < 1 || ml.Arg >= len(spec.Argv) {
		return "", "", fmt.Errorf("%w: machine list argument %d: the command has %d arguments", cluster.ErrInvalid, ml.Arg, len(spec.Argv))
	}
	if ml.Utilization < 1 || ml.Utilization > 100 {
		return "", "", fmt.Errorf("%w: machine list utilization %d: must be 1 to 100", cluster.ErrInvalid, ml.Utilization)
	}
	if err := cluster.CheckPath("stdout file", spec.Stdout, `"%`); err != nil {
		return "", "", err
	}
	argv := append([]string(nil), spec.Argv...)
	argv[ml.Arg] = "SIMJOBS_MACHINELIST_HERE"
	cmdline, err := CommandLine(argv)
	if err != nil {
		return "", "", err
	}
	cmdline = strings.Replace(cmdline, "SIMJOBS_MACHINELIST_HERE", `"%SIMJOBS_MACHINELIST%"`, 1)
	r := spec.Resources
	t := max(r.TasksPerNode, 1)
	c := r.CoresPerNode
	if c <= 0 {
		c = t
	}
	lines := []string{
		"@echo off",
		fmt.Sprintf("rem simjobs job %s attempt %d (generated): the hosts HPC Pack gave the job (CCP_NODES) as ansysedt's -machinelist host:tasks:cores:RAM%%%%", spec.JobID, spec.Attempt),
		"setlocal EnableDelayedExpansion",
		"set SIMJOBS_ML=",
		"set SIMJOBS_N=",
		"set SIMJOBS_H=",
		"for %%T in (%CCP_NODES%) do (",
		"  if not defined SIMJOBS_N (",
		"    set SIMJOBS_N=%%T",
		"  ) else if not defined SIMJOBS_H (",
		"    set SIMJOBS_H=%%T",
		"  ) else (",
		fmt.Sprintf("    set /a SIMJOBS_TK=%%%%T*%d/%d", t, c),
		"    if !SIMJOBS_TK! LSS 1 set SIMJOBS_TK=1",
		fmt.Sprintf("    set SIMJOBS_ML=!SIMJOBS_ML!,!SIMJOBS_H!:!SIMJOBS_TK!:%%%%T:%d%%%%", ml.Utilization),
		"    set SIMJOBS_H=",
		"  )",
		")",
		"if not defined SIMJOBS_ML (",
		"  echo simjobs: cannot read the hosts HPC Pack gave the job from CCP_NODES 1>&2",
		"  exit /b 1",
		")",
		`endlocal & set "SIMJOBS_MACHINELIST=list=%SIMJOBS_ML:~1%"`,
		"echo simjobs: -machinelist %SIMJOBS_MACHINELIST%",
		cmdline,
		"exit /b %ERRORLEVEL%",
	}
	return windowsDir(spec.Stdout) + `\` + BatchFileName, strings.Join(lines, "\r\n") + "\r\n", nil
}

// windowsDir is the folder of a Windows path (UNC or drive), whatever
// the OS the server runs on.
func windowsDir(p string) string {
	i := strings.LastIndexAny(p, `\/`)
	if i <= 0 {
		return p
	}
	return p[:i]
}
