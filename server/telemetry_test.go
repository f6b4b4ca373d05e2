package server_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/host"
)

// slowSource takes a long time per sample, as CPU sampling over a window
// does, and says when a sample is under way.
type slowSource struct {
	took     time.Duration
	inSample atomic.Bool
	started  chan struct{}
	samples  atomic.Int64
}

func (s *slowSource) Sample(ctx context.Context) (host.Sample, error) {
	s.inSample.Store(true)
	defer s.inSample.Store(false)
	if s.samples.Add(1) == 2 {
		close(s.started)
	}
	select {
	case <-time.After(s.took):
	case <-ctx.Done():
	}
	return host.IdleSample(), nil
}

// The old service froze its whole API for a second every few seconds while
// it measured CPU. Here no request waits for a measurement: requests made
// while a 2-second sample is under way answer long before it ends.
func TestRequestsNeverWaitForTelemetry(t *testing.T) {
	t.Parallel()
	src := &slowSource{took: 2 * time.Second, started: make(chan struct{})}
	sampler := host.NewSampler(host.SamplerOptions{Source: src, Interval: 10 * time.Millisecond})
	sampler.Start(context.Background())
	defer sampler.Stop()
	e := setup(t, envOpts{sampler: sampler})
	<-src.started // the second (slow) sample is running now
	var worst time.Duration
	polled := 0
	for src.inSample.Load() && src.samples.Load() == 2 {
		for _, path := range []string{"/resources", "/queue", "/system/status", "/metrics"} {
			t0 := time.Now()
			mustStatus(t, e.do(t, "GET", path, nil), 200)
			worst = max(worst, time.Since(t0))
			polled++
		}
		mustStatus(t, e.do(t, "POST", "/system/start_monitoring", nil), 200)
	}
	if polled == 0 {
		t.Fatal("no request made while the sample ran")
	}
	// The bound is a quarter of the sample's duration: a request that
	// waited for the measurement would take the whole of it.
	if worst > src.took/4 {
		t.Fatalf("worst request took %v while a %v sample ran (%d requests)", worst, src.took, polled)
	}
	t.Logf("%d requests during a %v sample, worst %v", polled, src.took, worst)
}
