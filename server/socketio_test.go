package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
)

// eioClient speaks Engine.IO long-polling by hand.
type eioClient struct {
	t    *testing.T
	base string
	sid  string
	hdr  http.Header
	open map[string]any
	held []string // packets polled but not yet looked at
}

func (c *eioClient) url() string {
	u := c.base + "/socket.io/?EIO=4&transport=polling"
	if c.sid != "" {
		u += "&sid=" + c.sid
	}
	return u
}

func (c *eioClient) do(method, url, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// handshake opens a polling session.
func handshake(t *testing.T, base string, hdr http.Header) *eioClient {
	t.Helper()
	c := &eioClient{t: t, base: base, hdr: hdr}
	code, body := c.do("GET", c.url(), "")
	if code != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", code, body)
	}
	if err := json.Unmarshal([]byte(body[1:]), &c.open); err != nil {
		t.Fatalf("open packet %q: %v", body, err)
	}
	c.sid, _ = c.open["sid"].(string)
	return c
}

// poll returns the packets of one polling GET.
func (c *eioClient) poll() []string {
	c.t.Helper()
	code, body := c.do("GET", c.url(), "")
	if code != 200 {
		c.t.Fatalf("poll: %d %q", code, body)
	}
	return strings.Split(body, "\x1e")
}

func (c *eioClient) send(pkts ...string) {
	c.t.Helper()
	if code, body := c.do("POST", c.url(), strings.Join(pkts, "\x1e")); code != 200 || body != "ok" {
		c.t.Fatalf("post: %d %q", code, body)
	}
}

// until polls until a packet starting with prefix arrives, answering pings.
func (c *eioClient) until(prefix string) string {
	c.t.Helper()
	var got string
	enginetest.WaitFor(c.t, fmt.Sprintf("a packet %q", prefix), func() bool {
		if len(c.held) == 0 {
			c.held = c.poll()
		}
		for len(c.held) > 0 {
			p := c.held[0]
			c.held = c.held[1:]
			if p == "2" {
				c.send("3")
			}
			if strings.HasPrefix(p, prefix) {
				got = p
				return true
			}
		}
		return false
	})
	return got
}

func submit(t *testing.T, srv *servertest.Server, cfg map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"config": cfg})
	resp, err := http.Post(srv.URL+"/jobs/submit", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		out, _ := io.ReadAll(resp.Body)
		t.Fatalf("submit: %d %s", resp.StatusCode, out)
	}
}

// eventData decodes 42["name",data].
func eventData(t *testing.T, p string) (string, map[string]any) {
	t.Helper()
	var arr []json.RawMessage
	if !strings.HasPrefix(p, "42") || json.Unmarshal([]byte(p[2:]), &arr) != nil || len(arr) != 2 {
		t.Fatalf("not an event packet: %q", p)
	}
	var name string
	var data map[string]any
	json.Unmarshal(arr[0], &name)
	json.Unmarshal(arr[1], &data)
	return name, data
}

func TestSocketIOPollingHandshakeEventsAndPings(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{SocketIO: server.SocketIOOptions{PingInterval: 200 * time.Millisecond, PingTimeout: time.Second}})
	c := handshake(t, srv.URL, nil)
	want := map[string]any{"sid": c.sid, "upgrades": []any{"websocket"}, "pingInterval": 200.0, "pingTimeout": 1000.0, "maxPayload": 1e6}
	if diff := cmp.Diff(want, c.open); diff != "" || len(c.sid) < 16 {
		t.Fatalf("open packet (-want +got):\n%s", diff)
	}
	c.send("40")
	if p := c.until("40"); !strings.HasPrefix(p, `40{"sid":"`) {
		t.Fatalf("connect reply %q", p)
	}
	// An event with an ack id is acknowledged; events from clients
	// (PyEDB emits client_connected) are otherwise ignored.
	c.send(`421["client_connected",{"client_type":"test"}]`)
	if p := c.until("43"); p != "431[]" {
		t.Fatalf("ack %q", p)
	}
	submit(t, srv, srv.Command("sio1"))
	for _, name := range []string{"job_queued", "job_started", "job_completed"} {
		got, data := eventData(t, c.until(`42["`+name))
		if got != name || data["job_id"] != "sio1" {
			t.Fatalf("%s: %v", got, data)
		}
	}
	// The client above answered every ping over several intervals and is
	// still connected. One that stops answering is closed after the ping
	// timeout: its poll ends with a close packet.
	for {
		pkts := c.poll()
		if pkts[len(pkts)-1] == "1" {
			break
		}
	}
	if code, body := c.do("GET", c.url(), ""); code != 400 || !strings.Contains(body, `"code":1`) {
		t.Fatalf("poll after close: %d %s", code, body)
	}
}

func TestSocketIOUpgradeToWebSocket(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := handshake(t, srv.URL, nil)
	// A browser client keeps a poll open while it probes the WebSocket;
	// the server must answer it (noop) so the client can pause polling.
	polled := make(chan []string, 1)
	go func() { polled <- c.poll() }()
	ws := dialSIO(t, srv.URL, "&sid="+c.sid)
	write(t, ws, "2probe")
	if got := read(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if got := <-polled; !cmp.Equal(got, []string{"6"}) {
		t.Fatalf("pending poll answered %q, want a noop", got)
	}
	write(t, ws, "5")
	write(t, ws, "40")
	if got := read(t, ws); !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("connect over websocket: %q", got)
	}
	submit(t, srv, srv.Command("sio-ws"))
	name, data := eventData(t, read(t, ws))
	if name != "job_queued" || data["job_id"] != "sio-ws" || data["queue_position"] != 1.0 {
		t.Fatalf("%s %v", name, data)
	}
	// Polling the upgraded session is refused.
	if code, _ := c.do("GET", c.url(), ""); code != 400 {
		t.Fatalf("poll after upgrade: %d", code)
	}
}

