package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/simjobs/simjobs/server/apitype"
)

// ErrLagged: the server dropped the stream because the client read too
// slowly. Reconnect with the last sequence number seen.
var ErrLagged = errors.New("event stream dropped: the client fell behind")

// EventStream is an open /ws connection.
type EventStream struct {
	conn *websocket.Conn
	stop func() bool
}

// eventIdle is how long a stream may stay silent: the server pings every
// 30 seconds, so a longer silence means the connection is dead.
const eventIdle = 75 * time.Second

// Events opens the event stream. With since >= 0 the events after that
// sequence number are replayed first (as far as the server still keeps
// them), then live events follow; since < 0 gives live events only. The
// stream closes when ctx ends.
func (c *Client) Events(ctx context.Context, since int64) (*EventStream, error) {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path += "/ws"
	if since >= 0 {
		u.RawQuery = url.Values{"since": {strconv.FormatInt(since, 10)}}.Encode()
	}
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set("Authorization", "Bearer "+c.token)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment}
	conn, resp, err := d.DialContext(ctx, u.String(), hdr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if resp != nil {
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			return nil, &Error{Method: http.MethodGet, Path: "/ws", StatusCode: resp.StatusCode, Message: errorMessage(data)}
		}
		if unreachable(err) {
			return nil, &UnreachableError{URL: c.base.String(), Err: err}
		}
		return nil, fmt.Errorf("GET /ws: %w", err)
	}
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(eventIdle))
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
	})
	s := &EventStream{conn: conn}
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	return s, nil
}

// Next blocks until the next event. It returns ErrLagged when the server
// dropped a slow reader, and an error when the connection ends.
func (s *EventStream) Next() (apitype.Event, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(eventIdle))
	_, b, err := s.conn.ReadMessage()
	if err != nil {
		if websocket.IsCloseError(err, 4000) {
			return apitype.Event{}, fmt.Errorf("%w (%v)", ErrLagged, err)
		}
		return apitype.Event{}, fmt.Errorf("event stream: %w", err)
	}
	var ev apitype.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return apitype.Event{}, fmt.Errorf("event stream: message %.100q: %w", b, err)
	}
	return ev, nil
}

// Close ends the stream.
func (s *EventStream) Close() error {
	s.stop()
	return s.conn.Close()
}

// WaitUpdate is what Wait reports while it waits.
type WaitUpdate struct {
	// Event is an event the stream delivered (any job's), or nil.
	Event *apitype.Event
	// Job is a fresh record of a waited-for job, or nil.
	Job *apitype.Job
}

// Wait blocks until every job of ids has ended and returns their records,
// in the order of ids. It follows the event stream and re-reads a job when
// an event names it (no polling), reconnecting with ?since= when the
// stream drops; only when the server refuses WebSockets (a proxy) does it
// poll. progress, when not nil, sees every event and every record read.
func (c *Client) Wait(ctx context.Context, ids []string, progress func(WaitUpdate)) ([]apitype.Job, error) {
	if progress == nil {
		progress = func(WaitUpdate) {}
	}
	w := &waiter{c: c, progress: progress, pending: map[string]bool{}, final: map[string]apitype.Job{}}
	for _, id := range ids {
		w.pending[id] = true
	}
	if err := w.run(ctx); err != nil {
		return nil, err
	}
	out := make([]apitype.Job, len(ids))
	for i, id := range ids {
		out[i] = w.final[id]
	}
	return out, nil
}

type waiter struct {
	c        *Client
	progress func(WaitUpdate)
	pending  map[string]bool
	final    map[string]apitype.Job
}

// reread reads a pending job; ended jobs leave pending.
func (w *waiter) reread(ctx context.Context, id string) error {
	j, err := w.c.Job(ctx, id)
	if err != nil {
		return fmt.Errorf("job %s: %w", id, err)
	}
	w.progress(WaitUpdate{Job: &j})
	if j.Status.Terminal() {
		w.final[id] = j
		delete(w.pending, id)
	}
	return nil
}

func (w *waiter) rereadAll(ctx context.Context) error {
	for id := range w.pending {
		if err := w.reread(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (w *waiter) run(ctx context.Context) error {
	// Reconnect backoff: a server restarting, or a moment of network
	// trouble, does not end a long wait (about 24 s of retries).
	reconnectDelays := [...]time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	since := int64(-1)
	failures := 0
	for len(w.pending) > 0 {
		stream, err := w.c.Events(ctx, since)
		if err != nil {
			var apiErr *Error
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden):
				return err
			case errors.As(err, &apiErr):
				// The server (or a proxy) does not speak WebSocket here.
				return w.poll(ctx)
			}
			if failures++; failures >= len(reconnectDelays) {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(reconnectDelays[failures]):
			}
			continue
		}
		// Subscribed first, read second: nothing can end unseen between.
		if err := w.rereadAll(ctx); err != nil {
			stream.Close()
			return err
		}
		for len(w.pending) > 0 {
			ev, err := stream.Next()
			if err != nil {
				break
			}
			failures = 0
			since = ev.Seq
			w.progress(WaitUpdate{Event: &ev})
			if ev.Name == apitype.EventResync {
				if err := w.rereadAll(ctx); err != nil {
					stream.Close()
					return err
				}
				continue
			}
			if id := ev.JobID(); id != "" && w.pending[id] {
				if err := w.reread(ctx, id); err != nil {
					stream.Close()
					return err
				}
			}
		}
		stream.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// poll re-reads the pending jobs on a timer: the fallback when no event
// stream is available.
func (w *waiter) poll(ctx context.Context) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if err := w.rereadAll(ctx); err != nil {
			return err
		}
		if len(w.pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
