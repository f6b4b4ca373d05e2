// Package fakesched locates the fake scheduler CLIs under testdata/fakesched
// (pbs, lsf, winhpc: shell scripts that print the real tools' documented
// output and really run the jobs) and reads the log of the commands they
// were asked to run. See lib.sh for how they keep their cluster.
package fakesched

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
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

// Cluster is a fresh fake cluster of kind for one test: the folder of its
// commands, the environment that points them at a new state folder (also
// returned), and tracking options with short polls.
func Cluster(t testing.TB, kind string) (commands string, env []string, state string, opts cluster.Options) {
	state = t.TempDir()
	return Dir(kind), []string{EnvDir + "=" + state}, state, cluster.Options{
		Instance: strconv.FormatInt(time.Now().UnixNano(), 36),
		PollMin:  100 * time.Millisecond, PollMax: 300 * time.Millisecond, LostAfter: 10 * time.Second,
	}
}

// Spec is a job of the conformance suite for a fake cluster: the fake
// solver, exiting and sleeping as the suite asks, with its logs and
// working folder in a new test folder.
func Spec(t *testing.T, job runnertest.Job) runner.Spec {
	dir := t.TempDir()
	return runner.Spec{
		JobID:   job.JobID,
		Attempt: job.Attempt,
		Argv:    []string{fakesolver.Path(), "-batchsolve", "board:Nominal:Setup1", filepath.Join(dir, "board.aedb")},
		Dir:     dir,
		Env: []string{
			fmt.Sprintf("%s=%d", fakesolver.EnvExit, job.ExitCode),
			fmt.Sprintf("%s=%g", fakesolver.EnvSleep, job.Duration.Seconds()),
		},
		Stdout:    filepath.Join(dir, "stdout.log"),
		Stderr:    filepath.Join(dir, "stderr.log"),
		Resources: runner.Resources{Nodes: 1, TasksPerNode: 1},
	}
}
