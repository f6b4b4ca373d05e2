package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
)

// The manager follows a host.Sampler itself: each sample is announced as a
// typed resources_updated whose JSON is what the event always carried,
// {"telemetry": sample}, and Close stops the following (-race and the
// manager's WaitGroup see to the rest).
func TestSamplesBecomeResourcesUpdated(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sample := host.IdleSample()
	sample.Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sampler := host.NewSampler(host.SamplerOptions{Source: host.NewFakeSource(sample), Interval: 10 * time.Millisecond})
	opts := b.opts
	opts.Telemetry = sampler
	opts.DataDir = t.TempDir()
	m, err := engine.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	sub := m.Events().Subscribe(-1, 16)
	defer sub.Close()
	sampler.Start(context.Background())
	defer sampler.Stop()

	var ev engine.Event
	for ev = range sub.C {
		if ev.Name == engine.EventResourcesUpdated {
			break
		}
	}
	d, ok := ev.Data.(engine.ResourcesUpdatedData)
	if !ok {
		t.Fatalf("resources_updated data is %T, want engine.ResourcesUpdatedData", ev.Data)
	}
	got, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(map[string]any{"telemetry": sample})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("resources_updated JSON changed:\n got %s\nwant %s", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
