//go:build !unix

package engine_test

import "testing"

// The engine tests run the fake solver, a POSIX shell script: on other
// systems there is nothing to look for.
func processAlive(pid int) bool { return false }

func deadPID(t *testing.T) int {
	t.Skip("needs a POSIX system")
	return 0
}
