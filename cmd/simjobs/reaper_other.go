//go:build !linux

package main

import "io"

// reapServe is Linux-only (it needs a child subreaper): elsewhere serve runs
// directly, and a job found running after a crash ends without its exit
// code.
func reapServe(args []string, env lookupEnv, stderr io.Writer) (ran bool, code int) {
	return false, 0
}
