package server

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/websocket/v2"

	"github.com/simjobs/simjobs/engine"
)

// WebSocket tuning: how many events may wait for one client before it is
// dropped (it reconnects with ?since= and misses nothing still in the
// replay ring), how long one write may take, how often to ping.
const (
	wsBuffer       = 1024
	wsWriteTimeout = 10 * time.Second
	wsPingEvery    = 30 * time.Second
)

// CloseLagged is the close code sent to a client that fell behind.
const CloseLagged = 4000

func (s *Server) websocket(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return apiError(fiber.StatusUpgradeRequired, "this endpoint speaks WebSocket")
	}
	// Browsers do not keep other sites from opening WebSockets here: only
	// our own pages (or programs, which send no Origin) may read events.
	if !sameOrigin(c) {
		return apiError(fiber.StatusForbidden, "cross-site WebSocket refused")
	}
	since := int64(-1)
	if q := c.Query("since"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 0 {
			return &engine.ValidationError{Field: "since", Message: "must be an event sequence number >= 0"}
		}
		since = n
	}
	who := identity(c)
	if s.streams.Full(who) {
		return tooManyStreams(who, s.opts.Network.MaxStreams)
	}
	c.Locals(sinceLocal, since)
	c.Locals(whoLocal, who)
	return s.wsHandler(c)
}

// sinceLocal and whoLocal carry ?since= and the caller into the upgraded
// connection (only string keys survive the upgrade).
const (
	sinceLocal = "simjobs.since"
	whoLocal   = "simjobs.who"
)

// closeWith sends a close frame.
func closeWith(conn *websocket.Conn, code int, text string) {
	msg := websocket.FormatCloseMessage(code, text)
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// serveWS writes events to one client, one event per message, through the
// shared pump (server/stream.go).
func (s *Server) serveWS(conn *websocket.Conn) {
	since, _ := conn.Locals(sinceLocal).(int64)
	who, _ := conn.Locals(whoLocal).(Identity)
	stream, err := s.streams.Open(who)
	if err != nil {
		closeWith(conn, websocket.ClosePolicyViolation, "too many live connections")
		conn.Close()
		return
	}
	defer stream.Close()
	sub := s.m.Events().Subscribe(since, wsBuffer)
	defer sub.Close()
	s.wsClients.Add(1)
	defer s.wsClients.Add(-1)

	opts := PumpOptions{
		WriteTimeout: wsWriteTimeout,
		PingEvery:    wsPingEvery,
		Revoked:      stream.Revoked(),
		RevokedText:  "credentials revoked",
		Shutdown:     s.closing,
		OnShutdown:   Close{Code: websocket.CloseGoingAway, Text: "server shutting down"},
		LagCode:      CloseLagged,
	}
	if sub.Missed {
		// Tell the client its replay has a hole so it reloads its state.
		resync := engine.Event{Name: "resync", Seq: since, Time: time.Now().UTC(), Data: fiber.Map{"reason": "events after the requested seq are no longer kept"}}
		opts.First = resync.JSON()
	}
	Pump(conn, sub, func(evs []engine.Event) []byte { return evs[0].JSON() }, opts)
}
