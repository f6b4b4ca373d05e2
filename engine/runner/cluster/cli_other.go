//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package cluster

import "os/exec"

// setGroup leaves the command as it is: on Windows a timeout kills the
// command itself (exec's default), and WaitDelay stops the wait for any
// children it started.
func setGroup(cmd *exec.Cmd) {}
