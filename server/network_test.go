package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
)

// The tests of a server open to a network (SPEC section 6): headers on
// every answer, the authorization of every route, the rate limit, slow
// clients, header size, tokens withdrawn while the server runs.

// tokenServer is a server with token auth from a tokens file: alice and
// bob are users, root is an admin; the dashboard is mounted.
type tokenServer struct {
	*servertest.Server
	auth   *server.TokenAuth
	tokens string // the tokens file
	tok    map[string]string
}

func startTokenServer(t *testing.T, o servertest.Options) *tokenServer {
	t.Helper()
	dir := t.TempDir()
	ts := &tokenServer{tokens: filepath.Join(dir, "tokens"), tok: map[string]string{}}
	for _, u := range []struct{ name, role string }{{"alice", "user"}, {"bob", "user"}, {"root", "admin"}} {
		tok, err := server.AddToken(ts.tokens, u.name, u.role)
		if err != nil {
			t.Fatal(err)
		}
		ts.tok[u.name] = tok
	}
	var err error
	if ts.auth, err = server.LoadTokens(ts.tokens); err != nil {
		t.Fatal(err)
	}
	o.Auth = ts.auth
	o.Dashboard = true
	ts.Server = servertest.Start(t, o)
	return ts
}

type reply struct {
	status int
	header http.Header
	body   string
}

var plain = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// call sends a request as user ("" for nobody) with extra headers as
// name, value pairs.
func (ts *tokenServer) call(t *testing.T, user, method, path, body string, hdr ...string) reply {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+ts.tok[user])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// wantHeaders checks the security headers of one answer.
func wantHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Security-Policy": server.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
	if got := h.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("%s: Access-Control-Allow-Origin %q without --cors-origins", what, got)
	}
}

// The policy allows only the server's own assets: no inline script or
// style, no other origin, no framing.
func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	csp := server.ContentSecurityPolicy
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q allows %q", csp, bad)
		}
	}
}

// Every route of the app (API, pages, assets, the live feed) and an
// unknown path answer with the security headers, signed in or not.
func TestEveryRouteHasSecurityHeaders(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{})
	if _, err := ts.Manager.Submit(context.Background(), engine.SubmitRequest{Config: mustJSON(t, ts.Command("job1")), User: "alice"}); err != nil {
		t.Fatal(err)
	}
	params := regexp.MustCompile(`:[A-Za-z]+\??|\*`)
	seen := map[string]bool{}
	routes := ts.Server.Server.App().GetRoutes(true)
	for _, r := range routes {
		if r.Method == "HEAD" || r.Method == "CONNECT" || r.Method == "TRACE" {
			continue
		}
		path := params.ReplaceAllString(r.Path, "job1")
		if r.Path == "/static" || strings.HasPrefix(r.Path, "/static/") {
			path = "/static/app.js"
		}
		key := r.Method + " " + path
		if seen[key] {
			continue
		}
		seen[key] = true
		body := ""
		if r.Method != "GET" {
			body = "{}"
		}
		for _, user := range []string{"", "alice", "root"} {
			a := ts.call(t, user, r.Method, path, body)
			wantHeaders(t, fmt.Sprintf("%s as %q (%d)", key, user, a.status), a.header)
		}
	}
	if len(seen) < 30 {
		t.Fatalf("walked %d routes; the route table has more", len(seen))
	}
	wantHeaders(t, "an unknown path", ts.call(t, "alice", "GET", "/no/such/thing", "").header)
	// Pages come from our own origin only: nothing inline to allow.
	page := ts.call(t, "root", "GET", "/", "")
	if page.status != 200 || !strings.Contains(page.body, `<script src="/static/app.js"`) {
		t.Fatalf("overview: %d %.300s", page.status, page.body)
	}
	for _, inline := range []string{"<script>", " style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(page.body, inline) {
			t.Errorf("the overview has inline %q", inline)
		}
	}
}

