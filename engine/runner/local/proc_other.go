//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || windows)

package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/simjobs/simjobs/engine/runner"
)

// On other systems (Plan 9, WASI, ...) a job is a single process: no group,
// no graceful stop (interrupt kills), no adoption.
type group struct {
	pid  int
	proc *os.Process
}

func prepare(cmd *exec.Cmd) {}

func attach(cmd *exec.Cmd) (*group, error) {
	return &group{pid: cmd.Process.Pid, proc: cmd.Process}, nil
}

func adopt(h runner.Handle) (*group, error) {
	return nil, errors.ErrUnsupported
}

func (g *group) interrupt() error         { return g.proc.Kill() }
func (g *group) kill() error              { return g.proc.Kill() }
func (g *group) leaderAlive() bool        { return false }
func (g *group) alive() bool              { return false }
func (g *group) adoptedExit() (int, bool) { return 0, false }
func (g *group) release()                 {}

func startTime(pid int) uint64 { return 0 }

func exitOutcome(ps *os.ProcessState) (*int, string) {
	code := ps.ExitCode()
	if code == 0 {
		return &code, ""
	}
	return &code, fmt.Sprintf("exit code %d", code)
}

// signalName names signal n; only Unix reapers record signals.
func signalName(n int) string { return fmt.Sprintf("signal %d", n) }

// findJobProcess would find a job's process by its environment; only Linux
// exposes other processes' environments.
func findJobProcess(id string, attempt int) (int, uint64, bool) { return 0, 0, false }
