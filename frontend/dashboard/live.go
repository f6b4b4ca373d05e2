package dashboard

import (
	"bytes"
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/websocket/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// The live feed: GET /ui/live?page=...&since=SEQ&boot=ID is a WebSocket
// that sends HTML fragments (htmx-ext-ws swaps them in by id, hx-swap-oob)
// for the events after SEQ. Every message ends with the number of the last
// event it reflects, which the page sends back as ?since= when it
// reconnects, so nothing is missed; a page from another server process
// (boot differs) or one too far behind is brought up to date instead.
const (
	liveBuffer       = 1024
	liveWriteTimeout = 10 * time.Second
	livePingEvery    = 30 * time.Second
	// liveBatch bounds how many queued events one message coalesces.
	liveBatch = 512
)

// Close codes that make htmx-ext-ws reconnect (it retries only on
// 1006, 1011, 1012 and 1013).
const (
	closeRestart  = 1012 // the server stops; try again, it may be back
	closeTryLater = 1013 // this page fell behind; reconnect with ?since=
)

// liveReq is a live-feed request, parsed before the upgrade.
type liveReq struct {
	page      string
	since     int64
	boot      string
	query     url.Values
	logOffset int64
	who       server.Identity
	csrf      string
	streams   *server.Streams
}

// liveKey carries the request into the upgraded connection.
const liveKey = "simjobs.live"

func (d *Dashboard) live(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "this endpoint speaks WebSocket")
	}
	if !server.SameOrigin(c) {
		return fiber.NewError(fiber.StatusForbidden, "cross-site WebSocket refused")
	}
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "bad query")
	}
	r := &liveReq{page: q.Get("page"), since: -1, boot: q.Get("boot"), query: q}
	if v := q.Get("since"); v != "" {
		if r.since, err = strconv.ParseInt(v, 10, 64); err != nil || r.since < 0 {
			return fiber.NewError(fiber.StatusBadRequest, "since must be an event number")
		}
	}
	if v := q.Get("log_offset"); v != "" {
		if r.logOffset, err = strconv.ParseInt(v, 10, 64); err != nil || r.logOffset < 0 {
			return fiber.NewError(fiber.StatusBadRequest, "log_offset must be a byte offset")
		}
	}
	r.who, _ = server.Caller(c)
	r.csrf = server.CSRFToken(c)
	r.streams = server.StreamsOf(c)
	if r.streams.Full(r.who) {
		return fiber.NewError(fiber.StatusTooManyRequests, "too many live connections open: close some pages")
	}
	c.Locals(liveKey, r)
	return d.ws(c)
}

// view is what one open page needs from the feed.
type view interface {
	// start runs once the connection is up; resync is true when the page
	// may have missed events and must be brought up to date.
	start(ctx context.Context, out *bytes.Buffer, resync bool) error
	// event notes one event; flush renders what the noted events changed.
	event(ctx context.Context, ev engine.Event, out *bytes.Buffer)
	flush(ctx context.Context, seq int64, out *bytes.Buffer)
	// tick is the view's own clock (a job's log); nil for none.
	tick() <-chan time.Time
	poll(ctx context.Context, out *bytes.Buffer)
	stop()
}

func (d *Dashboard) newView(r *liveReq) view {
	switch r.page {
	case "overview":
		return &overviewView{d: d}
	case "jobs":
		return newJobsView(d, r)
	case "job":
		return newJobView(d, r)
	case "settings":
		return &settingsView{d: d}
	case "sweep":
		return newSweepView(d, r)
	case "sweeps":
		return &sweepsView{d: d}
	}
	return quietView{}
}

func (d *Dashboard) serveLive(conn *websocket.Conn) {
	r, _ := conn.Locals(liveKey).(*liveReq)
	if r == nil {
		return
	}
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	// The page counts among its user's live connections, and ends when
	// the user's token is withdrawn (closed as a policy violation: the
	// page does not reconnect).
	stream, err := r.streams.Open(r.who)
	if err != nil {
		msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too many live connections")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		return
	}
	defer stream.Close()
	bus := d.env.Manager.Events()
	// Events of another server process mean nothing here: start afresh.
	since := r.since
	resync := r.boot != d.env.Boot || since < 0
	if resync {
		since = -1
	}
	sub := bus.Subscribe(since, liveBuffer)
	defer sub.Close()
	resync = resync || sub.Missed
	last := since
	if resync {
		last = bus.Seq()
	}

	var out bytes.Buffer
	// message ends what out holds with the seq it reflects. The pump
	// writes it before the next one is begun (with out.Reset).
	message := func() []byte {
		out.Write(d.memo.mark(ctx, last))
		return out.Bytes()
	}

	v := d.newView(r)
	defer v.stop()
	my := newMine(d, r.who.Name)
	if err := v.start(ctx, &out, resync); err != nil {
		// The page cannot be brought up to date here: it reloads.
		out.Reset()
		frontend.LiveSeqOOB(last, d.env.Boot, true).Render(ctx, &out)
		_ = conn.WriteMessage(websocket.TextMessage, out.Bytes())
		return
	}
	my.start(ctx, &out)
	first := message()
	server.Pump(conn, sub, func(evs []engine.Event) []byte {
		out.Reset()
		for _, ev := range evs {
			v.event(ctx, ev, &out)
			my.event(ev)
		}
		last = evs[len(evs)-1].Seq
		v.flush(ctx, last, &out)
		my.flush(ctx, &out)
		return message()
	}, server.PumpOptions{
		WriteTimeout: liveWriteTimeout,
		PingEvery:    livePingEvery,
		First:        first,
		Revoked:      stream.Revoked(),
		RevokedText:  "signed out: the token was withdrawn",
		Shutdown:     ctx.Done(),
		OnShutdown:   server.Close{Code: closeRestart, Text: "server stopping"},
		Tick:         v.tick,
		OnTick: func() []byte {
			out.Reset()
			v.poll(ctx, &out)
			if out.Len() == 0 {
				return nil
			}
			return message()
		},
		LagCode: closeTryLater,
		Since:   last,
		Batch:   liveBatch + 1,
	})
}

// quietView is a page with nothing live but the connection indicator.
type quietView struct{}

func (quietView) start(context.Context, *bytes.Buffer, bool) error   { return nil }
func (quietView) event(context.Context, engine.Event, *bytes.Buffer) {}
func (quietView) flush(context.Context, int64, *bytes.Buffer)        {}
func (quietView) tick() <-chan time.Time                             { return nil }
func (quietView) poll(context.Context, *bytes.Buffer)                {}
func (quietView) stop()                                              {}

// jobEvent reports whether an event is about a job, and which.
func jobEvent(ev engine.Event) (string, int, bool) {
	switch d := ev.Data.(type) {
	case engine.JobQueuedData:
		return d.JobID, d.Attempt, true
	case engine.JobStartedData:
		return d.JobID, d.Attempt, true
	case engine.JobScheduledData:
		return d.JobID, d.Attempt, true
	case engine.JobEndedData:
		return d.JobID, d.Attempt, true
	case engine.PriorityChangedData:
		return d.JobID, 0, true
	case engine.JobProgressData:
		return d.JobID, d.Attempt, true
	}
	return "", 0, false
}
