package main

import (
	"path/filepath"
	"testing"

	"github.com/simjobs/simjobs/server/servertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// simjobs log prints a job's output, its stderr, an earlier attempt's, and
// follows a running job to its end; a failed job's line says the solver's
// error.
func TestCLILog(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	env := map[string]string{"SIMJOBS_SERVER": srv.URL}
	hfssError, err := filepath.Abs(filepath.Join("..", "..", "engine", "solverlog", "testdata", "hfss-error.log"))
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, env, []step{
		{args: []string{"submit", "--jobid", "l1", "--wait", "--quiet", "--", srv.Env, srv.Solver}, stdout: "l1\nl1 completed after D (exit 0)\n"},
		{args: []string{"log", "l1"}, stdout: "[info] Batch Solve/Save: Completed\n", contains: true},
		{args: []string{"log", "l1", "--stderr"}, stdout: "[warning] fake solver: nothing is really solved\n"},
		{args: []string{"log", "l1", "--tail", "1"}, stdout: "[info] Batch Solve/Save: Completed\n"},
		// A second attempt: the first one's log stays readable.
		{args: []string{"submit", "--jobid", "l1", "--wait", "--quiet", "--", srv.Env, "FAKE_SOLVER_EXIT=2", srv.Solver}, code: exitJobFailed, stdout: "l1\nl1 failed after D: exit code 2\n"},
		{args: []string{"log", "l1", "--attempt", "1", "-f"}, stdout: "[info] Batch Solve/Save: Completed\n", contains: true},
		{args: []string{"log", "l1", "--attempt", "3"}, code: exitRejected, stdout: "", stderrHas: "attempt"},
		// -f follows a job that is still writing, to its end and its exit.
		{args: []string{"submit", "--jobid", "l2", "--quiet", "--", srv.Env, fakesolver.EnvScript + "=" + fakesolver.HFSSLog(), fakesolver.EnvLineSleep + "=0.02", "FAKE_SOLVER_EXIT=4", srv.Solver}, stdout: "l2\n"},
		{args: []string{"log", "-f", "l2"}, code: exitJobFailed, stdout: "Stopping Batch Run: 9:15:41 AM Mar 03, 2026\n", contains: true},
		{args: []string{"log", "l2", "--follow", "--tail", "1"}, code: exitJobFailed, stdout: "Stopping Batch Run: 9:15:41 AM Mar 03, 2026\n"},
		// The solver's own error on the line of a failed job.
		{args: []string{"submit", "--jobid", "l3", "--wait", "--", srv.Env, fakesolver.EnvScript + "=" + hfssError, "FAKE_SOLVER_EXIT=1", srv.Solver}, code: exitJobFailed,
			stdout: "l3 failed after D: exit code 1 — Simulation completed with execution error on server: Local Machine.\n", contains: true},
		{args: []string{"log"}, code: exitUsage, stdout: "", stderrHas: "log takes one job ID"},
		{args: []string{"log", "nope"}, code: exitNotFound, stdout: ""},
	})
}
