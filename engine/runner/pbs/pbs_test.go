package pbs

import (
	"context"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
	"github.com/simjobs/simjobs/testdata/fakesched"
)

// fakeCluster is a fresh fake pbs cluster: its state directory and the
// options that reach it.
func fakeCluster(t *testing.T) (string, Options) {
	dir, env, state, ro := fakesched.Cluster(t, "pbs")
	return state, Options{Dir: dir, Env: env, Runner: ro}
}

func fakeSpec(t *testing.T, job runnertest.Job) runner.Spec { return fakesched.Spec(t, job) }

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
	if err == nil || !strings.Contains(err.Error(), "exit status 170: qsub: Unknown queue") {
		t.Errorf("Start into a missing queue: %v", err)
	}
}

func TestPartitionsFromFake(t *testing.T) {
	_, opts := fakeCluster(t)
	parts, err := NewBackend(opts).Partitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].Name != "long" || parts[1].Name != "workq" || parts[1].CoresTotal != 8 {
		t.Errorf("partitions = %+v", parts)
	}
}
