package host

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitFor is a generous bound on things that happen at once.
const waitFor = 10 * time.Second

// startSampler starts a sampler with an interval long enough that only
// SampleNow (and the first sample) take samples; it stops with the test.
func startSampler(t *testing.T, opts SamplerOptions) *Sampler {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = time.Hour
	}
	s := NewSampler(opts)
	s.Start(t.Context())
	t.Cleanup(s.Stop)
	return s
}

// samples returns an OnSample func and the channel it reports on.
func samples() (func(Sample), chan Sample) {
	ch := make(chan Sample, 100)
	return func(s Sample) { ch <- s }, ch
}

func receive(t *testing.T, ch <-chan Sample) Sample {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(waitFor):
		t.Fatal("no sample")
		return Sample{}
	}
}

// slowSource blocks in Sample until released, announcing each call.
type slowSource struct {
	entered chan struct{}
	release chan struct{}
}

func (s *slowSource) Sample(ctx context.Context) (Sample, error) {
	select {
	case s.entered <- struct{}{}:
	case <-ctx.Done():
		return Sample{}, ctx.Err()
	}
	// Only the test ends a sample (or Stop): a time-out here would let
	// a slow machine finish it while the test still checks that nothing
	// waits for it.
	select {
	case <-s.release:
	case <-ctx.Done():
		return Sample{}, ctx.Err()
	}
	return Sample{Time: time.Now(), CPUPercent: 42}, nil
}

func TestLatestDoesNotWaitForSampling(t *testing.T) {
	t.Parallel()
	src := &slowSource{entered: make(chan struct{}), release: make(chan struct{})}
	onSample, got := samples()
	s := startSampler(t, SamplerOptions{Source: src, OnSample: onSample})

	<-src.entered // the first sample is in progress and cannot finish
	if _, ok := s.Latest(); ok {
		t.Error("Latest reports a sample before any was taken")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			s.Latest()
			s.History(time.Time{})
		}
	}()
	select {
	case <-done:
	case <-got:
		t.Fatal("a sample completed before 1000 Latest calls did: Latest waited for it")
	}
	close(src.release)
	if smp := receive(t, got); smp.CPUPercent != 42 {
		t.Errorf("sample = %+v", smp)
	}
	if smp, ok := s.Latest(); !ok || smp.CPUPercent != 42 {
		t.Errorf("Latest = %+v, %v; want the sample", smp, ok)
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	src := NewFakeSource(Sample{})
	onSample, got := samples()
	s := startSampler(t, SamplerOptions{Source: src, History: 3, OnSample: onSample})
	receive(t, got) // the sample taken at Start: time now, after every at(i)

	// Five more samples into a ring of three: the first three are gone.
	for i := 1; i <= 5; i++ {
		src.Set(Sample{Time: at(i), CPUPercent: float64(i)})
		s.SampleNow()
		receive(t, got)
	}
	cpus := func(ss []Sample) []float64 {
		out := []float64{}
		for _, smp := range ss {
			out = append(out, smp.CPUPercent)
		}
		return out
	}
	tests := []struct {
		since time.Time
		want  []float64
	}{
		{time.Time{}, []float64{3, 4, 5}},
		{at(3), []float64{4, 5}},
		{at(5), []float64{}},
		{at(0), []float64{3, 4, 5}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, cpus(s.History(tt.since))); diff != "" {
			t.Errorf("History(%v) (-want +got):\n%s", tt.since, diff)
		}
	}
}

func TestHistoryBeforeWrap(t *testing.T) {
	t.Parallel()
	s := NewSampler(SamplerOptions{Source: NewFakeSource(Sample{}), History: 4})
	if h := s.History(time.Time{}); h == nil || len(h) != 0 {
		t.Errorf("History of a new sampler = %#v, want empty and non-nil", h)
	}
	onSample, got := samples()
	s.onSample = onSample
	s.Start(t.Context())
	defer s.Stop()
	receive(t, got)
	s.SampleNow()
	receive(t, got)
	if h := s.History(time.Time{}); len(h) != 2 || h[1].Time.Before(h[0].Time) {
		t.Errorf("History = %+v, want 2 samples, oldest first", h)
	}
}

