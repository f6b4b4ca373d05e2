package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/hfss"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/local"
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
	j := engine.Job{ID: id, ReturnCode: u.ExitCode, Error: u.Message}
	switch u.State {
	case runner.StateCompleted:
		j.Status = engine.StatusCompleted
	case runner.StateCancelled:
		j.Status = engine.StatusCancelled
	default:
		j.Status = engine.StatusFailed
	}
	line := endLine(j)
	fmt.Fprintf(cx.stdout, "%s, ran here after %s (the server was unreachable; logs in %s)\n", line, since(took), dir)
	return exitStatus(jobExitCode(j, cx.solverCode))
}

// localSpec is what the server would run for this config.
func (cx *cli) localSpec(raw []byte, solverFlag string) (runner.Spec, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return runner.Spec{}, err
	}
	now := time.Now()
	if _, ok := probe["command"]; ok {
		var c engine.CommandConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return runner.Spec{}, fmt.Errorf("config: %w", err)
		}
		if len(c.Command) == 0 || c.Command[0] == "" {
			return runner.Spec{}, errors.New("command: must name an executable")
		}
		if c.JobID == "" {
			c.JobID = hfss.NewJobID(now, rand.Reader)
		}
		spec := runner.Spec{JobID: c.JobID, Attempt: 1, Argv: c.Command, Dir: c.WorkingDirectory}
		if c.Time != "" {
			wall, err := hfss.ParseWallTime(c.Time)
			if err != nil {
				return runner.Spec{}, fmt.Errorf("time: %w", err)
			}
			spec.WallTime = wall
		}
		return spec, nil
	}
	cfg, err := hfss.Decode(raw)
	if err != nil {
		return runner.Spec{}, err
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return runner.Spec{}, err
	}
	if _, err := os.Stat(cfg.ProjectPath); err != nil {
		return runner.Spec{}, fmt.Errorf("project_path: %w", err)
	}
	if cfg.JobID == "" {
		cfg.JobID = hfss.NewJobID(now, rand.Reader)
	}
	solver := cx.localSolver(solverFlag, cfg.AnsysEDTPath)
	if solver == "" {
		return runner.Spec{}, errors.New("no HFSS solver here: give --ansys-edt-path, set SIMJOBS_ANSYS_EDT_PATH, or install Ansys EM (ANSYSEM_ROOT<version>)")
	}
	wall, err := hfss.ParseWallTime(cfg.SchedulerOptions.Time)
	if err != nil {
		return runner.Spec{}, fmt.Errorf("scheduler_options.time: %w", err)
	}
	return runner.Spec{JobID: cfg.JobID, Attempt: 1, Argv: cfg.CommandLine(solver), Dir: filepath.Dir(cfg.ProjectPath), WallTime: wall}, nil
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
	exe := "ansysedt"
	if runtime.GOOS == "windows" {
		exe = "ansysedt.exe"
	}
	return newestAnsys(os.Environ(), exe)
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
