package dashboard_test

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/simjobs/simjobs/engine"
)

// page is an open page's live feed, as htmx-ext-ws would hold it.
type page struct {
	t     *testing.T
	conn  *websocket.Conn
	first string // the first message, read by dial
}

// open renders path like a browser and connects its live feed with the
// page's own since and boot.
func (h *harness) open(t *testing.T, path string) (*page, string) {
	t.Helper()
	a := h.get(path)
	mustStatus(t, a, 200)
	live := between(a.body, `ws-connect="`, `"`)
	if live == "" {
		t.Fatalf("%s has no live feed", path)
	}
	q := url.Values{"since": {between(a.body, `data-seq="`, `"`)}, "boot": {between(a.body, `data-boot="`, `"`)}}
	if off := between(a.body, `id="log-offset" hidden data-offset="`, `"`); off != "" {
		q.Set("log_offset", off)
	}
	return h.dial(t, strings.ReplaceAll(live, "&amp;", "&")+"&"+q.Encode()), a.body
}

func (h *harness) dial(t *testing.T, path string) *page {
	t.Helper()
	hdr := http.Header{"Cookie": {"simjobs_csrf=" + csrf}}
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+h.addr+path, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", path, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	p := &page{t: t, conn: conn}
	p.first = p.next() // the page's state as of now
	return p
}

// next is the next message.
func (p *page) next() string {
	p.t.Helper()
	_ = p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, b, err := p.conn.ReadMessage()
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return string(b)
}

// until reads messages until one holds every want, and returns what was
// read up to it.
func (p *page) until(want ...string) string {
	p.t.Helper()
	var all strings.Builder
	all.WriteString(p.first)
	p.first = ""
	for {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(all.String(), w)
		}
		if ok {
			return all.String()
		}
		all.WriteString(p.next())
	}
}

func TestLiveOverview(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	p, _ := h.open(t, "/")
	h.command("ov_1", "", solver("ov_1")...)
	got := p.until(`id="ov-counts"`, `id="ov-running"`, `hx-swap-oob="true"`, `data-status="completed">1<`)
	if !strings.Contains(got, `id="live-seq" hidden hx-swap-oob="true" data-seq="`) {
		t.Errorf("messages do not carry the event number: %.500s", got)
	}
	// Limits show at once.
	h.m.SetLimits(engine.LimitsPatch{MaxConcurrentJobs: ptr(7)})
	p.until(`<dt>Max jobs at once</dt><dd>7</dd>`)
}

func TestLiveJobsTable(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.command("old_1", "", "true")
	h.wait("old_1")
	first, _ := h.open(t, "/ui/jobs")
	failedOnly, _ := h.open(t, "/ui/jobs?status=failed")
	const evil = `<b onmouseover=alert(1)>x</b>`
	h.command("new_1", evil, solver("new_1", "FAKE_SOLVER_EXIT=3")...)
	got := first.until(`hx-swap-oob="afterbegin:#jobs-body"`, `id="row-new_1"`, `data-status="failed"`)
	if strings.Contains(got, evil) || !strings.Contains(got, "&lt;b onmouseover") {
		t.Errorf("live row shows the user unescaped: %.2000s", got)
	}
	if strings.Count(got, "afterbegin") != 1 {
		t.Errorf("the new job was inserted more than once: %s", got)
	}
	// The failed-only table does not take the job while it is queued; it
	// takes it once it failed, as it then matches.
	got = failedOnly.until(`id="jobs-counts"`, `data-status="failed">1<`)
	if strings.Contains(got, `id="row-new_1" data-status="queued"`) {
		t.Errorf("a queued job was inserted into the failed-only table: %s", got)
	}
}

func TestLiveJobLog(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.command("log_1", "", solver("log_1", "FAKE_SOLVER_SLEEP=1")...)
	h.waitStatus("log_1", engine.StatusRunning)
	p, body := h.open(t, "/ui/jobs/log_1")
	got := p.until("Batch Solve/Save: Completed", "end of log: completed, exit code 0")
	if i, j := strings.Index(got, "Batch Solve/Save"), strings.Index(got, "end of log"); i > j {
		t.Errorf("the end of the log came before its last line: %s", got)
	}
	// Every line shows once, whether it came with the page or the feed.
	all := body + got
	if n := strings.Count(all, "Pass Number: 2"); n != 1 {
		t.Errorf("a line shows %d times", n)
	}
	if !strings.Contains(got, `id="job-status"><span class="badge st-completed"`) {
		t.Errorf("status not updated: %.1000s", got)
	}
}

// A page that reconnects gives the byte offset it showed; it gets the rest
// of the log and nothing twice.
func TestLiveLogResumesFromOffset(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.command("res_1", "", solver("res_1")...)
	h.wait("res_1")
	a := h.get("/ui/jobs/res_1")
	boot := between(a.body, `data-boot="`, `"`)
	full := between(a.body, `id="log-offset" hidden data-offset="`, `"`)
	n, _ := strconv.Atoi(full)
	// As if the page had shown only the first 10 bytes.
	c, _, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ui/live?page=job&id=res_1&attempt=1&since=0&boot="+boot+"&log_offset=10", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.Contains(got, `data-offset="`+strconv.Itoa(n)+`"`) || !strings.Contains(got, "Batch Solve/Save") || strings.Contains(got, "[info] Ansys") {
		t.Errorf("resume from 10 of %d: %s", n, got)
	}
}

// After a restart event numbers start again: a page from the old process
// is brought up to date rather than trusted.
func TestLiveResyncAfterRestart(t *testing.T) {
	h := start(t, opts{})
	p, body := h.open(t, "/")
	boot := between(body, `data-boot="`, `"`)
	seq := between(body, `data-seq="`, `"`)
	h.restart()
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := p.conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 1012 {
		t.Fatalf("the feed closed with %v, want code 1012 (htmx-ext-ws reconnects on it)", err)
	}
	// The page reconnects with what it had.
	c, _, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ui/live?page=overview&since="+seq+"&boot="+boot, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); !strings.Contains(got, `id="ov-counts"`) || !strings.Contains(got, `id="ov-host"`) || strings.Contains(got, `data-boot="`+boot+`"`) {
		t.Errorf("no fresh state after the restart: %.500s", got)
	}
}

func TestLiveRefusesOtherSites(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/ui/live?page=overview", http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site live feed: %v %v", err, resp)
	}
}

func ptr[T any](v T) *T { return &v }
