package server

// Socket.IO at /socket.io/: Engine.IO protocol 4 with Socket.IO protocol 5 on
// top, the endpoint python-socketio and socket.io-client talk to. It emits
// the events of the engine's bus, named as on /ws, with the event's data as
// the only argument (42["job_queued",{"job_id":...}]), as the PyEDB service
// did.
//
// Both transports are served: HTTP long-polling (the handshake clients make
// by default) with the upgrade to a WebSocket, and WebSocket alone
// (transports=['websocket']). The server pings every PingInterval and drops
// a client whose pong does not come within PingTimeout, as the protocol
// requires. Only the main namespace "/" exists. Authentication: the HTTP
// request's credentials (Authorization header, proxy headers), or the
// CONNECT packet's auth payload {"token": "..."} with token auth.
//
// One session's outgoing packets wait in a bounded queue; a client that
// lets it fill up is dropped (it reconnects), so a slow client never slows
// the engine or other clients.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/websocket/v2"

	"github.com/simjobs/simjobs/engine"
)

// SocketIOOptions tune the Socket.IO endpoint; zero values take the
// defaults of the reference implementation.
type SocketIOOptions struct {
	PingInterval time.Duration // default 25s
	PingTimeout  time.Duration // default 20s
}

const (
	eioMaxPayload = 1_000_000 // bytes per HTTP body or WebSocket message
	// eioMaxPerPoll bounds the packets of one polling answer:
	// python-engineio refuses a payload of more than 16 packets.
	eioMaxPerPoll = 16
	// eioMaxQueued is how many packets may wait for one client before it is
	// dropped as too slow.
	eioMaxQueued   = 1024
	eioMaxSessions = 10000
	eioWriteWait   = 10 * time.Second
	sioBusBuffer   = 256
)

// Engine.IO error codes, answered as {"code": n, "message": "..."} with 400.
const (
	eioUnknownTransport = 0
	eioUnknownSID       = 1
	eioBadRequest       = 3
	eioUnsupported      = 5
)

var eioMessages = map[int]string{
	eioUnknownTransport: "Transport unknown",
	eioUnknownSID:       "Session ID unknown",
	eioBadRequest:       "Bad request",
	eioUnsupported:      "Unsupported protocol version",
}

func eioError(c *fiber.Ctx, code int) error {
	return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"code": code, "message": eioMessages[code]})
}

// sioHub holds the Engine.IO sessions of one server.
type sioHub struct {
	s            *Server
	pingInterval time.Duration
	pingTimeout  time.Duration
	ws           fiber.Handler

	mu       sync.Mutex
	sessions map[string]*eioSession
}

func newSIOHub(s *Server, o SocketIOOptions) *sioHub {
	h := &sioHub{s: s, pingInterval: o.PingInterval, pingTimeout: o.PingTimeout, sessions: map[string]*eioSession{}}
	if h.pingInterval <= 0 {
		h.pingInterval = 25 * time.Second
	}
	if h.pingTimeout <= 0 {
		h.pingTimeout = 20 * time.Second
	}
	h.ws = websocket.New(h.serveWebSocket, websocket.Config{HandshakeTimeout: 10 * time.Second})
	return h
}

// Sessions returns how many Engine.IO sessions are open.
func (h *sioHub) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// SocketIOSessions returns how many Socket.IO clients are connected.
func (s *Server) SocketIOSessions() int { return s.sio.Sessions() }

func (h *sioHub) get(sid string) *eioSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[sid]
}

// open starts a session, or returns nil when there are too many.
func (h *sioHub) open(transport string, auth sioAuth) *eioSession {
	e := &eioSession{
		hub:       h,
		sid:       newSID(),
		auth:      auth,
		transport: transport,
		changed:   make(chan struct{}),
		done:      make(chan struct{}),
		pong:      make(chan struct{}, 1),
		ctl:       make(chan sioControl, 8),
	}
	h.mu.Lock()
	if len(h.sessions) >= eioMaxSessions {
		h.mu.Unlock()
		return nil
	}
	h.sessions[e.sid] = e
	h.mu.Unlock()
	go e.pump()
	return e
}

