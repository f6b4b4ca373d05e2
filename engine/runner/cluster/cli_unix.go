//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package cluster

import (
	"os/exec"
	"syscall"
)

// setGroup runs the command in a process group of its own and makes a
// timeout kill the whole group, so a hung scheduler command cannot leave
// children behind.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
