//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/simjobs/simjobs/engine/runner"
)

// group is a job's process group; its id is the leader's pid.
type group struct {
	pid int
}

// prepare makes the child the leader of a new process group, so one signal
// reaches everything the solver spawns, and the server's terminal signals
// (Ctrl-C) do not reach the job.
func prepare(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// attach returns the group of a started command. Setpgid took effect before
// exec, so there is nothing left to do.
func attach(cmd *exec.Cmd) (*group, error) {
	return &group{pid: cmd.Process.Pid}, nil
}

// adopt finds the group of a job started by an earlier server process.
func adopt(h runner.Handle) (*group, error) {
	if h.PID <= 0 {
		return nil, errors.New("no process id recorded")
	}
	if !processAlive(h.PID, h.PIDStart) {
		return nil, fmt.Errorf("pid %d: not running, or now another process", h.PID)
	}
	return &group{pid: h.PID}, nil
}

// interrupt asks the whole group to stop.
func (g *group) interrupt() error { return g.signal(unix.SIGTERM) }

// kill ends the whole group.
func (g *group) kill() error { return g.signal(unix.SIGKILL) }

func (g *group) signal(sig unix.Signal) error {
	if err := unix.Kill(-g.pid, sig); err != nil {
		return fmt.Errorf("signal %s to process group %d: %w", unix.SignalName(sig), g.pid, err)
	}
	return nil
}

// leaderAlive reports whether the group's leader still runs.
func (g *group) leaderAlive() bool { return processAlive(g.pid, 0) }

// alive reports whether any process of the group still runs.
func (g *group) alive() bool { return groupAlive(g.pid) }

// adoptedExit: on Unix only a parent can collect an exit status.
func (g *group) adoptedExit() (int, bool) { return 0, false }

func (g *group) release() {}

// exitOutcome describes how a process ended. A process killed by a signal
// has no exit code: ExitCode is nil rather than the shell's 128+n, which
// could not be told apart from a real exit(128+n).
func exitOutcome(ps *os.ProcessState) (*int, string) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return nil, "killed by signal " + unix.SignalName(ws.Signal())
	}
	code := ps.ExitCode()
	if code == 0 {
		return &code, ""
	}
	return &code, fmt.Sprintf("exit code %d", code)
}

// signalName names signal n, as a wait status shows it.
func signalName(n int) string { return unix.SignalName(syscall.Signal(n)) }