func (h *sioHub) forget(sid string) {
	h.mu.Lock()
	delete(h.sessions, sid)
	h.mu.Unlock()
}

// openPacket is the Engine.IO handshake.
func (h *sioHub) openPacket(e *eioSession, upgrades []string) string {
	b, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}{e.sid, upgrades, h.pingInterval.Milliseconds(), h.pingTimeout.Milliseconds(), eioMaxPayload})
	return "0" + string(b)
}

func newSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sioAuth is what the HTTP request carrying packets said about its caller.
type sioAuth struct {
	ok bool
	id Identity
}

func requestAuth(c *fiber.Ctx) sioAuth {
	return sioAuth{ok: authenticated(c), id: identity(c)}
}

// sioAuthLocal carries the upgrade request's credentials into the
// WebSocket (only string keys survive the upgrade).
const sioAuthLocal = "simjobs.sio.auth"

// socketIOGet answers GET /socket.io/: the polling handshake, a poll, or a
// WebSocket (new, or upgrading a polling session).
func (s *Server) socketIOGet(c *fiber.Ctx) error {
	if c.Query("EIO") != "4" {
		return eioError(c, eioUnsupported)
	}
	sid := c.Query("sid")
	switch c.Query("transport") {
	case "websocket":
		if !websocket.IsWebSocketUpgrade(c) {
			return eioError(c, eioBadRequest)
		}
		if !sameOrigin(c) { // as for /ws: no other site may read events
			return eioError(c, eioBadRequest)
		}
		if sid != "" {
			e := s.sio.get(sid)
			if e == nil {
				return eioError(c, eioUnknownSID)
			}
			if !e.upgradable() {
				return eioError(c, eioBadRequest)
			}
		}
		c.Locals(sioAuthLocal, requestAuth(c))
		return s.sio.ws(c)
	case "polling":
	default:
		return eioError(c, eioUnknownTransport)
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=UTF-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	if sid == "" {
		e := s.sio.open("polling", requestAuth(c))
		if e == nil {
			return apiError(fiber.StatusServiceUnavailable, "too many Socket.IO sessions; try again later")
		}
		return c.SendString(s.sio.openPacket(e, []string{"websocket"}))
	}
	e := s.sio.get(sid)
	if e == nil {
		return eioError(c, eioUnknownSID)
	}
	payload, ok := e.poll(s.closing)
	if !ok {
		return eioError(c, eioBadRequest)
	}
	return c.SendString(payload)
}

// socketIOPost answers POST /socket.io/: packets a polling client sends.
func (s *Server) socketIOPost(c *fiber.Ctx) error {
	if c.Query("EIO") != "4" {
		return eioError(c, eioUnsupported)
	}
	if c.Query("transport") != "polling" {
		return eioError(c, eioUnknownTransport)
	}
	e := s.sio.get(c.Query("sid"))
	if e == nil {
		return eioError(c, eioUnknownSID)
	}
	auth := requestAuth(c)
	for _, p := range strings.Split(string(c.Body()), "\x1e") {
		e.receive(p, auth)
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=UTF-8")
	return c.SendString("ok")
}

// serveWebSocket runs one WebSocket: a new session, or the upgrade of a
// polling one (probe "2probe" -> "3probe", then "5"), then pumps the
// session's packets through the shared pump (server/stream.go).
func (h *sioHub) serveWebSocket(conn *websocket.Conn) {
	auth, _ := conn.Locals(sioAuthLocal).(sioAuth)
	conn.SetReadLimit(eioMaxPayload)
	write := func(p string) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(eioWriteWait))
		return conn.WriteMessage(websocket.TextMessage, []byte(p)) == nil
	}
	var e *eioSession
	if sid := conn.Query("sid"); sid == "" {
		if e = h.open("websocket", auth); e == nil {
			msg := websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too many sessions")
			_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		}
		if !write(h.openPacket(e, []string{})) {
			e.close()
			return
		}
	} else {
		if e = h.get(sid); e == nil || !e.beginProbe() {
			return
		}
		if !h.probe(conn, e, write) {
			e.endProbe(false)
			return
		}
		e.endProbe(true)
	}
	defer e.close()

	// The session's packet queue is the pump's source: take what is queued
	// whenever it changes (a closed channel to begin with, so what queued
	// before the upgrade goes out at once). A client leaving ends the pump,
	// and the deferred close ends the session.
	ready := make(chan struct{})
	close(ready)
	var changed <-chan struct{} = ready
	Run(conn, func() <-chan struct{} { return changed }, func(struct{}, bool) ([][]byte, *Close) {
		pkts, next, closed := e.take(eioMaxQueued)
		changed = next
		msgs := make([][]byte, 0, len(pkts)+1)
		for _, p := range pkts {
			msgs = append(msgs, []byte(p))
		}
		if closed {
			return append(msgs, []byte("1")), &Close{Code: websocket.CloseNormalClosure}
		}
		return msgs, nil
	}, PumpOptions{
		WriteTimeout: eioWriteWait,
		ReadLimit:    eioMaxPayload,
		OnMessage:    func(msg []byte) { e.receive(string(msg), auth) },
		Shutdown:     h.s.closing,
		OnShutdown:   Close{Code: websocket.CloseGoingAway, Text: "server shutting down"},
	})
}