func TestOnSampleEverySample(t *testing.T) {
	t.Parallel()
	src := NewFakeSource(Sample{})
	onSample, got := samples()
	s := startSampler(t, SamplerOptions{Source: src, Interval: 5 * time.Millisecond, OnSample: onSample})
	for range 5 {
		receive(t, got)
	}
	s.Stop()
	close(got) // OnSample after Stop would panic here
	n := 5 + len(got)
	if calls := src.Calls(); calls != n {
		t.Errorf("Source called %d times, OnSample %d times", calls, n)
	}
}

// logBuffer collects log lines, safely for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// signalSource announces every call of its FakeSource on called.
type signalSource struct {
	*FakeSource
	called chan struct{}
}

func (s signalSource) Sample(ctx context.Context) (Sample, error) {
	defer func() { s.called <- struct{}{} }()
	return s.FakeSource.Sample(ctx)
}

func (s signalSource) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.called:
	case <-time.After(waitFor):
		t.Fatal("source not called")
	}
}

func TestFailingSourceKeepsLastSample(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	src := signalSource{NewFakeSource(Sample{CPUPercent: 10}), make(chan struct{}, 100)}
	s := startSampler(t, SamplerOptions{Source: src, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	src.wait(t)

	src.SetErr(errors.New("disk gone"))
	for range 4 {
		s.SampleNow()
		src.wait(t)
	}
	// The third failure's call came after the first failure was logged.
	if smp, ok := s.Latest(); !ok || smp.CPUPercent != 10 {
		t.Errorf("Latest = %+v, %v; want the last good sample", smp, ok)
	}
	if n := logs.count("sample failed"); n != 1 {
		t.Errorf("%d failure logs for one streak, want 1", n)
	}

	src.SetErr(nil)
	src.Set(Sample{CPUPercent: 20})
	s.SampleNow()
	src.wait(t)
	src.SetErr(errors.New("again"))
	s.SampleNow()
	src.wait(t)
	s.Stop() // the last log write happens before Stop returns
	if smp, _ := s.Latest(); smp.CPUPercent != 20 {
		t.Errorf("Latest = %+v, want the sample between the streaks", smp)
	}
	if n := logs.count("sample failed"); n != 2 {
		t.Errorf("%d failure logs for two streaks, want 2", n)
	}
	if n := logs.count("recovered"); n != 1 {
		t.Errorf("%d recovery logs, want 1", n)
	}
}

func TestStopIdempotent(t *testing.T) {
	t.Parallel()
	s := NewSampler(SamplerOptions{Source: NewFakeSource(Sample{})})
	s.Stop() // before Start
	s.Start(t.Context())
	if _, ok := s.Latest(); ok {
		t.Error("a sampler stopped before Start sampled")
	}

	onSample, got := samples()
	s = NewSampler(SamplerOptions{Source: NewFakeSource(Sample{}), OnSample: onSample})
	s.Start(t.Context())
	s.Start(t.Context()) // a second goroutine would be a second sample stream
	receive(t, got)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(s.Stop)
	}
	wg.Wait()
	s.Stop()
	s.SampleNow() // harmless after Stop
}

func TestContextEndsSampling(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	s := NewSampler(SamplerOptions{Source: NewFakeSource(Sample{}), Interval: time.Millisecond})
	s.Start(ctx)
	cancel()
	<-s.done
	s.Stop()
}

// A job submitted right after start-up must not wait for the sampler's
// goroutine: Start returns with the first sample taken when the source
// answers at once.
func TestStartTakesFirstSample(t *testing.T) {
	t.Parallel()
	src := NewFakeSource(Sample{CPUPercent: 7})
	s := startSampler(t, SamplerOptions{Source: src})
	if got, ok := s.Latest(); !ok || got.CPUPercent != 7 {
		t.Fatalf("Latest right after Start = %v, %v; want the first sample", got, ok)
	}
}
