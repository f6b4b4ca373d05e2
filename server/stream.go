package server

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/gofiber/websocket/v2"

	"github.com/simjobs/simjobs/engine"
)

// The one WebSocket pump behind /ws, Socket.IO's WebSocket transport and
// the dashboard's live feed. Each of them supplies only what it sends; the
// plumbing every long-lived connection needs is written here once: a
// reader that notices the client leaving (and is gone before the handler
// returns, since fasthttp pools the connection), a deadline on each write,
// pings, and the close frame for falling behind, withdrawn credentials
// and shutdown.

// Close is a close frame a pump ends a connection with.
type Close struct {
	Code int
	Text string
}

// PumpOptions say how a pump runs one connection. The zero value has a
// 10 s write deadline, no pings, a 4 KiB read limit and discards what the
// client sends.
type PumpOptions struct {
	// WriteTimeout bounds each write; a client that takes longer is gone.
	WriteTimeout time.Duration
	// PingEvery sends a WebSocket ping so idle connections stay open
	// through proxies; 0 sends none. With pings, a client that sends
	// nothing (not even the pong every WebSocket client answers a ping
	// with while it reads) for PingEvery+WriteTimeout is gone: that is how
	// a client that stopped reading is noticed, when the socket buffers
	// take what it does not read (megabytes on loopback) long before a
	// write would block.
	PingEvery time.Duration
	// ReadLimit is the largest message the client may send.
	ReadLimit int64
	// OnMessage receives each text message, on the reader goroutine; nil
	// discards them.
	OnMessage func(msg []byte)
	// First is written before anything else (nil: nothing).
	First []byte

	// Revoked ends the connection with CloseRevoked and RevokedText.
	Revoked     <-chan struct{}
	RevokedText string
	// Shutdown ends the connection with OnShutdown.
	Shutdown   <-chan struct{}
	OnShutdown Close

	// Tick and OnTick are a connection's own clock (a job page following
	// its log): OnTick's message, if any, is written at each tick. Tick is
	// asked again each time round (a page starts following a log when its
	// job starts); nil, or a nil channel, never ticks.
	Tick   func() <-chan time.Time
	OnTick func() []byte

	// For Pump only. LagCode closes a subscription that fell behind, with
	// a text naming the last seq sent (Since before any), which the client
	// reconnects with. Batch is how many waiting events one message
	// coalesces (0 or 1: one message per event).
	LagCode int
	Since   int64
	Batch   int
}

const (
	defaultWriteTimeout = 10 * time.Second
	defaultReadLimit    = 4096
)

// Pump writes a bus subscription to a WebSocket until the client leaves,
// falls behind or the connection is ended by opts. encode turns the events
// one message carries (one, or up to opts.Batch) into that message; /ws
// sends each event's cached Event.JSON, so an event is encoded once
// however many clients receive it. Pump is the connection's only writer
// (fasthttp websocket writes are not concurrency-safe) and returns once
// its reader is gone.
func Pump(conn *websocket.Conn, sub *engine.Subscription, encode func([]engine.Event) []byte, opts PumpOptions) {
	last := opts.Since
	batch := max(opts.Batch, 1)
	evs := make([]engine.Event, 0, max(batch, maxFrames))
	var msgs [][]byte
	Run(conn, func() <-chan engine.Event { return sub.C }, func(ev engine.Event, ok bool) ([][]byte, *Close) {
		if !ok {
			return nil, &Close{Code: opts.LagCode, Text: "too slow: reconnect with ?since=" + strconv.FormatInt(last, 10)}
		}
		evs = append(evs[:0], ev)
		// Take what is already waiting too: with Batch, coalesced into
		// one message; without, one message each, which Run writes in
		// one go.
		take := batch
		if batch == 1 {
			take = maxFrames
		}
	drain:
		for len(evs) < take {
			select {
			case ev, ok := <-sub.C:
				if !ok {
					break drain // the next receive reports the lag
				}
				evs = append(evs, ev)
			default:
				break drain
			}
		}
		last = evs[len(evs)-1].Seq
		if batch > 1 {
			return [][]byte{encode(evs)}, nil
		}
		msgs = msgs[:0]
		for i := range evs {
			msgs = append(msgs, encode(evs[i:i+1]))
		}
		return msgs, nil
	}, opts)
}

// maxFrames bounds how many waiting messages one write carries.
const maxFrames = 64