// probe runs the upgrade handshake on conn.
func (h *sioHub) probe(conn *websocket.Conn, e *eioSession, write func(string) bool) bool {
	_ = conn.SetReadDeadline(time.Now().Add(h.pingTimeout))
	defer conn.SetReadDeadline(time.Time{})
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "2probe" {
		return false
	}
	if !write("3probe") {
		return false
	}
	// A client that polls meanwhile must get an answer, so that it can
	// pause polling and send the upgrade packet.
	e.flushNoop()
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return false
		}
		switch string(msg) {
		case "5":
			return true
		case "6":
			continue
		default:
			return false
		}
	}
}

// eioSession is one Engine.IO connection, whatever its transport.
type eioSession struct {
	hub  *sioHub
	sid  string
	auth sioAuth // of the request that opened the session

	pong chan struct{}   // a pong arrived
	ctl  chan sioControl // Socket.IO connects and disconnects, for pump
	done chan struct{}   // closed by close

	connected atomic.Bool // a Socket.IO CONNECT was accepted

	mu        sync.Mutex
	out       []string
	changed   chan struct{} // closed and replaced whenever state changes
	transport string        // "polling" or "websocket"
	polling   bool          // a GET is waiting
	probing   bool          // a WebSocket is upgrading this session
	noop      bool          // answer the waiting GET with a noop
	closed    bool
}

type sioControl struct {
	connect bool
	sid     string
	who     Identity // who connects
}

// notifyLocked wakes everyone waiting for a change. e.mu is held.
func (e *eioSession) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// send queues a packet; a client that lets too many wait is dropped.
func (e *eioSession) send(p string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if len(e.out) >= eioMaxQueued {
		e.closeLocked()
		return
	}
	e.out = append(e.out, p)
	e.notifyLocked()
}

func (e *eioSession) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeLocked()
}

func (e *eioSession) closeLocked() {
	if e.closed {
		return
	}
	e.closed = true
	close(e.done)
	e.notifyLocked()
	e.hub.forget(e.sid)
}

// take removes up to max queued packets.
func (e *eioSession) take(max int) (pkts []string, changed <-chan struct{}, closed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := min(len(e.out), max)
	pkts = append(pkts, e.out[:n]...)
	e.out = e.out[n:]
	if len(e.out) == 0 {
		e.out = nil
	}
	return pkts, e.changed, e.closed && len(e.out) == 0
}