// CORS answers only for the origins configured.
func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{Network: server.NetworkOptions{CORSOrigins: []string{"https://notebooks.example.com"}}})
	pre := ts.call(t, "", "OPTIONS", "/jobs/submit", "", "Origin", "https://notebooks.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://notebooks.example.com" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") || pre.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight from the configured origin: %d %v", pre.status, pre.header)
	}
	a := ts.call(t, "alice", "POST", "/jobs/submit", string(mustJSON(t, map[string]any{"config": ts.Command("cors1")})), "Origin", "https://notebooks.example.com", "Sec-Fetch-Site", "cross-site")
	if a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != "https://notebooks.example.com" {
		t.Errorf("submit from the configured origin: %d %s %v", a.status, a.body, a.header)
	}
	other := ts.call(t, "alice", "POST", "/jobs/submit", string(mustJSON(t, map[string]any{"config": ts.Command("cors2")})), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if other.status != 403 || other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("submit from another origin: %d %s %v", other.status, other.body, other.header)
	}
	if err := server.CheckOrigins([]string{"https://ok.example:8443", "*"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"notebooks.example.com", "ftp://x", "https://x/path", "https://"} {
		if server.CheckOrigins([]string{bad}) == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The authorization of every route of the route table (as /openapi.json
// lists it) for nobody, the job's owner, another user and an admin, in one
// table. A route missing from the table fails the test: a new route must
// say who may call it.
func TestAuthzMatrix(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{Limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100}})
	ctx := context.Background()
	// A job of root's holds the only slot, so alice's jobs stay queued
	// (cancel and priority act on queued jobs).
	if _, err := ts.Manager.Submit(ctx, engine.SubmitRequest{Config: mustJSON(t, ts.Command("blocker", "FAKE_SOLVER_SLEEP=120")), User: "root"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	aliceJob := func() string {
		n++
		id := fmt.Sprintf("alice_%d", n)
		if _, err := ts.Manager.Submit(ctx, engine.SubmitRequest{Config: mustJSON(t, ts.Command(id)), User: "alice"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	submit := func() string {
		n++
		return string(mustJSON(t, map[string]any{"config": ts.Command(fmt.Sprintf("sub_%d", n))}))
	}
	aliceSweep := func() string {
		res, err := ts.Manager.SubmitSweep(ctx, engine.SweepRequest{Template: mustJSON(t, ts.Command("sweep")),
			Parameters: expand.Params{{Name: "W", Values: []string{"1"}}}, User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return res.SweepID
	}
	sweep := func() string {
		return string(mustJSON(t, map[string]any{"template": ts.Command("sweep"), "parameters": map[string]any{"W": []string{"1", "2"}}}))
	}
	type want struct{ anon, owner, other, admin int }
	authed := want{401, 200, 200, 200}
	adminOnly := want{401, 403, 403, 200}
	ownerOrAdmin := want{401, 200, 403, 200}
	// In order: the drain comes last, it makes the server not ready.
	table := []struct {
		route string
		body  func() string
		want  want
	}{
		{"POST /jobs/submit", submit, authed},
		{"POST /api/submit", submit, authed},
		{"GET /jobs", nil, authed},
		{"GET /api/jobs", nil, authed},
		{"GET /jobs/{id}", nil, authed},
		{"GET /jobs/{id}/history", nil, authed},
		{"POST /jobs/{id}/cancel", nil, ownerOrAdmin},
		{"POST /api/cancel/{id}", nil, ownerOrAdmin},
		{"POST /jobs/{id}/priority", func() string { return `{"priority": 5}` }, ownerOrAdmin},
		{"GET /jobs/{id}/log", nil, authed},
		{"GET /api/jobs/{id}/log", nil, want{401, 204, 204, 204}},
		{"GET /resources", nil, authed},
		{"GET /api/resources", nil, authed},
		{"GET /queue", nil, authed},
		{"GET /api/queue", nil, authed},
		{"GET /pool/limits", nil, authed},
		{"PUT /pool/limits", func() string { return `{"max_concurrent_jobs": 1}` }, adminOnly},
		{"GET /system/status", nil, authed},
		{"POST /system/start_monitoring", nil, adminOnly},
		{"POST /system/backup", nil, adminOnly},
		{"GET /api/audit", nil, adminOnly},
		{"GET /api/licenses", nil, authed},
		{"POST /api/sweeps", sweep, authed},
		{"GET /api/sweeps", nil, authed},
		{"GET /api/sweeps/{id}", nil, authed},
		{"POST /api/sweeps/{id}/cancel", nil, ownerOrAdmin},
		{"POST /api/sweeps/{id}/resubmit", nil, ownerOrAdmin},
		{"GET /scheduler/partitions", nil, want{401, 400, 400, 400}}, // no scheduler here
		{"GET /api/cluster_partitions", nil, authed},
		{"GET /api/scheduler_type", nil, authed},
		{"GET /api/me", nil, authed},
		{"GET /ws", nil, want{401, 426, 426, 426}},         // not an upgrade
		{"GET /socket.io/", nil, want{400, 400, 400, 400}}, // no EIO: the protocol's error
		{"POST /socket.io/", func() string { return "x" }, want{400, 400, 400, 400}},
		// Uploads: the matrix sends no file name (400) and no tus headers
		// (412); whose upload is whose is TestTusResume's and
		// TestUploadProjects' part.
		{"POST /api/projects", func() string { return "x" }, want{401, 400, 400, 400}},
		{"POST /api/uploads", nil, want{401, 412, 412, 412}},
		{"HEAD /api/uploads/{id}", nil, want{401, 404, 404, 404}}, // no such upload
		{"PATCH /api/uploads/{id}", nil, want{401, 412, 412, 412}},
		{"DELETE /api/uploads/{id}", nil, want{401, 412, 412, 412}},
		// Results of alice's (queued) job: none yet for her and admins, and
		// to bob the job does not exist; "{path}" names no file.
		{"GET /api/jobs/{id}/files", nil, want{401, 200, 404, 200}},
		{"GET /api/jobs/{id}/files/{path}", nil, want{401, 404, 404, 404}},
		{"GET /api/jobs/{id}/results.zip", nil, want{401, 200, 404, 200}},
		{"GET /api/jobs/{id}/touchstone/{path}", nil, want{401, 400, 404, 400}},
		{"GET /healthz", nil, want{200, 200, 200, 200}},
		{"GET /readyz", nil, want{200, 200, 200, 200}},
		{"GET /metrics", nil, authed},
		{"GET /openapi.json", nil, want{200, 200, 200, 200}},
		{"POST /system/drain", nil, want{401, 403, 403, 202}},
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(ts.call(t, "", "GET", "/openapi.json", "").body), &doc); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for p, ops := range doc.Paths {
		for m := range ops {
			listed = append(listed, strings.ToUpper(m)+" "+p)
		}
	}
	for _, r := range listed {
		if !slices.ContainsFunc(table, func(e struct {
			route string
			body  func() string
			want  want
		}) bool {
			return e.route == r
		}) {
			t.Errorf("route %s is in the route table but not in this matrix: say who may call it", r)
		}
	}
	for _, tt := range table {
		method, path, _ := strings.Cut(tt.route, " ")
		if !slices.Contains(listed, tt.route) {
			t.Errorf("%s is in the matrix but not in the route table", tt.route)
		}
		for _, c := range []struct {
			who  string
			user string
			want int
		}{{"anonymous", "", tt.want.anon}, {"owner", "alice", tt.want.owner}, {"other user", "bob", tt.want.other}, {"admin", "root", tt.want.admin}} {
			// {id} is a job of alice's, or a sweep of hers on the sweep routes.
			newID := aliceJob
			if strings.HasPrefix(path, "/api/sweeps/") {
				newID = aliceSweep
			}
			p := strings.ReplaceAll(path, "{id}", newID())
			body := ""
			if tt.body != nil {
				body = tt.body()
			}
			if got := ts.call(t, c.user, method, p, body); got.status != c.want {
				t.Errorf("%s as %s: %d, want %d (%.200s)", tt.route, c.who, got.status, c.want, got.body)
			}
		}
	}
}

// The rate limit answers 429 with Retry-After to the caller over it, and
// another caller is not slowed.
func TestRateLimitPerIdentity(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{Network: server.NetworkOptions{RateLimit: 0.5, RateBurst: 3}})
	sub := func(user string, i int) reply {
		return ts.call(t, user, "POST", "/jobs/submit", string(mustJSON(t, map[string]any{"config": ts.Command(fmt.Sprintf("%s_%d", user, i))})))
	}
	for i := range 3 {
		if a := sub("alice", i); a.status != 200 {
			t.Fatalf("alice's submission %d within the burst: %d %s", i, a.status, a.body)
		}
	}
	over := sub("alice", 3)
	if over.status != 429 {
		t.Fatalf("alice's 4th submission: %d %s, want 429", over.status, over.body)
	}
	if ra, err := strconv.Atoi(over.header.Get("Retry-After")); err != nil || ra < 1 || ra > 3 {
		t.Errorf("Retry-After %q, want 1 to 3 seconds at 0.5/s", over.header.Get("Retry-After"))
	}
	if !strings.Contains(over.body, "too many requests") {
		t.Errorf("429 body %s", over.body)
	}
	// bob has his own bucket: his burst is whole.
	for i := range 3 {
		if a := sub("bob", i); a.status != 200 {
			t.Errorf("bob's submission %d while alice is limited: %d %s", i, a.status, a.body)
		}
	}
	// Reads are not limited.
	if a := ts.call(t, "alice", "GET", "/jobs", ""); a.status != 200 {
		t.Errorf("alice's read while limited: %d", a.status)
	}
	if _, err := server.ParseRate("50/s"); err != nil {
		t.Error(err)
	}
	for in, want := range map[string]float64{"50/s": 50, "600/m": 10, "3600/h": 1, "off": 0, "": 0} {
		if got, err := server.ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"50", "x/s", "-1/s", "5/d", "0/s"} {
		if _, err := server.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q): no error", bad)
		}
	}
}

// Headers larger than the limit are refused with 431.
func TestHeaderSizeLimit(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{Network: server.NetworkOptions{MaxHeaderBytes: 4096}})
	if a := ts.call(t, "alice", "GET", "/api/me", "", "X-Pad", strings.Repeat("a", 1000)); a.status != 200 {
		t.Fatalf("a small header: %d", a.status)
	}
	if a := ts.call(t, "alice", "GET", "/api/me", "", "X-Pad", strings.Repeat("a", 8000)); a.status != 431 {
		t.Errorf("an 8 KB header with a 4 KB limit: %d, want 431", a.status)
	}
}

// 200 clients trickling their request headers byte by byte (slowloris)
// neither stop a normal client nor hold their connections past the read
// timeout.
func TestSlowClientsDoNotStarveOthers(t *testing.T) {
	t.Parallel()
	const slow = 200
	ts := startTokenServer(t, servertest.Options{Network: server.NetworkOptions{ReadTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}})
	addr := strings.TrimPrefix(ts.URL, "http://")
	conns := make([]net.Conn, 0, slow)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow client: %v", err)
		}
		if _, err := io.WriteString(c, "GET /api/me HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The slow clients keep trickling while the normal client works.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for _, c := range conns {
					_, _ = c.Write([]byte("a"))
				}
			}
		}
	}()
	fast := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	for i := range 20 {
		req, _ := http.NewRequest("GET", ts.URL+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+ts.tok["alice"])
		resp, err := fast.Do(req)
		if err != nil {
			t.Fatalf("normal request %d among %d slow clients: %v", i, slow, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("normal request %d: %d", i, resp.StatusCode)
		}
	}
	// A generous bound: 20 requests on loopback take milliseconds; a
	// server starved by the slow clients would take until their timeout.
	d := time.Since(start)
	if d > 10*time.Second {
		t.Errorf("20 normal requests took %v among %d slow clients", d, slow)
	}
	t.Logf("20 normal requests took %v while %d slow clients held connections", d, slow)
	close(stop)
	wg.Wait()
	// Each slow connection is cut once the read timeout passes.
	cut := 0
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range conns {
		_ = c.SetReadDeadline(deadline)
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadByte(); err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					cut++
				}
				break
			}
		}
	}
	if cut != slow {
		t.Errorf("%d of %d slow connections were closed by the server", cut, slow)
	}
}

