package server

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
)

// MaxLogWait bounds ?wait= on GET /jobs/{id}/log: a longer wait is cut to
// it, so that no request outlives the idle timeout of a proxy on the way
// (a follower asks again).
const MaxLogWait = 60 * time.Second

// logWait reads ?wait=, a Go duration (30s, 1m): how long a read at the
// end of a log may wait for more. 0 when absent.
func logWait(c *fiber.Ctx) (time.Duration, error) {
	v := c.Query("wait")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, &engine.ValidationError{Field: "wait", Message: "must be a duration such as 30s (at most " + MaxLogWait.String() + ")"}
	}
	return min(d, MaxLogWait), nil
}

// waitLog is a log read that found nothing new, made again once there may
// be something: the log grew (the engine says so: Manager.WatchLog), the
// job ended, wait passed, or the server stops. A client that goes away
// ends it too. While it waits the request counts as one of its caller's
// live connections (Streams). Without anyone to announce growth (the
// engine's progress following is off) it answers at once, as a server
// without ?wait= does: the client's own clock applies.
func (s *Server) waitLog(c *fiber.Ctx, id string, attempt int, stream string, wait time.Duration, read func() (engine.LogChunk, error)) (engine.LogChunk, error) {
	// The id and stream may live on in the engine's maps and the goroutine
	// below after the handler returned, when fiber reuses the request's
	// bytes.
	id, stream = strings.Clone(id), strings.Clone(stream)
	grew := make(chan struct{}, 1)
	unwatch, ok := s.m.WatchLog(id, attempt, stream, func(engine.LogGrowth) {
		select {
		case grew <- struct{}{}:
		default: // already noted
		}
	})
	defer unwatch()
	if !ok {
		return read()
	}
	st, err := s.streams.Open(identity(c))
	if err != nil {
		return engine.LogChunk{}, err
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(c.UserContext())
	defer cancel()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		// An error (the store closed) ends the wait too: the read after
		// it answers it.
		_, _ = s.m.Wait(ctx, id)
	}()
	gone, stopWatching := peerGone(c.Context().Conn())
	defer stopWatching()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		// Read after watching, so that no growth after the read goes
		// unannounced.
		chunk, err := read()
		if err != nil || len(chunk.Data) > 0 || chunk.Ended {
			return chunk, err
		}
		select {
		case <-grew:
			// It grew, perhaps only by part of a character: read again.
			continue
		case <-ended:
		case <-timer.C:
		case <-st.Revoked():
		case <-s.closing:
		case <-gone:
			// Nobody will read the answer.
			return chunk, nil
		}
		return read()
	}
}
