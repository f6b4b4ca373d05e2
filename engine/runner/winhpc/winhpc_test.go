package winhpc

import (
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
		runnertest.Scheduler(),
		runnertest.Expectations(runnertest.Expect{
			UnknownQueue: "exit status 1: The node group nosuch was not found.",
			Partitions:   []runner.Partition{{Name: "ComputeNodes", NodesTotal: 2, CoresTotal: 24}},
		}))
}
