//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/simjobs/simjobs/engine/runner/local"
)

// envReaped marks the server process started by the reaper.
const envReaped = "SIMJOBS_REAPED"

// reapServe runs `simjobs serve` as two processes: this one becomes a child
// subreaper and starts the real server as its child. Jobs are the server's
// children; if the server dies (a crash, an OOM kill, kill -9), its running
// jobs are re-parented here instead of to init, so this process can reap
// them and record their exit status for the next server, which it starts
// again after a crash. That is how a job found running after a crash still
// ends with its real exit code. ran is false when serve should run directly
// (disabled with --reaper=false, already reaped, bad flags: the server then
// reports them).
func reapServe(args []string, env lookupEnv, stderr io.Writer) (ran bool, code int) {
	if v, _ := env(envReaped); v == "1" {
		return false, 0
	}
	cfg, err := parseServe(args, env, io.Discard)
	if err != nil || !cfg.Reaper {
		return false, 0
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return false, 0
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(stderr, "simjobs: cannot become a child subreaper, running without one:", err)
		return false, 0
	}
	// The parent-death signal fires when the thread that started the server
	// exits, not the process: keep this goroutine on its thread for good.
	runtime.LockOSThread()
	r := &reaper{args: args, exits: filepath.Join(dataDir, "exits"), stderr: stderr}
	return true, r.run()
}

type reaper struct {
	args   []string
	exits  string
	stderr io.Writer
	server int // pid of the server child
}

// Restart policy after crashes: back off, and give up when the server keeps
// dying (a crash loop needs a human).
const (
	maxRestarts   = 5
	restartWindow = 10 * time.Minute
)

func (r *reaper) run() int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	exited := make(chan reaped)
	go waitAll(exited)

	if err := r.start(); err != nil {
		fmt.Fprintln(r.stderr, "simjobs:", err)
		return 1
	}
	shutdown := false
	var crashes []time.Time
	for {
		select {
		case sig := <-sigs:
			// The server is in its own process group, so a Ctrl-C reaches it
			// only through here, once per press. SIGHUP asks the server to
			// reload its tokens and certificate; it keeps running.
			if sig != syscall.SIGHUP {
				shutdown = true
			}
			if r.server != 0 {
				_ = syscall.Kill(r.server, sig.(syscall.Signal))
			}
		case p := <-exited:
			if p.pid != r.server {
				r.record(p)
				continue
			}
			r.server = 0
			ws := p.status
			crashed := ws.Signaled() || (ws.Exited() && ws.ExitStatus() == 2) // 2: a Go panic or fatal error
			if shutdown || !crashed {
				return exitCode(ws)
			}
			now := time.Now()
			crashes = append(crashes, now)
			for len(crashes) > 0 && now.Sub(crashes[0]) > restartWindow {
				crashes = crashes[1:]
			}
			if len(crashes) > maxRestarts {
				fmt.Fprintf(r.stderr, "simjobs: the server died %d times within %v (last: %s); giving up\n", len(crashes), restartWindow, describe(ws))
				return exitCode(ws)
			}
			// A single crash restarts at once (submissions fail while no
			// server listens); a crash loop backs off: 0.25 s, 0.5 s, 1 s...
			wait := (250 * time.Millisecond) << (len(crashes) - 1)
			fmt.Fprintf(r.stderr, "simjobs: the server died (%s); restarting it in %v — running jobs keep running and are adopted again\n", describe(ws), wait)
			select {
			case <-time.After(wait):
			case <-sigs:
				return exitCode(ws)
			}
			if err := r.start(); err != nil {
				fmt.Fprintln(r.stderr, "simjobs:", err)
				return 1
			}
		}
	}
}

func (r *reaper) start() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	p, err := os.StartProcess(exe, append([]string{exe, "serve"}, r.args...), &os.ProcAttr{
		Env:   append(os.Environ(), envReaped+"=1"),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		// Its own process group, so a terminal's Ctrl-C reaches it once,
		// through the reaper; and it drains and exits if the reaper dies.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM},
	})
	if err != nil {
		return fmt.Errorf("start the server: %w", err)
	}
	r.server = p.Pid
	return p.Release()
}

// record writes how an orphaned job process ended, for the server that
// adopted it.
func (r *reaper) record(p reaped) {
	if p.start == 0 {
		return // not a process we could identify later
	}
	rec := local.ExitRecord{Code: p.status.ExitStatus()}
	if p.status.Signaled() {
		rec = local.ExitRecord{Signal: int(p.status.Signal())}
	}
	if err := local.WriteExitRecord(r.exits, p.pid, p.start, rec); err != nil {
		fmt.Fprintln(r.stderr, "simjobs: record the exit of an orphaned job:", err)
	}
}

// reaped is a child that ended: its pid, its start time (read while it was
// still a zombie) and its wait status.
type reaped struct {
	pid    int
	start  uint64
	status syscall.WaitStatus
}

// waitAll reaps every child as it ends. It first waits without reaping
// (WNOWAIT) so that the zombie's start time can still be read from /proc:
// pid and start time together name the job's process for the record.
func waitAll(out chan<- reaped) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			// ECHILD: nothing to wait for until the server is started again.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		pid := siginfoPID(&info)
		start := local.ProcessStart(pid)
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			continue
		}
		out <- reaped{pid: pid, start: start, status: ws}
	}
}

// siginfoPID reads si_pid from a SIGCHLD siginfo_t, which x/sys/unix keeps
// opaque: it follows three ints (and, on 64-bit systems, padding to the
// union's 8-byte alignment).
func siginfoPID(info *unix.Siginfo) int {
	b := (*[unsafe.Sizeof(*info)]byte)(unsafe.Pointer(info))
	off := 12
	if unsafe.Sizeof(uintptr(0)) == 8 {
		off = 16
	}
	return int(*(*int32)(unsafe.Pointer(&b[off])))
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit code %d", ws.ExitStatus())
}
