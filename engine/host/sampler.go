package host

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for SamplerOptions left zero.
const (
	DefaultInterval = 2 * time.Second
	DefaultHistory  = 1800 // an hour at the default interval
)

// SamplerOptions configure a Sampler.
type SamplerOptions struct {
	Source   Source
	Interval time.Duration // between samples; default 2s
	History  int           // samples kept; default 1800
	// OnSample is called on the sampler's goroutine after each successful
	// sample (to publish it as an event, or wake the dispatcher). It must not
	// block for long: the next sample waits for it.
	OnSample func(Sample)
	Logger   *slog.Logger
}

// Sampler reads a Source in the background and keeps the latest sample and
// a bounded history. Readers never wait for a measurement: only the
// sampler's own goroutine calls the Source, so an API request is never held
// up by a slow reading (the old service froze its API for a second every
// six doing that).
type Sampler struct {
	src      Source
	interval time.Duration
	onSample func(Sample)
	log      *slog.Logger

	latest atomic.Pointer[Sample]
	force  chan struct{} // SampleNow; buffered, one pending request is enough

	histMu sync.Mutex
	ring   []Sample // ring[next] is the oldest once full
	next   int
	full   bool

	lifeMu  sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the goroutine returns

	failing bool // only the sampler's goroutine touches it

	subMu sync.Mutex
	subs  map[chan Sample]struct{} // see Subscribe
}

// NewSampler returns a Sampler; Start begins sampling.
func NewSampler(opts SamplerOptions) *Sampler {
	s := &Sampler{
		src:      opts.Source,
		interval: opts.Interval,
		onSample: opts.OnSample,
		log:      opts.Logger,
		force:    make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if s.interval <= 0 {
		s.interval = DefaultInterval
	}
	n := opts.History
	if n <= 0 {
		n = DefaultHistory
	}
	s.ring = make([]Sample, n)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Start begins sampling at once (waiting up to half a second for that
// first sample) and then every Interval, until ctx ends or
// Stop is called. Only the first call does anything; a stopped Sampler does
// not start again.
func (s *Sampler) Start(ctx context.Context) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	first := make(chan struct{})
	go s.run(ctx, first)
	// Until there is a sample the dispatcher admits no job: wait a moment
	// for the first one, so that a job submitted right after start-up
	// starts as fast as any other, but never hang the start on a source
	// that does not answer (a stuck network disk, say).
	t := time.NewTimer(firstSampleWait)
	defer t.Stop()
	select {
	case <-first:
	case <-t.C:
	case <-ctx.Done():
	}
}

// firstSampleWait bounds how long Start waits for the first sample.
const firstSampleWait = 500 * time.Millisecond

// Stop ends sampling and waits for the goroutine to return. It may be
// called any number of times, and before Start.
func (s *Sampler) Stop() {
	s.lifeMu.Lock()
	s.stopped = true
	started, cancel := s.started, s.cancel
	s.lifeMu.Unlock()
	if !started {
		return
	}
	cancel()
	<-s.done
}

// Latest returns the most recent good sample; false before the first.
// It never blocks.
func (s *Sampler) Latest() (Sample, bool) {
	p := s.latest.Load()
	if p == nil {
		return Sample{}, false
	}
	return *p, true
}

// History returns the kept samples taken after since (all of them for the
// zero time), oldest first. Passing the time of the last sample seen returns
// only newer ones.
func (s *Sampler) History(since time.Time) []Sample {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	n := s.next
	if s.full {
		n = len(s.ring)
	}
	out := make([]Sample, 0, n) // never nil: an empty history is [] in JSON
	appendAfter := func(part []Sample) {
		for _, smp := range part {
			if smp.Time.After(since) {
				out = append(out, smp)
			}
		}
	}
	if s.full {
		appendAfter(s.ring[s.next:])
	}
	appendAfter(s.ring[:s.next])
	return out
}

// SampleNow asks for a sample as soon as the sampler's goroutine is free,
// without waiting for it: the result shows up in Latest, History and
// OnSample. Requests made while one is pending are merged.
func (s *Sampler) SampleNow() {
	select {
	case s.force <- struct{}{}:
	default: // one is pending already
	}
}

func (s *Sampler) run(ctx context.Context, first chan struct{}) {
	defer close(s.done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		s.sample(ctx)
		if first != nil {
			close(first)
			first = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.force:
		}
	}
}

// sample reads the Source once. A failure keeps the last good sample and
// is logged once per streak of failures, not once per interval.
func (s *Sampler) sample(ctx context.Context) {
	smp, err := s.src.Sample(ctx)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return // stopping: not the source's fault
		}
		if !s.failing {
			s.failing = true
			s.log.Warn("host telemetry: sample failed; keeping the last good sample", "err", err)
		}
		return
	}
	if s.failing {
		s.failing = false
		s.log.Info("host telemetry: sampling recovered")
	}
	if smp.Time.IsZero() {
		smp.Time = time.Now()
	}
	s.latest.Store(&smp)
	s.histMu.Lock()
	s.ring[s.next] = smp
	s.next = (s.next + 1) % len(s.ring)
	if s.next == 0 {
		s.full = true
	}
	s.histMu.Unlock()
	if s.onSample != nil {
		s.onSample(smp)
	}
	s.subMu.Lock()
	for ch := range s.subs {
		// Only this goroutine sends: a full channel holds an older sample,
		// which the newer one replaces.
		select {
		case <-ch:
		default:
		}
		ch <- smp
	}
	s.subMu.Unlock()
}

// Subscribe returns a channel that receives each new sample, and the func
// that ends the subscription. The channel holds one sample: a subscriber
// that lags gets the newest, never a backlog. It lets a consumer created
// after the sampler (the engine) learn of samples without OnSample
// reaching forward to it.
func (s *Sampler) Subscribe() (<-chan Sample, func()) {
	ch := make(chan Sample, 1)
	s.subMu.Lock()
	if s.subs == nil {
		s.subs = map[chan Sample]struct{}{}
	}
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	return ch, func() {
		s.subMu.Lock()
		delete(s.subs, ch)
		s.subMu.Unlock()
	}
}
