package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/simjobs/simjobs/engine"
)

// submissions measures REST submissions per second at concurrency 32
// against a bare Fiber handler that only decodes the same JSON; afterwards
// every acknowledged job must be in the store.
func submissions(cfg config) ([]row, error) {
	bare, stopBare, err := bareDecodeServer()
	if err != nil {
		return nil, err
	}
	defer stopBare()
	body := pyedbBody(filepath.Join(os.TempDir(), "bench.aedt"))
	base, err := hammer(bare+"/jobs/submit", body, 32, cfg.dur, nil)
	if err != nil {
		return nil, err
	}

	// simjobs: jobs stay queued (CPU gate closed) so only submission is measured.
	s, err := newStack(cfg, engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 50, MinMemoryGB: 1, MinDiskGB: 1}, 99)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	var acked sync.Map
	ours, err := hammer(s.url+"/jobs/submit", s.hfss, 32, cfg.dur, &acked)
	if err != nil {
		return nil, err
	}
	if err := allStored(s, &acked); err != nil {
		return nil, err
	}
	o, b := float64(ours)/cfg.dur.Seconds(), float64(base)/cfg.dur.Seconds()
	return []row{{
		name: "REST submissions/s, concurrency 32, synchronous FULL (every acked job checked in the store)",
		ours: o, base: b, unit: "/s", baseNote: "bare Fiber handler decoding the same JSON", ratio: true,
		target: "≥ 0.5x", met: o >= 0.5*b,
	}}, nil
}

// allStored checks that every acknowledged submission is in the store: an
// acknowledgement is a promise that the job is on disk.
func allStored(s *stack, acked *sync.Map) error {
	missing, n := 0, 0
	acked.Range(func(k, _ any) bool {
		n++
		if _, err := s.st.JobGet(context.Background(), k.(string)); err != nil {
			missing++
		}
		return true
	})
	if missing > 0 {
		return fmt.Errorf("%d of %d acknowledged submissions are not in the store", missing, n)
	}
	return nil
}
