package main

import (
	"context"
	"log/slog"

	"github.com/simjobs/simjobs/engine/runner"
)

// detectScheduler looks for a cluster scheduler's commands on PATH and
// says what it found, or why it found none.
func detectScheduler() (name, by string) {
	return "", "no cluster scheduler support in this build"
}

// newCluster returns the runner of a cluster scheduler.
func newCluster(ctx context.Context, name string, log *slog.Logger) (runner.Runner, error) {
	return nil, errNoScheduler
}
