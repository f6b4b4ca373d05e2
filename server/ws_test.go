package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/simjobs/simjobs/engine/enginetest"
)

type envelope struct {
	Event string          `json:"event"`
	Seq   int64           `json:"seq"`
	Time  time.Time       `json:"time"`
	Data  json.RawMessage `json:"data"`
}

func dial(t *testing.T, e *env, query string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws"+query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// next reads messages until one named name arrives.
func next(t *testing.T, c *websocket.Conn, name string) envelope {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("reading for %s: %v", name, err)
		}
		var ev envelope
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("message %q: %v", b, err)
		}
		if ev.Event == name {
			return ev
		}
	}
}

func TestWebSocketEventsAndReplay(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	c := dial(t, e, "")
	mustStatus(t, e.do(t, "POST", "/jobs/submit", e.command("ws1", 2)), 200)
	q := next(t, c, "job_queued")
	var qd struct {
		JobID         string `json:"job_id"`
		Priority      int    `json:"priority"`
		QueuePosition int    `json:"queue_position"`
	}
	json.Unmarshal(q.Data, &qd)
	if qd.JobID != "ws1" || qd.Priority != 2 || qd.QueuePosition != 1 || q.Seq == 0 || q.Time.IsZero() {
		t.Fatalf("job_queued %+v %s", q, q.Data)
	}
	s := next(t, c, "job_started")
	done := next(t, c, "job_completed")
	if !(q.Seq < s.Seq && s.Seq < done.Seq) {
		t.Errorf("seq not increasing: %d %d %d", q.Seq, s.Seq, done.Seq)
	}
	var dd map[string]any
	json.Unmarshal(done.Data, &dd)
	if dd["status"] != "completed" || dd["return_code"] != 0.0 {
		t.Errorf("job_completed %s", done.Data)
	}
	// A client that saw only job_queued reconnects and misses nothing.
	late := dial(t, e, "?since="+itoa(q.Seq))
	if got := next(t, late, "job_started"); got.Seq != s.Seq {
		t.Errorf("replayed job_started seq %d, want %d", got.Seq, s.Seq)
	}
	if got := next(t, late, "job_completed"); got.Seq != done.Seq {
		t.Errorf("replayed job_completed seq %d, want %d", got.Seq, done.Seq)
	}
	mustStatus(t, e.do(t, "GET", "/ws?since=-3", nil, "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), 400)
	mustStatus(t, e.do(t, "GET", "/ws", nil), 426)
}

// A client that never reads must not hold back the engine or the others:
// it is dropped once its buffer is full, while a reading client gets every
// event.
func TestSlowWebSocketClientDoesNotBlock(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	slow := dial(t, e, "") // never reads
	_ = slow
	fast := dial(t, e, "")
	bus := e.m.Events()
	waitSubscribers(t, e, 2)
	pad := strings.Repeat("x", 16<<10)
	// Bursts below the per-client buffer, each confirmed by the fast
	// client; in all far more than the slow client's socket can hold.
	for burst := 0; burst < 40 && bus.Subscribers() > 1; burst++ {
		for i := 0; i < 500; i++ {
			bus.Publish("test_flood", map[string]any{"i": i, "pad": pad})
		}
		mark := bus.Publish("test_mark", map[string]any{"burst": burst})
		if got := next(t, fast, "test_mark"); got.Seq != mark.Seq {
			t.Fatalf("fast client got mark %d, want %d", got.Seq, mark.Seq)
		}
	}
	if n := bus.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers left; the client that never reads should have been dropped", n)
	}
	last := bus.Publish("test_last", map[string]any{})
	if got := next(t, fast, "test_last"); got.Seq != last.Seq {
		t.Fatalf("fast client got seq %d, want %d", got.Seq, last.Seq)
	}
}

func waitSubscribers(t *testing.T, e *env, n int) {
	t.Helper()
	enginetest.WaitFor(t, fmt.Sprintf("%d subscribers", n), func() bool { return e.m.Events().Subscribers() >= n })
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestCrossSiteWebSocketRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	h := http.Header{"Origin": []string{"http://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws", h)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site WebSocket: %v %v, want 403", err, resp)
	}
	h = http.Header{"Origin": []string{e.url}}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/ws", h)
	if err != nil {
		t.Fatalf("same-origin WebSocket: %v", err)
	}
	c.Close()
}
