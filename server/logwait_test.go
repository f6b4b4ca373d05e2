//go:build unix

package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
)

// The tests of ?wait= run servers whose one identity (no auth) may hold
// one live connection: a request with ?wait= to an ended job, which never
// waits itself, is refused 429 exactly while another request waits. That
// is how a test knows a request is waiting at the server, without a sleep.

// logWaitServer is a server for those tests, with a finished job "done".
func logWaitServer(t *testing.T) *servertest.Server {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{Network: server.NetworkOptions{MaxStreams: 1}})
	submitJob(t, srv.URL, srv.Command("done"))
	if _, err := srv.Manager.Wait(t.Context(), "done"); err != nil {
		t.Fatal(err)
	}
	return srv
}

func submitJob(t *testing.T, base string, config map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"config": config})
	resp, err := http.Post(base+"/jobs/submit", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("submit: HTTP %d", resp.StatusCode)
	}
}

type logAnswer struct {
	status int
	body   string
	next   string // X-Log-Offset
	err    error
}

func getLog(ctx context.Context, base, id, query string) logAnswer {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/jobs/"+id+"/log?"+query, nil)
	if err != nil {
		return logAnswer{err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return logAnswer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return logAnswer{status: resp.StatusCode, body: string(b), next: resp.Header.Get("X-Log-Offset"), err: err}
}

// goGetLog sends the request on its own goroutine; the channel has the
// answer.
func goGetLog(ctx context.Context, base, id, query string) <-chan logAnswer {
	ch := make(chan logAnswer, 1)
	go func() { ch <- getLog(ctx, base, id, query) }()
	return ch
}

// waiting waits until a request waits at the server (holds the one live
// connection allowed), or until one no longer does.
func waiting(t *testing.T, base string, want bool) {
	t.Helper()
	what := "a request waiting at the server"
	if !want {
		what = "no request waiting at the server"
	}
	enginetest.WaitFor(t, what, func() bool {
		a := getLog(t.Context(), base, "done", "wait=60s")
		return (a.status == http.StatusTooManyRequests) == want
	})
}

// A request at the end of a running job's log answers once the log grows,
// with what it grew by, and once the job ends.
func TestLogWaitUntilGrowthAndEnd(t *testing.T) {
	t.Parallel()
	srv := logWaitServer(t)
	w := srv.FIFOJob(t, "grow")

	start := time.Now()
	first := goGetLog(t.Context(), srv.URL, "grow", "offset=0&wait=60s")
	waiting(t, srv.URL, true)
	select {
	case a := <-first:
		t.Fatalf("answered before the log grew: %+v", a)
	default:
	}
	if _, err := w.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	if a := <-first; a.err != nil || a.status != 200 || a.body != "one\n" || a.next != "4" {
		t.Fatalf("after the log grew: %+v, want 200 %q at 4", a, "one\n")
	}
	if d := time.Since(start); d >= server.MaxLogWait {
		t.Errorf("answered after %v: at the wait's end, not when the log grew", d)
	}

	// From there on, until the job ends: nothing new, and the answer says
	// where to go on.
	start = time.Now()
	last := goGetLog(t.Context(), srv.URL, "grow", "offset=4&wait=60s")
	waiting(t, srv.URL, true)
	w.Close()
	a := <-last
	if a.err != nil || a.status != 200 || a.body != "" || a.next != "4" {
		t.Fatalf("after the job ended: %+v, want 200, nothing, at 4", a)
	}
	if j, err := srv.Manager.Job(t.Context(), "grow"); err != nil || !j.Status.Terminal() {
		t.Fatalf("answered while the job still ran: %v %v", j.Status, err)
	}
	if d := time.Since(start); d >= server.MaxLogWait {
		t.Errorf("answered after %v: at the wait's end, not the job's", d)
	}
}

// ?wait= is checked; an ended job, or one with something to read, answers
// at once; a wait with nothing new runs its course.
func TestLogWaitAnswers(t *testing.T) {
	t.Parallel()
	srv := logWaitServer(t)
	w := srv.FIFOJob(t, "run")
	if _, err := w.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, "run's first line", func() bool { return getLog(t.Context(), srv.URL, "run", "").body == "one\n" })
	done := getLog(t.Context(), srv.URL, "done", "")

	for _, q := range []string{"wait=soon", "wait=30", "wait=-1s", "offset=4&wait=1"} {
		a := getLog(t.Context(), srv.URL, "run", q)
		if a.status != 400 || !strings.Contains(a.body, "wait") {
			t.Errorf("?%s: %d %s, want 400 naming the parameter", q, a.status, a.body)
		}
	}
	for _, c := range []struct{ name, id, query, body string }{
		{"ended job at its end", "done", "offset=" + done.next + "&wait=1h", ""},
		{"something to read", "run", "offset=0&wait=1h", "one\n"},
		{"tail of a running job", "run", "tail=1&wait=1h", "one\n"},
	} {
		start := time.Now()
		a := getLog(t.Context(), srv.URL, c.id, c.query)
		if a.err != nil || a.status != 200 || a.body != c.body {
			t.Errorf("%s: %+v, want 200 %q", c.name, a, c.body)
		}
		// A wait would be cut to MaxLogWait: well under it is at once.
		if d := time.Since(start); d >= server.MaxLogWait/2 {
			t.Errorf("%s: answered after %v, want at once", c.name, d)
		}
	}

	const short = 50 * time.Millisecond
	start := time.Now()
	a := getLog(t.Context(), srv.URL, "run", "offset=4&wait="+short.String())
	if a.err != nil || a.status != 200 || a.body != "" || a.next != "4" {
		t.Errorf("a wait that passed: %+v, want 200, nothing, at 4", a)
	}
	if d := time.Since(start); d < short {
		t.Errorf("answered after %v, before its wait of %v passed", d, short)
	}
}

// A client that gives up frees what its wait held at once, not when the
// wait would have passed.
func TestLogWaitEndsWhenTheClientGoesAway(t *testing.T) {
	t.Parallel()
	srv := logWaitServer(t)
	srv.FIFOJob(t, "quiet")
	start := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	gone := goGetLog(ctx, srv.URL, "quiet", "offset=0&wait=60s")
	waiting(t, srv.URL, true)
	cancel()
	if a := <-gone; !errors.Is(a.err, context.Canceled) {
		t.Fatalf("the cancelled request: %+v", a)
	}
	waiting(t, srv.URL, false)
	if d := time.Since(start); d >= server.MaxLogWait {
		t.Errorf("freed after %v: when the wait passed, not when the client went away", d)
	}
}

// A waiting request does not hold up the server's stop: it is answered,
// and the stop is graceful (within its grace).
func TestLogWaitDoesNotHoldUpShutdown(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	// A second server on the same engine, stopped by the test.
	s := server.New(server.Options{Manager: srv.Manager, Sampler: srv.Telemetry, Network: server.NetworkOptions{MaxStreams: 1},
		Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 15*time.Second) }()
	submitJob(t, base, srv.Command("done"))
	if _, err := srv.Manager.Wait(t.Context(), "done"); err != nil {
		t.Fatal(err)
	}
	srv.FIFOJob(t, "quiet")

	blocked := goGetLog(t.Context(), base, "quiet", "offset=0&wait=60s")
	waiting(t, base, true)
	stop()
	if a := <-blocked; a.err != nil || a.status != 200 || a.body != "" {
		t.Errorf("the waiting request when the server stopped: %+v, want 200, nothing", a)
	}
	if err := <-served; err != nil {
		t.Errorf("stop: %v, want a graceful one", err)
	}
}
