package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// requeueParallel is how many of recover's requeues are in flight at once.
const requeueParallel = 64

// requeueAll records that jobs found pending at start-up (handed to no
// scheduler) are queued again. The updates are made concurrently so that
// the store commits them in a few shared group commits: made one after
// another, each waited for an fsync of its own, and a few hundred of them
// held start-up for seconds. Any failure fails start-up, as one did when
// they were made in series.
func (m *Manager) requeueAll(ctx context.Context, jobs []Job) error {
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, requeueParallel)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := m.store.JobUpdate(ctx, JobUpdateParams{ID: j.ID, Attempt: j.Attempt, FromStatus: StatusPending, Status: StatusQueued, Time: m.now().UTC(), Message: "queued again after a restart"})
			if err != nil {
				errs[i] = fmt.Errorf("engine: requeue job %s: %w", j.ID, err)
			}
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 1 {
		// A store that is down fails them all: one line says it.
		return fmt.Errorf("%w (and %d more)", failed[0], len(failed)-1)
	}
	return errors.Join(failed...)
}
