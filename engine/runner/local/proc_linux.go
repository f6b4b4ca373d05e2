package local

import (
	"bytes"
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/simjobs/simjobs/engine/runner"
)

// procStat holds the fields of /proc/<pid>/stat the runner needs.
type procStat struct {
	state byte   // field 3: R, S, D, Z (zombie), X (dead), ...
	pgrp  int    // field 5
	start uint64 // field 22: start time, clock ticks since boot
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// Field 2, the command name, is in parentheses and may hold anything,
	// spaces and ')' included: the fields after it start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return procStat{}, errors.New("malformed stat")
	}
	var st procStat
	st.state = f[0][0]
	pgrp, err1 := strconv.Atoi(string(f[2]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return procStat{}, err
	}
	st.pgrp, st.start = pgrp, start
	return st, nil
}

func (st procStat) running() bool { return st.state != 'Z' && st.state != 'X' }

// startTime returns the start time of pid in clock ticks since boot, or 0.
func startTime(pid int) uint64 {
	st, err := readStat(pid)
	if err != nil {
		return 0
	}
	return st.start
}

// processAlive reports whether pid runs (a zombie does not) and, when start
// is not 0, started at that time: a different start time means the pid was
// reused by another process.
func processAlive(pid int, start uint64) bool {
	st, err := readStat(pid)
	if err != nil || !st.running() {
		return false
	}
	return start == 0 || st.start == start
}

// groupAlive reports whether any process of group pgid runs. kill(-pgid, 0)
// alone is not enough: it counts zombies, and orphans of a dead leader stay
// zombies forever under a PID 1 that does not reap (a container without an
// init), so the group is confirmed in /proc.
func groupAlive(pgid int) bool {
	if unix.Kill(-pgid, 0) == unix.ESRCH {
		return false
	}
	d, err := os.Open("/proc")
	if err != nil {
		return true // cannot tell: assume the worst
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return true
	}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.pgrp == pgid && st.running() {
			return true
		}
	}
	return false
}

// ProcessStart returns the start time of process pid (a zombie too) in
// clock ticks since boot, as Handle.PIDStart records it, or 0 when it
// cannot be read.
func ProcessStart(pid int) uint64 { return startTime(pid) }

// findJobProcess looks through /proc for the leader of the process group
// whose environment names the job's attempt (runner.EnvJobID and
// EnvAttempt, which Start sets). It returns its pid and start time.
func findJobProcess(id string, attempt int) (int, uint64, bool) {
	want1 := []byte(runner.EnvJobID + "=" + id + "\x00")
	want2 := []byte(runner.EnvAttempt + "=" + strconv.Itoa(attempt) + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.pgrp != pid || !st.running() {
			continue // only a group leader: the job's own children share its environment
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		env = append([]byte{0}, env...)
		if bytes.Contains(env, append([]byte{0}, want1...)) && bytes.Contains(env, append([]byte{0}, want2...)) {
			return pid, st.start, true
		}
	}
	return 0, 0, false
}