// poll answers a polling GET: the waiting packets, as soon as there are
// some. It reports false for a request the protocol forbids (a second
// concurrent GET, or a GET after the upgrade), which ends the session.
func (e *eioSession) poll(closing <-chan struct{}) (string, bool) {
	e.mu.Lock()
	if e.transport != "polling" {
		e.mu.Unlock()
		return "", false
	}
	if e.polling {
		e.closeLocked() // overlapping polls: the protocol ends the session
		e.mu.Unlock()
		return "", false
	}
	e.polling = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.polling = false
		e.mu.Unlock()
	}()
	for {
		e.mu.Lock()
		switch {
		case e.closed:
			e.mu.Unlock()
			return "1", true
		case e.transport != "polling":
			e.mu.Unlock()
			return "6", true
		case len(e.out) > 0:
			n, size := 0, 0
			for n < len(e.out) && n < eioMaxPerPoll && (n == 0 || size+len(e.out[n]) < eioMaxPayload) {
				size += len(e.out[n]) + 1
				n++
			}
			payload := strings.Join(e.out[:n], "\x1e")
			e.out = e.out[n:]
			e.noop = false
			e.mu.Unlock()
			return payload, true
		case e.noop:
			e.noop = false
			e.mu.Unlock()
			return "6", true
		}
		changed := e.changed
		e.mu.Unlock()
		select {
		case <-changed:
		case <-closing:
			return "1", true
		}
	}
}

// upgradable reports whether a WebSocket may upgrade this session.
func (e *eioSession) upgradable() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.closed && e.transport == "polling" && !e.probing
}

func (e *eioSession) beginProbe() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.transport != "polling" || e.probing {
		return false
	}
	e.probing = true
	return true
}

// endProbe switches the session to the WebSocket, or keeps it polling when
// the upgrade failed.
func (e *eioSession) endProbe(upgraded bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.probing = false
	if upgraded {
		e.transport = "websocket"
	}
	e.notifyLocked()
}

func (e *eioSession) flushNoop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.noop = true
	e.notifyLocked()
}

// receive handles one Engine.IO packet from the client.
func (e *eioSession) receive(p string, auth sioAuth) {
	if p == "" {
		return
	}
	switch p[0] {
	case '1': // close
		e.close()
	case '2': // ping (not sent by v4 clients, but answered)
		e.send("3" + p[1:])
	case '3': // pong
		select {
		case e.pong <- struct{}{}:
		default:
		}
	case '4': // message: a Socket.IO packet
		e.receiveSocketIO(p[1:], auth)
	}
	// 5 (upgrade) and 6 (noop) only matter during the probe; binary
	// ("b...") packets are not used by this API.
}

