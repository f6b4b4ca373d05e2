//go:build aix || darwin || dragonfly || freebsd || netbsd || openbsd || solaris

package local

import "golang.org/x/sys/unix"

// startTime is not recorded outside Linux: Handle.PIDStart stays 0 and
// adoption trusts the pid alone.
func startTime(pid int) uint64 { return 0 }

// processAlive reports whether pid exists. EPERM means it exists but
// belongs to someone else.
func processAlive(pid int, _ uint64) bool {
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// groupAlive reports whether any process of group pgid exists. Zombies
// count, but init reaps orphans on these systems.
func groupAlive(pgid int) bool {
	err := unix.Kill(-pgid, 0)
	return err == nil || err == unix.EPERM
}

// findJobProcess would find a job's process by its environment; only Linux
// exposes other processes' environments.
func findJobProcess(id string, attempt int) (int, uint64, bool) { return 0, 0, false }