// Run is the pump over any source: it waits on the channel wait returns
// (asked again each time round, so a source may hand out a fresh one) and
// writes the messages step makes of what arrives, until step returns a
// close frame, a write fails, the client leaves or opts end the
// connection. Socket.IO's WebSocket transport runs on it with its
// session's packet queue as the source; Pump runs it on a subscription.
func Run[T any](conn *websocket.Conn, wait func() <-chan T, step func(v T, ok bool) ([][]byte, *Close), opts PumpOptions) {
	timeout := opts.WriteTimeout
	if timeout <= 0 {
		timeout = defaultWriteTimeout
	}
	limit := opts.ReadLimit
	if limit <= 0 {
		limit = defaultReadLimit
	}
	// The connection goes back to fasthttp's pool when the handler
	// returns, so the reader must be gone by then: closing the connection
	// ends its read.
	gone := make(chan struct{})
	conn.SetReadLimit(limit)
	defer func() {
		conn.Close()
		<-gone
	}()
	// alive pushes the read deadline on whenever the client shows it
	// reads: a pong, or any message.
	alive := func() {}
	if opts.PingEvery > 0 {
		wait := opts.PingEvery + timeout
		alive = func() { _ = conn.SetReadDeadline(time.Now().Add(wait)) }
		alive()
		conn.SetPongHandler(func(string) error { alive(); return nil })
	}
	go func() {
		defer close(gone)
		for {
			mt, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			alive()
			if mt == websocket.TextMessage && opts.OnMessage != nil {
				opts.OnMessage(msg)
			}
		}
	}()
	write := func(b []byte) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
		return conn.WriteMessage(websocket.TextMessage, b) == nil
	}
	var frames []byte
	writeAll := func(msgs [][]byte) bool {
		if len(msgs) == 1 {
			return write(msgs[0])
		}
		var err error
		frames, err = writeFrames(conn, frames[:0], msgs, time.Now().Add(timeout))
		return err == nil
	}
	if opts.First != nil && !write(opts.First) {
		return
	}
	tick := opts.Tick
	if tick == nil {
		tick = func() <-chan time.Time { return nil }
	}
	var ping <-chan time.Time
	if opts.PingEvery > 0 {
		t := time.NewTicker(opts.PingEvery)
		defer t.Stop()
		ping = t.C
	}
	for {
		select {
		case v, ok := <-wait():
			msgs, end := step(v, ok)
			if len(msgs) > 0 && !writeAll(msgs) {
				return
			}
			if end != nil {
				closeFrame(conn, *end)
				return
			}
		case <-tick():
			if m := opts.OnTick(); len(m) > 0 && !write(m) {
				return
			}
		case <-ping:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(timeout)) != nil {
				return
			}
		case <-gone:
			return
		case <-opts.Revoked:
			closeFrame(conn, Close{Code: CloseRevoked, Text: opts.RevokedText})
			return
		case <-opts.Shutdown:
			closeFrame(conn, opts.OnShutdown)
			return
		}
	}
}

// closeFrame sends a close frame, waiting at most a second.
func closeFrame(conn *websocket.Conn, c Close) {
	msg := websocket.FormatCloseMessage(c.Code, c.Text)
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// writeFrames writes msgs as text frames, one per message, in a single
// write of the connection: under a burst of events a client gets one
// system call (and one TLS record) for all that waited, not one each,
// which is what kept a pump from keeping up with a busy bus. buf is reused
// between calls and returned. The frames are what the library writes for a
// server without compression (RFC 6455 5.2: FIN, opcode, unmasked length;
// no route enables permessage-deflate). Writing past the library is safe
// at frame boundaries: a net.Conn Write (TCP or TLS) is never interleaved
// with another, and the library writes each control frame the reader's
// handlers answer (pong, close) in one Write.
func writeFrames(conn *websocket.Conn, buf []byte, msgs [][]byte, deadline time.Time) ([]byte, error) {
	for _, m := range msgs {
		buf = appendFrameHeader(buf, len(m))
		buf = append(buf, m...)
	}
	nc := conn.NetConn()
	if err := nc.SetWriteDeadline(deadline); err != nil {
		return buf, err
	}
	_, err := nc.Write(buf)
	return buf, err
}

// appendFrameHeader appends the header of a final, unmasked text frame
// carrying n bytes.
func appendFrameHeader(b []byte, n int) []byte {
	const finText = 0x80 | websocket.TextMessage
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, finText, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
	}
}
