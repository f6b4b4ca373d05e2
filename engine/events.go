package engine

import (
	"encoding/json"
	"sync"
	"time"
)

// Event names, as clients receive them.
const (
	EventJobQueued        = "job_queued"
	EventJobStarted       = "job_started"
	EventJobScheduled     = "job_scheduled"
	EventJobCompleted     = "job_completed"
	EventJobFailed        = "job_failed"
	EventJobCancelled     = "job_cancelled"
	EventPriorityChanged  = "priority_changed"
	EventLimitsUpdated    = "limits_updated"
	EventResourcesUpdated = "resources_updated"
	EventJobProgress      = "job_progress"
	// EventLicensesUpdated follows each poll of the license servers; its
	// data is a license.Report (engine/license), as GET /api/licenses.
	EventLicensesUpdated = "licenses_updated"
	// EventSweepEnded: the last job of a sweep ended for good (no retry
	// left); its data is SweepEndedData.
	EventSweepEnded = "sweep_ended"
)

// Event is one numbered happening, in the envelope clients receive.
type Event struct {
	Name string    `json:"event"`
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Data any       `json:"data"`

	enc *encoded // shared by every copy of the event
}

type encoded struct {
	once sync.Once
	b    []byte

	dataOnce sync.Once
	data     []byte
}

// JSON is the event's envelope as JSON, encoded once however many clients
// receive it.
func (e Event) JSON() []byte {
	if e.enc == nil {
		b, _ := json.Marshal(e)
		return b
	}
	e.enc.once.Do(func() {
		// Data holds only JSON-safe values built by the engine.
		e.enc.b, _ = json.Marshal(e)
	})
	return e.enc.b
}

// DataJSON is the event's data alone as JSON (what a Socket.IO EVENT
// carries), encoded once however many sessions receive it.
func (e Event) DataJSON() []byte {
	if e.enc == nil {
		return marshalData(e.Data)
	}
	e.enc.dataOnce.Do(func() { e.enc.data = marshalData(e.Data) })
	return e.enc.data
}

func marshalData(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

// Bus numbers events, keeps the most recent ones for replay and fans them out
// to subscribers. Publish never blocks: a subscriber that cannot keep up is
// dropped (its channel closed, Lagged set) and reconnects with the last
// sequence number it saw, so one slow client never slows the engine or the
// other clients.
type Bus struct {
	mu   sync.Mutex
	seq  int64
	ring []Event // the last events kept for replay, oldest at head once full
	head int     // where the next event goes
	n    int     // events held in ring
	// evicted is the seq of the newest event pushed out of the ring.
	evicted int64
	subs    map[*Subscription]struct{}
	now     func() time.Time
}

// NewBus returns a bus that keeps the last size events for replay.
func NewBus(size int) *Bus {
	if size < 1 {
		size = 1
	}
	return &Bus{ring: make([]Event, size), subs: make(map[*Subscription]struct{}), now: time.Now}
}

// Publish numbers an event and delivers it to every subscriber that has room.
func (b *Bus) Publish(name string, data any) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev := Event{Name: name, Seq: b.seq, Time: b.now().UTC(), Data: data, enc: &encoded{}}
	if b.n == len(b.ring) {
		b.evicted = b.ring[b.head].Seq
	}
	b.ring[b.head] = ev
	b.head = (b.head + 1) % len(b.ring)
	if b.n < len(b.ring) {
		b.n++
	}
	b.deliver(ev)
	return ev
}

// PublishTransient numbers an event and delivers it like Publish, but does
// not keep it for replay: frequent status samples (resources_updated) would
// otherwise push the job events out of the replay ring. Their sequence
// numbers are skipped on replay.
func (b *Bus) PublishTransient(name string, data any) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev := Event{Name: name, Seq: b.seq, Time: b.now().UTC(), Data: data, enc: &encoded{}}
	b.deliver(ev)
	return ev
}

func (b *Bus) deliver(ev Event) {
	for s := range b.subs {
		select {
		case s.ch <- ev:
		default:
			s.lagged = true
			delete(b.subs, s)
			close(s.ch)
		}
	}
}

// Seq returns the number of the last event published.
func (b *Bus) Seq() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Subscription receives events on C until it is closed or falls behind.
type Subscription struct {
	C <-chan Event
	// Missed is true when the replay asked for was older than the bus still
	// holds: the subscriber should reload its state.
	Missed bool

	ch       chan Event
	bus      *Bus
	lagged   bool // guarded by bus.mu
	internal bool // the engine's own (not counted by Subscribers)
}

// Subscribe returns a subscription receiving every event after seq since
// (replayed from the ring, then live), or only live events when since < 0.
// buffer is how many live events may wait for the subscriber before it is
// dropped.
func (b *Bus) Subscribe(since int64, buffer int) *Subscription {
	return b.subscribe(since, buffer, false)
}

// subscribeInternal subscribes a part of the engine to live events; it is
// not one of the Subscribers.
func (b *Bus) subscribeInternal(buffer int) *Subscription {
	return b.subscribe(-1, buffer, true)
}

func (b *Bus) subscribe(since int64, buffer int, internal bool) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var replay []Event
	s := &Subscription{bus: b, internal: internal}
	if since >= 0 && since < b.seq {
		s.Missed = since < b.evicted
		first := (b.head - b.n + len(b.ring)) % len(b.ring)
		for i := 0; i < b.n; i++ {
			if ev := b.ring[(first+i)%len(b.ring)]; ev.Seq > since {
				replay = append(replay, ev)
			}
		}
	}
	s.ch = make(chan Event, len(replay)+buffer)
	for _, ev := range replay {
		s.ch <- ev
	}
	s.C = s.ch
	b.subs[s] = struct{}{}
	return s
}

// Lagged reports whether the bus dropped the subscription because it fell
// behind; C is closed then.
func (s *Subscription) Lagged() bool {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.lagged
}

// Close ends the subscription and closes C. It is safe to call twice.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.ch)
	}
}

// Subscribers returns how many subscriptions are live, not counting the
// engine's own.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for s := range b.subs {
		if !s.internal {
			n++
		}
	}
	return n
}