// A token removed from the tokens file stops working at once: Bearer
// requests, the browser session it started, and its open WebSocket, as
// soon as the file changes (watched) or on Reload (SIGHUP).
func TestRemovedTokenIsRevoked(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := server.WatchTokens(ctx, ts.auth, slogDiscard()); err != nil {
		t.Fatal(err)
	}
	// bob logs in with a browser and opens the event stream.
	jar := login(t, ts, "bob")
	if a := ts.callCookie(t, jar, "GET", "/api/me"); a.status != 200 || !strings.Contains(a.body, `"bob"`) {
		t.Fatalf("bob's session: %d %s", a.status, a.body)
	}
	ws := dialWS(t, ts.URL+"/ws", http.Header{"Authorization": {"Bearer " + ts.tok["bob"]}})
	live := dialWS(t, ts.URL+"/ui/live?page=overview", http.Header{"Cookie": {jar}})
	aliceWS := dialWS(t, ts.URL+"/ws", http.Header{"Authorization": {"Bearer " + ts.tok["alice"]}})

	if err := server.RemoveToken(ts.tokens, "bob"); err != nil {
		t.Fatal(err)
	}
	// The watcher reloads within moments; the WebSocket is closed with
	// the revocation code.
	for _, c := range []struct {
		name string
		conn *websocket.Conn
	}{{"/ws", ws}, {"/ui/live", live}} {
		code := closeCode(t, c.conn)
		if code != server.CloseRevoked {
			t.Errorf("bob's %s after his token was removed: close code %d, want %d", c.name, code, server.CloseRevoked)
		}
	}
	if a := ts.call(t, "bob", "GET", "/api/me", ""); a.status != 401 {
		t.Errorf("bob's token after removal: %d, want 401", a.status)
	}
	if a := ts.callCookie(t, jar, "GET", "/api/me"); a.status != 401 {
		t.Errorf("bob's session after removal: %d, want 401", a.status)
	}
	if a := ts.call(t, "alice", "GET", "/api/me", ""); a.status != 200 {
		t.Errorf("alice after bob's removal: %d", a.status)
	}
	// alice's stream is still open: a job event reaches it.
	if _, err := ts.Manager.Submit(context.Background(), engine.SubmitRequest{Config: mustJSON(t, ts.Command("after")), User: "alice"}); err != nil {
		t.Fatal(err)
	}
	_ = aliceWS.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, msg, err := aliceWS.ReadMessage(); err != nil || !strings.Contains(string(msg), "job_queued") {
		t.Errorf("alice's stream after bob's removal: %q %v", msg, err)
	}

	// Reload (what SIGHUP does) after an edit: a token added works, one
	// whose role changed is a new identity (its old sessions end).
	carol, err := server.AddToken(ts.tokens, "carol", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.auth.Reload(); err != nil {
		t.Fatal(err)
	}
	ts.tok["carol"] = carol
	if a := ts.call(t, "carol", "GET", "/api/audit", ""); a.status != 200 {
		t.Errorf("carol, added then reloaded: %d", a.status)
	}
	// A broken file keeps the tokens in force.
	if err := os.WriteFile(ts.tokens, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ts.auth.Reload(); err == nil {
		t.Error("reloading a broken file: no error")
	}
	if a := ts.call(t, "carol", "GET", "/api/me", ""); a.status != 200 {
		t.Errorf("carol after a failed reload: %d", a.status)
	}
}

// The live connections of one identity are capped.
func TestWebSocketsCappedPerIdentity(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{Network: server.NetworkOptions{MaxStreams: 2}})
	h := http.Header{"Authorization": {"Bearer " + ts.tok["alice"]}}
	base := ts.Manager.Events().Subscribers()
	dialWS(t, ts.URL+"/ws", h)
	dialWS(t, ts.URL+"/ws", h)
	// The handshake answers before the handler counts the connection:
	// wait until both are counted (each subscribes once counted).
	enginetest.WaitFor(t, "both WebSockets counted", func() bool { return ts.Manager.Events().Subscribers() >= base+2 })
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(u, h)
	if err == nil || resp == nil || resp.StatusCode != 429 {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Errorf("alice's third WebSocket: %v (HTTP %d), want 429", err, code)
	}
	// bob is not affected by alice's connections.
	dialWS(t, ts.URL+"/ws", http.Header{"Authorization": {"Bearer " + ts.tok["bob"]}})
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (ts *tokenServer) callCookie(t *testing.T, cookie, method, path string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// login signs user in through the login page and returns the Cookie
// header a browser would then send.
func login(t *testing.T, ts *tokenServer, user string) string {
	t.Helper()
	const csrf = "test-csrf-token-0123456789abcdef0123456789"
	form := url.Values{"token": {ts.tok[user]}, "_csrf": {csrf}, "next": {"/"}}
	req, _ := http.NewRequest("POST", ts.URL+"/ui/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: server.CSRFCookie, Value: csrf})
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie && c.Value != "" {
			return server.SessionCookie + "=" + c.Value + "; " + server.CSRFCookie + "=" + csrf
		}
	}
	t.Fatalf("login as %s: %d, no session cookie", user, resp.StatusCode)
	return ""
}

func dialWS(t *testing.T, httpURL string, h http.Header) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(httpURL, "http")
	c, resp, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", u, err, code)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closeCode reads until the server closes the connection and returns its
// close code (0 when it ended otherwise).
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		t.Logf("connection ended without a close frame: %v", err)
		return 0
	}
}

// A Socket.IO client connected with a token that is then removed is
// disconnected from the namespace and its session ends.
func TestSocketIORevokedToken(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t, servertest.Options{})
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if p := read(t, ws); !strings.HasPrefix(p, "0{") {
		t.Fatalf("open packet %q", p)
	}
	write(t, ws, `40{"token":"`+ts.tok["bob"]+`"}`)
	if p := read(t, ws); !strings.HasPrefix(p, `40{"sid":`) {
		t.Fatalf("connect: %q", p)
	}
	if err := server.RemoveToken(ts.tokens, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := ts.auth.Reload(); err != nil {
		t.Fatal(err)
	}
	if p := read(t, ws); p != "41" {
		t.Fatalf("after bob's token was removed: %q, want 41 (disconnect)", p)
	}
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break // the session ended
		}
	}
	// Connecting again with the removed token is refused.
	ws2, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Close()
	read(t, ws2)
	write(t, ws2, `40{"token":"`+ts.tok["bob"]+`"}`)
	if p := read(t, ws2); !strings.HasPrefix(p, "44") {
		t.Fatalf("reconnect with the removed token: %q", p)
	}
}
