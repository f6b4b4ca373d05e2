package main

// The WebSocket fan-out scenario (-only ws): N clients on /ws while the
// engine's bus publishes R events/s for a while, against a bare
// fasthttp/websocket broadcaster sending the same bytes to the same number
// of clients in the same run. Each event carries its publish time, so a
// client measures delivery from the state change to its read. One more
// client stops reading: it must be dropped (close 4000) without slowing
// the others. Memory is sampled at the start and the end of the run.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/server"
)

var (
	wsDuration = flag.Duration("ws-duration", 60*time.Second, "how long the WebSocket fan-out run lasts (-only ws)")
	wsClients  = flag.Int("ws-clients", 1000, "WebSocket clients of the fan-out run")
	wsRate     = flag.Int("ws-rate", 1000, "events per second of the fan-out run")
)

// raiseNoFile lifts the open-files limit to its hard maximum: 2,000 sockets
// (both ends live in this process) pass the usual 1,024.
func raiseNoFile() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// sentAt finds the publish time in a message (an envelope or a bare data
// object, both holding "t":N) without decoding all of it.
func sentAt(msg []byte) (int64, bool) {
	i := bytes.Index(msg, []byte(`"t":`))
	if i < 0 {
		return 0, false
	}
	rest := msg[i+4:]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}

// fanout is one side's figures.
type fanout struct {
	p50, p99         time.Duration
	received         int64
	rssStart, rssEnd int64 // kB
	// rssWarm is sampled a quarter into the run: by then every
	// subscription's buffer (1,024 events, allocated at subscribe and
	// resident once the ring has gone round) is in the RSS, so growth
	// after it is what "flat" is judged by.
	rssWarm        int64
	stalledDropped bool
	lagged         int64 // reading clients dropped for falling behind
	published      int64 // events the ticker managed to publish
}

// latHist counts delivery latencies in 0.1 ms buckets up to 2 s (a list
// of 60 million samples would itself be the memory the run measures).
type latHist struct {
	b [20001]atomic.Int64
}

func (h *latHist) add(d time.Duration) {
	i := int(d / (100 * time.Microsecond))
	h.b[min(max(i, 0), len(h.b)-1)].Add(1)
}

// at returns the latency below which the fraction q of the samples fall.
func (h *latHist) at(q float64) time.Duration {
	var n int64
	for i := range h.b {
		n += h.b[i].Load()
	}
	want, seen := int64(float64(n)*q), int64(0)
	for i := range h.b {
		if seen += h.b[i].Load(); seen > want {
			return time.Duration(i+1) * 100 * time.Microsecond
		}
	}
	return 0
}

// readers dials n clients and records each message's delivery latency.
type readers struct {
	lat latHist
	got atomic.Int64
	// ended counts readers whose connection ended before close: the
	// server dropped them.
	ended   atomic.Int64
	closing atomic.Bool
	conns   []*fws.Conn
	wg      sync.WaitGroup
}

func dialReaders(url string, n int) (*readers, error) {
	r := &readers{}
	d := fws.Dialer{HandshakeTimeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		c, _, err := d.Dial(url, nil)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		r.conns = append(r.conns, c)
	}
	for _, c := range r.conns {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					if !r.closing.Load() {
						r.ended.Add(1)
					}
					return
				}
				if t, ok := sentAt(msg); ok {
					r.lat.add(time.Duration(time.Now().UnixNano() - t))
					r.got.Add(1)
				}
			}
		}()
	}
	return r, nil
}

func (r *readers) close() {
	r.closing.Store(true)
	for _, c := range r.conns {
		c.Close()
	}
	r.wg.Wait()
}

// publishFor calls publish at rate per second for d.
func publishFor(d time.Duration, rate int, publish func(now int64)) int64 {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	var n int64
	for now := range tick.C {
		if now.After(end) {
			return n
		}
		publish(time.Now().UnixNano())
		n++
	}
	return n
}

func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

func percentiles(h *latHist) (time.Duration, time.Duration) {
	return h.at(0.5), h.at(0.99)
}

