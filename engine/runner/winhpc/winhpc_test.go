package winhpc

import (
	"context"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
	"github.com/simjobs/simjobs/testdata/fakesched"
)

// fakeCluster is a fresh fake winhpc cluster: its state directory and the
// options that reach it.
func fakeCluster(t *testing.T) (string, Options) {
	dir, env, state, ro := fakesched.Cluster(t, "winhpc")
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
