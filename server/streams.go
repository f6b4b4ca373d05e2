package server

import (
	"fmt"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// DefaultMaxStreams is how many long-lived connections (WebSockets on /ws,
// Socket.IO sessions, the dashboard's live feed: one per open page, and
// log reads waiting with ?wait=) one identity may hold at once.
const DefaultMaxStreams = 64

// Streams is the registry of the long-lived connections of a server, by
// identity: it caps how many one identity holds, and ends those whose
// credentials are withdrawn (a token removed from the tokens file). The
// zero of a nil *Streams caps nothing and revokes nothing.
type Streams struct {
	max int // <= 0: no cap

	mu   sync.Mutex
	per  map[string]int
	open map[*Stream]struct{}
}

func newStreams(max int) *Streams {
	return &Streams{max: max, per: map[string]int{}, open: map[*Stream]struct{}{}}
}

// Stream is one long-lived connection's place in the registry.
type Stream struct {
	s       *Streams
	who     Identity
	revoked chan struct{}
	once    sync.Once
}

// ErrTooManyStreams is answered 429.
func tooManyStreams(who Identity, max int) error {
	return apiError(fiber.StatusTooManyRequests, fmt.Sprintf("%s has %d live connections open, the most allowed: close some pages or clients", displayName(who), max))
}

func displayName(who Identity) string {
	if who.Name == "" {
		return "this client"
	}
	return who.Name
}

// Full reports whether who holds as many streams as allowed. It is the
// check before a WebSocket upgrade (answered 429); Open decides.
func (s *Streams) Full(who Identity) bool {
	if s == nil || s.max <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.per[who.Name] >= s.max
}

// Open registers a connection of who, or fails when who holds the most
// allowed. Close releases it.
func (s *Streams) Open(who Identity) (*Stream, error) {
	st := &Stream{s: s, who: who, revoked: make(chan struct{})}
	if s == nil {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.per[who.Name] >= s.max {
		return nil, tooManyStreams(who, s.max)
	}
	s.per[who.Name]++
	s.open[st] = struct{}{}
	return st, nil
}

// Revoked is closed when the stream's credentials are withdrawn: its
// connection must end.
func (st *Stream) Revoked() <-chan struct{} { return st.revoked }

// Close releases the stream; calling it again does nothing.
func (st *Stream) Close() {
	if st == nil || st.s == nil {
		return
	}
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.open[st]; !ok {
		return
	}
	delete(s.open, st)
	if s.per[st.who.Name]--; s.per[st.who.Name] <= 0 {
		delete(s.per, st.who.Name)
	}
}

// Len is the number of open streams.
func (s *Streams) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// revoke ends every stream whose identity valid refuses.
func (s *Streams) revoke(valid func(Identity) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.open {
		if !valid(st.who) {
			st.once.Do(func() { close(st.revoked) })
		}
	}
}

type streamsKey struct{}

// StreamsOf is the registry of the server that c reaches, for the
// dashboard's live feed; nil outside a Server.
func StreamsOf(c *fiber.Ctx) *Streams {
	s, _ := c.Locals(streamsKey{}).(*Streams)
	return s
}

// CloseRevoked is the WebSocket close code sent when a connection's token
// was removed: 1008, policy violation, on which clients (htmx-ext-ws among
// them) do not reconnect.
const CloseRevoked = 1008

// valid reports whether who's credentials still hold (always, unless the
// authentication can withdraw them).
func (s *Server) valid(who Identity) bool {
	if r, ok := s.opts.Auth.(Revocable); ok {
		return r.Valid(who)
	}
	return true
}