// simjobsFanout runs the scenario against a real server's /ws.
func simjobsFanout(cfg config, n, rate int, d time.Duration) (fanout, error) {
	log := cfg.log
	s, err := newStack(cfg, engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100}, 0)
	if err != nil {
		return fanout{}, err
	}
	defer s.stop()
	// The stack's server keeps the default cap of live connections per
	// identity (all bench clients are one anonymous identity): serve the
	// same engine from a second server without the cap.
	srv := server.New(server.Options{Manager: s.m, Sampler: s.busy, Logger: log, Network: server.NetworkOptions{MaxStreams: -1}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fanout{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { srv.Serve(ctx, ln, time.Second); close(served) }()
	defer func() { cancel(); <-served }()
	url := "ws://" + ln.Addr().String() + "/ws"
	bus := s.m.Events()
	base := bus.Subscribers()
	r, err := dialReaders(url, n)
	if err != nil {
		return fanout{}, err
	}
	// The stalled client connects and never reads; a small receive buffer
	// makes its subscription fall behind within seconds, not minutes.
	small := &fws.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	stalled, _, err := small.Dial(url, nil)
	if err != nil {
		r.close()
		return fanout{}, err
	}
	defer stalled.Close()
	for bus.Subscribers() < base+n+1 {
		time.Sleep(10 * time.Millisecond) // the upgrades finish on the server's side
	}
	f := fanout{rssStart: rssKB()}
	warm := sampleRSSAfter(d / 4)
	// A padded payload, so the stalled client's socket buffers fill and
	// its subscription falls behind well within the run.
	pad := strings.Repeat("x", 200)
	f.published = publishFor(d, rate, func(now int64) {
		bus.PublishTransient("bench", map[string]any{"t": now, "pad": pad})
	})
	f.rssEnd, f.rssWarm = rssKB(), <-warm
	// Whom the server dropped, told apart on its side: the readers that
	// saw their connection end, and the stalled client if its
	// subscription is gone too. (Its own socket cannot always tell: on
	// loopback, with a thousand connections' buffers, the kernel may
	// discard the closed connection's unsent data without an RST.)
	time.Sleep(500 * time.Millisecond) // a dropped pump closes its subscription after the close frame
	f.lagged = r.ended.Load()
	stalledGone := int64(bus.Subscribers()-base) == int64(n)-f.lagged
	r.close()
	// The stalled client, reading at last, finds what was buffered for it
	// and then the close for falling behind. Its small receive window
	// would make that drain take longer than the run: widen it first.
	if tc, ok := stalled.NetConn().(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 20)
	}
	_ = stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		if _, _, err := stalled.ReadMessage(); err != nil {
			// Closed by the server: with 4000, or by a write that
			// missed its deadline; a timeout here means still open.
			var ne net.Error
			f.stalledDropped = stalledGone || !errors.As(err, &ne) || !ne.Timeout()
			break
		}
	}
	f.received = r.got.Load()
	f.p50, f.p99 = percentiles(&r.lat)
	return f, nil
}

// bareFanout is the baseline: a fasthttp server that upgrades every
// connection and writes each message to every client from one goroutine
// per client, with nothing else (no engine, no replay, no identity).
func bareFanout(n, rate int, d time.Duration) (fanout, error) {
	var mu sync.Mutex
	clients := map[chan []byte]struct{}{}
	up := fws.FastHTTPUpgrader{}
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		_ = up.Upgrade(c, func(conn *fws.Conn) {
			ch := make(chan []byte, 1024)
			mu.Lock()
			clients[ch] = struct{}{}
			mu.Unlock()
			go func() {
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						return
					}
				}
			}()
			for b := range ch {
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if conn.WriteMessage(fws.TextMessage, b) != nil {
					break
				}
			}
			mu.Lock()
			delete(clients, ch)
			mu.Unlock()
			conn.Close()
		})
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fanout{}, err
	}
	go srv.Serve(ln)
	defer srv.Shutdown()
	r, err := dialReaders("ws://"+ln.Addr().String()+"/", n)
	if err != nil {
		return fanout{}, err
	}
	for {
		mu.Lock()
		k := len(clients)
		mu.Unlock()
		if k >= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	f := fanout{rssStart: rssKB()}
	warm := sampleRSSAfter(d / 4)
	pad := strings.Repeat("x", 200)
	var seq int64
	f.published = publishFor(d, rate, func(now int64) {
		seq++
		b := fmt.Appendf(nil, `{"event":"bench","seq":%d,"time":"%s","data":{"pad":"%s","t":%d}}`, seq, time.Now().UTC().Format(time.RFC3339Nano), pad, now)
		mu.Lock()
		for ch := range clients {
			select {
			case ch <- b:
			default:
				delete(clients, ch)
				close(ch)
			}
		}
		mu.Unlock()
	})
	f.rssEnd, f.rssWarm = rssKB(), <-warm
	mu.Lock()
	for ch := range clients {
		delete(clients, ch)
		close(ch)
	}
	mu.Unlock()
	r.close()
	f.received = r.got.Load()
	f.p50, f.p99 = percentiles(&r.lat)
	return f, nil
}