func TestSocketIOWebSocketOnly(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	ws := dialSIO(t, srv.URL, "")
	open := read(t, ws)
	var o map[string]any
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &o) != nil || !cmp.Equal(o["upgrades"], []any{}) {
		t.Fatalf("open packet %q", open)
	}
	write(t, ws, "40/admin,")
	if got := read(t, ws); got != `44/admin,{"message":"Invalid namespace"}` {
		t.Fatalf("other namespace: %q", got)
	}
	write(t, ws, "40")
	if got := read(t, ws); !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("connect: %q", got)
	}
	srv.Manager.Events().Publish("test_event", map[string]any{"n": 1})
	if got := read(t, ws); got != `42["test_event",{"n":1}]` {
		t.Fatalf("event %q", got)
	}
	write(t, ws, "41") // leave the namespace, then join again
	write(t, ws, "40")
	if got := read(t, ws); !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("reconnect: %q", got)
	}
	srv.Manager.Events().Publish("test_again", map[string]any{})
	if got := read(t, ws); got != `42["test_again",{}]` {
		t.Fatalf("event after reconnecting: %q", got)
	}
}

func TestSocketIOErrors(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := &eioClient{t: t, base: srv.URL}
	for _, tc := range []struct {
		method, query string
		code          int
	}{
		{"GET", "EIO=3&transport=polling", 5},
		{"GET", "EIO=4&transport=carrier-pigeon", 0},
		{"GET", "EIO=4&transport=polling&sid=nope", 1},
		{"POST", "EIO=4&transport=polling&sid=nope", 1},
		{"GET", "EIO=4&transport=websocket", 3}, // not an upgrade request
	} {
		status, body := c.do(tc.method, srv.URL+"/socket.io/?"+tc.query, "")
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if status != 400 || json.Unmarshal([]byte(body), &e) != nil || e.Code != tc.code || e.Message == "" {
			t.Errorf("%s %s: %d %s, want 400 code %d", tc.method, tc.query, status, body, tc.code)
		}
	}
	// Two polls at once break the protocol: the second is refused and the
	// session ends, which answers the first with a close packet.
	s := handshake(t, srv.URL, nil)
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			resp, err := http.Get(s.url())
			if err != nil {
				answers <- answer{0, err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answers <- answer{resp.StatusCode, string(b)}
		}()
	}
	got := []answer{<-answers, <-answers}
	want := []answer{{400, `{"code":3,"message":"Bad request"}`}, {200, "1"}}
	if got[0].code == 200 {
		got[0], got[1] = got[1], got[0]
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(answer{})); diff != "" {
		t.Fatalf("overlapping polls (-want +got):\n%s", diff)
	}
}

func TestSocketIOTokenAuth(t *testing.T) {
	t.Parallel()
	auth, err := server.ParseTokens(strings.NewReader("alice:user:" + hexSum("alice-secret") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, servertest.Options{Auth: auth, Roots: []string{"/"}})
	anon := handshake(t, srv.URL, nil)
	anon.send("40")
	if p := anon.until("4"); !strings.HasPrefix(p, `44{"message":"authentication required`) {
		t.Fatalf("anonymous connect: %q", p)
	}
	anon.send(`40{"token":"wrong"}`)
	if p := anon.until("4"); !strings.HasPrefix(p, "44") {
		t.Fatalf("wrong token: %q", p)
	}
	anon.send(`40{"token":"alice-secret"}`)
	if p := anon.until("4"); !strings.HasPrefix(p, `40{"sid":`) {
		t.Fatalf("token in the auth payload: %q", p)
	}
	withHeader := handshake(t, srv.URL, http.Header{"Authorization": {"Bearer alice-secret"}})
	withHeader.send("40")
	if p := withHeader.until("4"); !strings.HasPrefix(p, `40{"sid":`) {
		t.Fatalf("token in the header: %q", p)
	}
}

// A client whose packets pile up is dropped, without holding anyone back.
func TestSocketIOSlowClientDropped(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := handshake(t, srv.URL, nil)
	c.send("40")
	c.until("40")
	bus := srv.Manager.Events()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; srv.Server.SocketIOSessions() > 0; i++ {
		if ctx.Err() != nil {
			t.Fatal("the client that never polls was not dropped")
		}
		bus.Publish("test_flood", map[string]any{"i": i})
	}
	if code, _ := c.do("GET", c.url(), ""); code != 400 {
		t.Fatalf("poll of the dropped session: %d", code)
	}
}

func dialSIO(t *testing.T, base, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket" + query
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func write(t *testing.T, ws *websocket.Conn, p string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(p)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next packet that is not a ping.
func read(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(b) != "2" {
			return string(b)
		}
		write(t, ws, "3")
	}
}

func hexSum(s string) string {
	sum := sha256Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
