package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/server"
)

// autoProbeTimeout bounds the start-up question to a scheduler that
// auto-detection found. A SLURM client with no controller retries for
// about ten seconds before it gives up; a scheduler that is slower than
// this to list its partitions is not one to send jobs to by default.
const autoProbeTimeout = 3 * time.Second

// errNoAnswer is why a detected scheduler was passed over.
var errNoAnswer = errors.New("the scheduler does not answer")

// answersNow asks r, once, whether its scheduler answers. A runner that
// cannot be asked (it lists no partitions) counts as answering.
func answersNow(ctx context.Context, r runner.Runner, timeout time.Duration) error {
	pl, ok := r.(runner.PartitionLister)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := pl.Partitions(ctx); err != nil {
		return fmt.Errorf("%w: %w", errNoAnswer, err)
	}
	return nil
}

// autoScheduler decides what `--scheduler auto` does with the scheduler
// whose commands it found: use it if it answers now, else run jobs on this
// host. Commands on PATH alone are not a cluster (a laptop with
// slurm-client installed, a login node whose controller is down): jobs
// would wait pending forever. `--scheduler NAME` is the way to wait for a
// controller that is expected back.
func autoScheduler(ctx context.Context, r runner.Runner, found, by string, log *slog.Logger) (runner.Runner, server.SchedulerInfo, *schedulerWatch) {
	err := answersNow(ctx, r, autoProbeTimeout)
	if err == nil {
		w := newSchedulerWatch(ctx, r, schedulerWatchEvery, log)
		return r, w.info(found, "auto: "+by), w
	}
	r.Close()
	log.Warn("auto: "+found+"'s commands are on PATH but it does not answer, so jobs run on this host; on a cluster login node, start with --scheduler "+found+" to hand jobs to it and wait for its controller",
		"scheduler", found, "err", err)
	return nil, server.SchedulerInfo{
		Active:           "none",
		DetectedBy:       fmt.Sprintf("auto: %s, but %s did not answer at start-up (%v); --scheduler %s waits for it", by, found, err, found),
		BackendAvailable: true,
	}, nil
}
