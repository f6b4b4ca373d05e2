package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/simjobs/simjobs/engine/runner"
)

// group is a job's processes on Windows: a Job Object holding the solver
// and everything it spawns, and a handle on the leader. Holding the handle
// also keeps the pid from being reused while the runner tracks it.
//
// The Job Object is deliberately created without
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: with it, a server crash or restart
// (or a drain that times out) would kill every running solve, while the
// runner's contract is that Close leaves jobs running for the next server
// to Adopt. TerminateJobObject gives the kill-tree that cancelling needs.
type group struct {
	pid     int
	process windows.Handle
	job     windows.Handle // 0 for an adopted job: an unnamed Job Object cannot be found again
}

// prepare starts the child suspended, so that it is inside its Job Object
// before it can spawn anything, and in a new process group, so that
// CTRL_BREAK can be aimed at it alone.
func prepare(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_SUSPENDED,
	}
}

// attach puts the started (suspended) child into a new Job Object and lets
// it run.
func attach(cmd *exec.Cmd) (*group, error) {
	pid := cmd.Process.Pid
	const access = windows.PROCESS_SET_QUOTA | windows.PROCESS_TERMINATE |
		windows.SYNCHRONIZE | windows.PROCESS_QUERY_LIMITED_INFORMATION
	h, err := windows.OpenProcess(access, false, uint32(pid))
	if err != nil {
		return nil, fmt.Errorf("open process %d: %w", pid, err)
	}
	g := &group{pid: pid, process: h}
	// Without a Job Object (an old Windows that forbids nesting it inside
	// the server's own job) the job still runs; cancel reaches the leader only.
	if job, err := windows.CreateJobObject(nil, nil); err == nil {
		if windows.AssignProcessToJobObject(job, h) == nil {
			g.job = job
		} else {
			windows.CloseHandle(job)
		}
	}
	if err := resume(pid); err != nil {
		g.release()
		return nil, fmt.Errorf("resume process %d: %w", pid, err)
	}
	return g, nil
}

// resume resumes the threads of a process created suspended (only its main
// thread exists).
func resume(pid int) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != uint32(pid) {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return err
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return err
		}
		resumed++
	}
	if resumed == 0 {
		return errors.New("no thread found")
	}
	return nil
}

// adopt opens the leader of a job started by an earlier server process.
// Handle.PIDStart is not recorded on Windows; a reused pid is not detected.
func adopt(h runner.Handle) (*group, error) {
	if h.PID <= 0 {
		return nil, errors.New("no process id recorded")
	}
	const access = windows.SYNCHRONIZE | windows.PROCESS_TERMINATE | windows.PROCESS_QUERY_LIMITED_INFORMATION
	ph, err := windows.OpenProcess(access, false, uint32(h.PID))
	if err != nil {
		return nil, fmt.Errorf("open process %d: %w", h.PID, err)
	}
	g := &group{pid: h.PID, process: ph}
	if !g.leaderAlive() {
		g.release()
		return nil, fmt.Errorf("process %d has exited", h.PID)
	}
	return g, nil
}

// interrupt sends CTRL_BREAK to the job's process group. It fails when the
// server shares no console with the job (a service); the caller then kills.
func (g *group) interrupt() error {
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(g.pid)); err != nil {
		return fmt.Errorf("CTRL_BREAK to process group %d: %w", g.pid, err)
	}
	return nil
}

// kill ends every process of the Job Object, or the leader alone when
// there is none.
func (g *group) kill() error {
	if g.job != 0 {
		return windows.TerminateJobObject(g.job, 1)
	}
	return windows.TerminateProcess(g.process, 1)
}

func (g *group) leaderAlive() bool {
	ev, err := windows.WaitForSingleObject(g.process, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}

// jobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION.
type jobAccounting struct {
	TotalUserTime             int64
	TotalKernelTime           int64
	ThisPeriodTotalUserTime   int64
	ThisPeriodTotalKernelTime int64
	TotalPageFaultCount       uint32
	TotalProcesses            uint32
	ActiveProcesses           uint32
	TotalTerminatedProcesses  uint32
}

func (g *group) alive() bool {
	if g.job == 0 {
		return g.leaderAlive()
	}
	var info jobAccounting
	err := windows.QueryInformationJobObject(g.job, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil)
	if err != nil {
		return g.leaderAlive()
	}
	return info.ActiveProcesses > 0
}

// adoptedExit returns the exit code of an adopted process: Windows keeps it
// for whoever holds a handle, parent or not.
func (g *group) adoptedExit() (int, bool) {
	var code uint32
	if err := windows.GetExitCodeProcess(g.process, &code); err != nil || code == 259 { // STILL_ACTIVE
		return 0, false
	}
	return int(code), true
}

func (g *group) release() {
	if g.job != 0 {
		windows.CloseHandle(g.job)
		g.job = 0
	}
	if g.process != 0 {
		windows.CloseHandle(g.process)
		g.process = 0
	}
}

// startTime is not recorded on Windows (see adopt).
func startTime(pid int) uint64 { return 0 }

// exitOutcome describes how a process ended: Windows has only exit codes.
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
