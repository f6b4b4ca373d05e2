package host

import (
	"context"
	"sync"
	"time"
)

// IdleSample is a quiet host for tests: a little CPU and memory in use,
// plenty free, stamped now. Every test stack starts from it.
func IdleSample() Sample {
	return Sample{Time: time.Now().UTC(), CPUPercent: 3, MemoryPercent: 10, MemoryFreeGB: 50, MemoryTotalGB: 64,
		MemoryUsedGB: 14, DiskFreeGB: 400, DiskUsagePercent: 20}
}

// FakeSource is a Source for tests whose readings are set by the test, at
// any time, from any goroutine. The zero value reports a zero Sample.
type FakeSource struct {
	mu     sync.Mutex
	sample Sample
	err    error
	calls  int
	// hist is older readings History reports before the latest one.
	hist []Sample
}

var _ Source = (*FakeSource)(nil)

// NewFakeSource returns a FakeSource reporting s.
func NewFakeSource(s Sample) *FakeSource { return &FakeSource{sample: s} }

// Set makes later Samples report s.
func (f *FakeSource) Set(s Sample) {
	f.mu.Lock()
	f.sample = s
	f.mu.Unlock()
}

// Update changes the reported sample in place, e.g. to raise the CPU alone.
func (f *FakeSource) Update(change func(*Sample)) {
	f.mu.Lock()
	change(&f.sample)
	f.mu.Unlock()
}

// SetErr makes later Samples fail with err (nil: succeed again).
func (f *FakeSource) SetErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// Calls returns how many times Sample was called.
func (f *FakeSource) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Sample returns the sample set last, stamped now unless it has a time.
func (f *FakeSource) Sample(ctx context.Context) (Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return Sample{}, f.err
	}
	s := f.sample
	if s.Time.IsZero() {
		s.Time = time.Now()
	}
	return s, nil
}

// Latest returns the sample set last, as a Sampler would after sampling
// it, so a FakeSource can stand in for a Sampler as well as for a Source.
func (f *FakeSource) Latest() (Sample, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sample
	if s.Time.IsZero() {
		s.Time = time.Now().UTC()
	}
	return s, true
}

// SetHistory gives History older readings (oldest first) to report before
// the latest one, as a Sampler that has run for a while would: an hour of
// them fills the pages' charts.
func (f *FakeSource) SetHistory(h []Sample) {
	f.mu.Lock()
	f.hist = append([]Sample(nil), h...)
	f.mu.Unlock()
}

// History returns the readings newer than since: those of SetHistory, then
// the sample set last.
func (f *FakeSource) History(since time.Time) []Sample {
	latest, _ := f.Latest()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []Sample{}
	for _, s := range f.hist {
		if s.Time.After(since) && s.Time.Before(latest.Time) {
			out = append(out, s)
		}
	}
	if latest.Time.After(since) {
		out = append(out, latest)
	}
	return out
}

// SampleNow does nothing: the fake's readings change only through Set.
func (f *FakeSource) SampleNow() {}
