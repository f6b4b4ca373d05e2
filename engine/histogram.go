package engine

import (
	"sync"
	"time"
)

// Histogram counts durations into fixed buckets, the shape Prometheus
// exposes. It is safe for concurrent use.
type Histogram struct {
	mu      sync.Mutex
	bounds  []float64 // upper bounds in seconds, ascending
	counts  []uint64  // per bucket, not cumulative; last is +Inf
	sum     float64
	samples uint64
}

// NewHistogram returns a histogram with the given upper bounds in seconds.
func NewHistogram(bounds ...float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for i < len(h.bounds) && s > h.bounds[i] {
		i++
	}
	h.counts[i]++
	h.sum += s
	h.samples++
}

// HistogramSnapshot is a histogram's state: Cumulative[i] counts samples
// <= Bounds[i]; Count includes those above the last bound.
type HistogramSnapshot struct {
	Bounds     []float64
	Cumulative []uint64
	Sum        float64
	Count      uint64
}

// Snapshot copies the histogram's state.
func (h *Histogram) Snapshot() HistogramSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HistogramSnapshot{Bounds: append([]float64(nil), h.bounds...), Sum: h.sum, Count: h.samples}
	var c uint64
	for i := range h.bounds {
		c += h.counts[i]
		s.Cumulative = append(s.Cumulative, c)
	}
	return s
}
