// Package fakesched locates the fake scheduler CLIs under testdata/fakesched
// (pbs, lsf, winhpc: shell scripts that print the real tools' documented
// output and really run the jobs) and reads the log of the commands they
// were asked to run. See lib.sh for how they keep their cluster.
package fakesched

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvDir names the fake cluster's state directory; EnvStartDelay keeps
// each job queued that many seconds before it starts.
const (
	EnvDir        = "FAKE_SCHED_DIR"
	EnvStartDelay = "FAKE_SCHED_START_DELAY"
)

// Dir returns the absolute path of the fake commands of kind: "pbs",
// "lsf" or "winhpc".
func Dir(kind string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("fakesched: cannot locate own source file")
	}
	return filepath.Join(filepath.Dir(file), kind)
}

// Calls returns the commands the fake cluster in state ran, one per
// element: the command name, a space, its arguments joined by spaces.
func Calls(state string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(state, "calls.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), nil
}

// Count returns how many calls ran cmd.
func Count(calls []string, cmd string) int {
	n := 0
	for _, c := range calls {
		if c == cmd || strings.HasPrefix(c, cmd+" ") {
			n++
		}
	}
	return n
}
