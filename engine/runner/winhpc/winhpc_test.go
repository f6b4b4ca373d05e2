package winhpc

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
	"github.com/simjobs/simjobs/testdata/fakesched"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// fakeCluster is a fresh fake HPC Pack cluster: its state directory and the
// options that reach it.
func fakeCluster(t *testing.T) (string, Options) {
	state := t.TempDir()
	return state, Options{
		Dir: fakesched.Dir("winhpc"),
		Env: []string{fakesched.EnvDir + "=" + state},
		Runner: cluster.Options{Instance: strconv.FormatInt(time.Now().UnixNano(), 36),
			PollMin: 100 * time.Millisecond, PollMax: 300 * time.Millisecond, LostAfter: 10 * time.Second},
	}
}

func fakeSpec(t *testing.T, job runnertest.Job) runner.Spec {
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

func TestConformance(t *testing.T) {
	_, opts := fakeCluster(t)
	runnertest.RunConformance(t,
		func(t *testing.T) runner.Runner { return New(opts) },
		fakeSpec,
		runnertest.Scheduler())
}

func TestUnknownQueueIsAClearError(t *testing.T) {
	_, opts := fakeCluster(t)
	r := New(opts)
	t.Cleanup(func() { r.Close() })
	spec := fakeSpec(t, runnertest.Job{JobID: "q", Attempt: 1})
	spec.Resources.Queue = "nosuch"
	_, err := r.Start(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "exit status 1: The node group nosuch was not found.") {
		t.Errorf("Start into a missing queue: %v", err)
	}
}

func TestPartitionsFromFake(t *testing.T) {
	_, opts := fakeCluster(t)
	parts, err := NewBackend(opts).Partitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || parts[0].Name != "ComputeNodes" || parts[0].NodesTotal != 2 || parts[0].CoresTotal != 24 {
		t.Errorf("partitions = %+v", parts)
	}
}
