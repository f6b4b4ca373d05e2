package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// noopJobs measures no-op local jobs (/bin/true as the solver) completed
// per second at max_concurrent 4 and 64, each against a bare Go loop that
// fork/execs /bin/true with as many workers, run just before it.
func noopJobs(cfg config) ([]row, error) {
	var rows []row
	var at4 float64
	for _, workers := range []int{4, 64} {
		base, err := bareExec(cfg.jobs, workers)
		if err != nil {
			return nil, err
		}
		ours, err := engineJobs(cfg, cfg.jobs, workers)
		if err != nil {
			return nil, err
		}
		r := row{
			name: fmt.Sprintf("no-op local jobs completed/s, max_concurrent %d (%d jobs of %s)", workers, cfg.jobs, noop),
			ours: ours, base: base, unit: "/s", baseNote: fmt.Sprintf("bare Go loop fork/exec'ing %s, %d workers", noop, workers), ratio: true,
		}
		if workers == 4 {
			at4 = ours
			r.target, r.met = "≥ 0.8x", ours >= 0.8*base
		} else {
			// No collapse: more slots must not make simjobs slower than it
			// is with 4 (the bare loop gains little from 64 workers on 2 cores).
			r.target, r.met = "no collapse: ≥ 0.8x of simjobs at 4 in the same run", ours >= 0.8*at4
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// bareExec is the floor: n runs of the no-op solver from workers goroutines.
func bareExec(n, workers int) (float64, error) {
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := exec.Command(noop).Run(); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if failed.Load() > 0 {
		return 0, fmt.Errorf("baseline: %d runs failed", failed.Load())
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// engineJobs submits n no-op jobs to a fresh server with max_concurrent
// slots and returns how many completed per second.
func engineJobs(cfg config, n, slots int) (float64, error) {
	// The jobs are submitted first, held by a disk limit no host meets,
	// then released at once: the row measures the pipeline from the queue
	// to the end record (start record, log files, fork/exec, exit, end
	// record, events), as the bare loop does, and not the submissions,
	// which the submit row measures on their own.
	held := 1e6
	s, err := newStack(cfg, engine.Limits{MaxConcurrentJobs: slots, MaxCPUPercent: 100, MinMemoryGB: 0, MinDiskGB: held}, 0)
	if err != nil {
		return 0, err
	}
	defer s.stop()
	sub := s.m.Events().Subscribe(-1, n*4+16)
	defer sub.Close()
	bodies := make([]json.RawMessage, n)
	for i := range bodies {
		bodies[i], _ = json.Marshal(engine.CommandConfig{Command: []string{noop}, JobID: fmt.Sprintf("noop%d", i)})
	}
	if err := submitConcurrently(s.m, bodies, 16); err != nil {
		return 0, err
	}
	start := time.Now()
	none := 0.0
	if _, _, err := s.m.SetLimits(engine.LimitsPatch{MinDiskGB: &none}); err != nil {
		return 0, err
	}
	for done := 0; done < n; {
		ev := <-sub.C
		if ev.Name == engine.EventJobCompleted {
			if d := ev.Data.(engine.JobEndedData); d.Status != engine.StatusCompleted {
				return 0, fmt.Errorf("job %s %s: %s", d.JobID, d.Status, d.Error)
			}
			done++
		}
	}
	elapsed := time.Since(start)
	// Where a slot's time goes: picked from the queue to the process running
	// (spec, the store's running record, log files, fork/exec), against the
	// whole cycle of a slot per job.
	d := s.m.DispatchLatency.Snapshot()
	if d.Count > 0 {
		fmt.Fprintf(os.Stderr, "  max_concurrent %d: mean start %.2f ms (picked to process running); slot time per job %.2f ms\n",
			slots, 1000*d.Sum/float64(d.Count), 1000*elapsed.Seconds()*float64(slots)/float64(n))
	}
	return float64(n) / elapsed.Seconds(), nil
}

// submitConcurrently submits bodies from workers goroutines, as clients
// would, so that filling the backlog shares group commits.
func submitConcurrently(m *engine.Manager, bodies []json.RawMessage, workers int) error {
	work := make(chan json.RawMessage)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if _, err := m.Submit(context.Background(), engine.SubmitRequest{Config: b}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, b := range bodies {
		select {
		case work <- b:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