// receiveSocketIO handles a Socket.IO packet:
// <type>[<namespace>,][<ack id>][<JSON>].
func (e *eioSession) receiveSocketIO(p string, auth sioAuth) {
	if p == "" {
		return
	}
	typ, rest := p[0], p[1:]
	nsp := "/"
	if strings.HasPrefix(rest, "/") {
		if i := strings.IndexByte(rest, ','); i >= 0 {
			nsp, rest = rest[:i], rest[i+1:]
		} else {
			nsp, rest = rest, ""
		}
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	ack, data := rest[:i], rest[i:]
	prefix := ""
	if nsp != "/" {
		prefix = nsp + ","
	}
	switch typ {
	case '0': // CONNECT
		if nsp != "/" {
			e.send("44" + prefix + `{"message":"Invalid namespace"}`)
			return
		}
		who, ok := e.authorize(auth, data)
		if !ok {
			e.send(`44{"message":"authentication required: send an Authorization header or auth {\"token\": \"...\"}"}`)
			return
		}
		e.control(sioControl{connect: true, sid: newSID(), who: who})
	case '1': // DISCONNECT
		if nsp == "/" {
			e.control(sioControl{connect: false})
		}
	case '2': // EVENT: events from clients carry no meaning here; acknowledge
		if ack != "" {
			e.send("43" + prefix + ack + "[]")
		}
	}
}

// authorize decides whether a Socket.IO CONNECT may receive events: the
// request carrying it or the request that opened the session was
// authenticated, or the auth payload holds a valid token.
func (e *eioSession) authorize(auth sioAuth, data string) (Identity, bool) {
	if auth.ok {
		return auth.id, true
	}
	if e.auth.ok && e.hub.s.valid(e.auth.id) {
		return e.auth.id, true
	}
	var payload struct {
		Token string `json:"token"`
	}
	if data == "" || json.Unmarshal([]byte(data), &payload) != nil || payload.Token == "" {
		return Identity{}, false
	}
	lookup, ok := e.hub.s.opts.Auth.(interface {
		Lookup(token string) (Identity, bool)
	})
	if !ok {
		return Identity{}, false
	}
	return lookup.Lookup(payload.Token)
}

func (e *eioSession) control(c sioControl) {
	select {
	case e.ctl <- c:
	default:
		e.close() // a client flooding connects and disconnects
	}
}

// pump is the session's clock and event source: it pings, notices a
// missing pong, ends sessions that never connect, and turns bus events
// into packets while a Socket.IO client is connected.
func (e *eioSession) pump() {
	defer e.close()
	h := e.hub
	var sub *engine.Subscription
	defer func() {
		if sub != nil {
			sub.Close()
		}
	}()
	var events <-chan engine.Event
	// stream is the connected client's place among its identity's live
	// connections; revoked fires when its token is removed.
	var stream *Stream
	var revoked <-chan struct{}
	defer func() { stream.Close() }()
	ping := time.NewTimer(h.pingInterval)
	defer ping.Stop()
	pongWait := time.NewTimer(time.Hour)
	pongWait.Stop()
	defer pongWait.Stop()
	// A session that does not connect to the namespace in time ends: an
	// unauthenticated client holds nothing for long.
	connectBy := time.NewTimer(h.pingInterval + h.pingTimeout)
	defer connectBy.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-h.s.closing:
			return
		case <-ping.C:
			e.send("2")
			pongWait.Reset(h.pingTimeout)
		case <-e.pong:
			pongWait.Stop()
			ping.Reset(h.pingInterval)
		case <-pongWait.C:
			return
		case <-connectBy.C:
			if !e.connected.Load() {
				return
			}
		case c := <-e.ctl:
			if !c.connect {
				if sub != nil {
					sub.Close()
					sub, events = nil, nil
				}
				stream.Close()
				stream, revoked = nil, nil
				continue
			}
			if stream == nil {
				st, err := h.s.streams.Open(c.who)
				if err != nil {
					e.send(`44{"message":"too many live connections"}`)
					continue
				}
				stream, revoked = st, st.Revoked()
			}
			e.send(`40{"sid":"` + c.sid + `"}`)
			e.connected.Store(true)
			if sub == nil {
				sub = h.s.m.Events().Subscribe(-1, sioBusBuffer)
				events = sub.C
			}
		case <-revoked:
			// The token was removed: disconnect from the namespace, then
			// close; the client's reconnect is refused.
			e.send("41")
			return
		case ev, ok := <-events:
			if !ok {
				return // fell behind: the client reconnects
			}
			e.send(sioEvent(ev))
		}
	}
}

// sioEvent encodes an event as a Socket.IO EVENT packet inside an
// Engine.IO message: 42["name",data].
func sioEvent(ev engine.Event) string {
	var b bytes.Buffer
	b.WriteString(`42[`)
	name, _ := json.Marshal(ev.Name)
	b.Write(name)
	b.WriteByte(',')
	b.Write(ev.DataJSON()) // encoded once for every session
	b.WriteByte(']')
	return b.String()
}
