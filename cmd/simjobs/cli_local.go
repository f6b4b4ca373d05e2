package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/server/apitype"
)

// localKillGrace is how long a local job has between SIGTERM and SIGKILL
// when it is interrupted.
const localKillGrace = 10 * time.Second

// runLocal runs a job on this host in the foreground because the server
// could not be reached (--local-fallback): the same command line the
// server would run, through the same local runner (own process group,
// wall-time limit, SIGTERM then SIGKILL on Ctrl-C), its output copied to
// the terminal as it is written. It ends with the job's exit status.
func (cx *cli) runLocal(ctx context.Context, cfg map[string]any, solverFlag, dir string, cause error) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	spec, err := cx.localSpec(raw, solverFlag)
	if err != nil {
		return fmt.Errorf("--local-fallback: %w", err)
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("--local-fallback: no folder for the logs (give --local-dir): %w", err)
		}
		dir = filepath.Join(cache, "simjobs", "local")
	}
	dir = filepath.Join(dir, spec.JobID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--local-fallback: %w", err)
	}
	spec.Stdout = filepath.Join(dir, "stdout.log")
	spec.Stderr = filepath.Join(dir, "stderr.log")
	msg, _ := cx.explain(cause)
	fmt.Fprintf(cx.stderr, "simjobs submit: %s\nsimjobs submit: --local-fallback: running job %s here, in the foreground (logs in %s)\n", firstLine(msg), spec.JobID, dir)

	// Logs of an earlier run of the same job ID stay; show only this one.
	out := &logCopier{path: spec.Stdout, w: cx.stdout, off: fileSize(spec.Stdout)}
	errOut := &logCopier{path: spec.Stderr, w: cx.stderr, off: fileSize(spec.Stderr)}
	r := local.New(local.Options{KillGrace: localKillGrace})
	defer r.Close()
	start := time.Now()
	h, err := r.Start(ctx, spec)
	if err != nil {
		return fmt.Errorf("--local-fallback: %w", err)
	}
	// Log files have no change notification that works everywhere: copy
	// what was added a few times a second.
	copyTick := time.NewTicker(200 * time.Millisecond)
	defer copyTick.Stop()
	done := ctx.Done()
	for {
		select {
		case u := <-r.Updates():
			out.copyEnd()
			errOut.copyEnd()
			return cx.localEnd(spec.JobID, u, time.Since(start), dir)
		case <-copyTick.C:
			out.copy()
			errOut.copy()
		case <-done:
			done = nil
			fmt.Fprintf(cx.stderr, "simjobs submit: interrupted: stopping job %s (press Ctrl-C again to leave it running)\n", spec.JobID)
			if err := r.Cancel(context.WithoutCancel(ctx), runner.Ref{JobID: spec.JobID, Attempt: spec.Attempt, Handle: h}); err != nil {
				return fmt.Errorf("--local-fallback: cancel: %w", err)
			}
		}
	}
}

func (cx *cli) localEnd(id string, u runner.Update, took time.Duration, dir string) error {
	j := apitype.Job{ID: id, ReturnCode: u.ExitCode, Error: u.Message}
	switch u.State {
	case runner.StateCompleted:
		j.Status = apitype.StatusCompleted
	case runner.StateCancelled:
		j.Status = apitype.StatusCancelled
	default:
		j.Status = apitype.StatusFailed
	}
	line := endLine(j)
	fmt.Fprintf(cx.stdout, "%s, ran here after %s (the server was unreachable; logs in %s)\n", line, since(took), dir)
	return exitStatus(jobExitCode(j, cx.solverCode))
}

// localSpec is what the server would run for this config, built by the
// engine's one conversion (Policy.Spec) with the checks a server makes. The
// policy is the one a server started here would have: the solver below,
// the project roots and allow-list of SIMJOBS_PROJECT_ROOTS and
// SIMJOBS_ALLOW_EXEC; a command's own executable is allowed too, since the
// fallback runs it as the user who typed it.
func (cx *cli) localSpec(raw []byte, solverFlag string) (runner.Spec, error) {
	var probe struct {
		Command []string `json:"command"`
		Solver  string   `json:"ansys_edt_path"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return runner.Spec{}, fmt.Errorf("config: %w", err)
	}
	allow := splitList(cx.envValue("SIMJOBS_ALLOW_EXEC"))
	solver := ""
	if probe.Command != nil {
		if len(probe.Command) > 0 && probe.Command[0] != "" && strings.IndexByte(probe.Command[0], 0) < 0 {
			allow = append(allow, probe.Command[0])
		}
	} else if solver = cx.localSolver(solverFlag, probe.Solver); solver == "" {
		return runner.Spec{}, errors.New("no HFSS solver here: give --ansys-edt-path, set SIMJOBS_ANSYS_EDT_PATH, or install Ansys EM (ANSYSEM_ROOT<version>)")
	}
	policy, err := engine.NewPolicy(solver, allow, splitList(cx.envValue("SIMJOBS_PROJECT_ROOTS")), "none")
	if err != nil {
		return runner.Spec{}, err
	}
	return policy.Spec(raw)
}

func (cx *cli) envValue(name string) string {
	v, _ := cx.env(name)
	return v
}

// localSolver picks the solver for a local run: --ansys-edt-path,
// SIMJOBS_ANSYS_EDT_PATH, the config's ansys_edt_path when it exists here,
// or the newest Ansys EM installed.
func (cx *cli) localSolver(flagValue, fromConfig string) string {
	if flagValue != "" {
		return flagValue
	}
	if v, ok := cx.env("SIMJOBS_ANSYS_EDT_PATH"); ok && v != "" {
		return v
	}
	if fromConfig != "" {
		if fi, err := os.Stat(fromConfig); err == nil && !fi.IsDir() {
			return fromConfig
		}
	}
	return defaultSolver()
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logCopier copies what is appended to a job's log, read as the server
// reads logs (engine.ReadLogFile): a character cut by a write comes whole
// with the next copy.
type logCopier struct {
	path string
	w    io.Writer
	off  int64
}

// copy copies what was added since the last copy.
func (c *logCopier) copy() { c.copyAll(false) }

// copyEnd copies the rest once the job ended.
func (c *logCopier) copyEnd() { c.copyAll(true) }

func (c *logCopier) copyAll(ended bool) {
	for {
		chunk, err := engine.ReadLogFile(c.path, c.off, 0, ended)
		if err != nil || len(chunk.Data) == 0 {
			return
		}
		n, err := c.w.Write(chunk.Data)
		c.off += int64(n)
		if err != nil || !chunk.More() {
			return
		}
	}
}