// wsLatency is one client on an otherwise idle server: delivery p99 of
// events published 100 per second.
func wsLatency(cfg config) (time.Duration, time.Duration, error) {
	f, err := simjobsFanout(cfg, 1, 100, 3*time.Second)
	return f.p50, f.p99, err
}

// wsFanout is the WebSocket scenario (-only ws).
func wsFanout(cfg config) ([]row, error) {
	raiseNoFile()
	p50, p99, err := wsLatency(cfg)
	if err != nil {
		return nil, err
	}
	rows := []row{
		{name: "/ws delivery p50, 1 client, 100 events/s", ours: ms(p50), unit: " ms"},
		{name: "/ws delivery p99, 1 client, 100 events/s", ours: ms(p99), unit: " ms", target: "< 10 ms", met: p99 < 10*time.Millisecond},
	}
	n, rate, d := *wsClients, *wsRate, *wsDuration
	base, err := bareFanout(n, rate, d)
	if err != nil {
		return nil, fmt.Errorf("bare broadcaster: %w", err)
	}
	ours, err := simjobsFanout(cfg, n, rate, d)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("%d clients, %d events/s asked, %s", n, rate, d)
	const bare = "bare fasthttp/websocket broadcaster, same bytes"
	rows = append(rows,
		row{name: "/ws fan-out delivery p99 (2000 ms = histogram ceiling), " + what, ours: ms(ours.p99), base: ms(base.p99), unit: " ms", baseNote: bare, ratio: true, target: "< 100 ms", met: ours.p99 < 100*time.Millisecond},
		row{name: "/ws fan-out events published, " + what, ours: float64(ours.published) / d.Seconds(), base: float64(base.published) / d.Seconds(), unit: "/s", baseNote: bare, ratio: true, target: fmt.Sprintf("%d/s", rate), met: float64(ours.published) >= 0.95*float64(rate)*d.Seconds()},
		row{name: "/ws fan-out messages delivered, " + what, ours: float64(ours.received) / d.Seconds(), base: float64(base.received) / d.Seconds(), unit: "/s", baseNote: bare, ratio: true},
		row{name: "/ws fan-out process RSS at start (server and clients, MB)", ours: float64(ours.rssStart) / 1024, base: float64(base.rssStart) / 1024, unit: "", baseNote: bare},
		row{name: "/ws fan-out process RSS a quarter into the run (MB)", ours: float64(ours.rssWarm) / 1024, base: float64(base.rssWarm) / 1024, unit: "", baseNote: bare},
		row{name: "/ws fan-out process RSS at end (MB)", ours: float64(ours.rssEnd) / 1024, base: float64(base.rssEnd) / 1024, unit: "", baseNote: bare, target: "flat (≤ 1.25x + 20 MB of a quarter in)", met: ours.rssEnd < ours.rssWarm*5/4+20*1024},
		row{name: "/ws fan-out reading clients dropped for lag", ours: float64(ours.lagged), target: "0", met: ours.lagged == 0},
		row{name: "/ws fan-out stalled client dropped (1 = yes)", ours: b2f(ours.stalledDropped), target: "1", met: ours.stalledDropped},
	)
	return rows, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sampleRSSAfter sends the process RSS (kB) once d has passed.
func sampleRSSAfter(d time.Duration) <-chan int64 {
	ch := make(chan int64, 1)
	time.AfterFunc(d, func() { ch <- rssKB() })
	return ch
}
