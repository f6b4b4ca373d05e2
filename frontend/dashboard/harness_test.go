package dashboard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/frontend/dashboard"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/testdata/fakelmutil"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// sampler is host telemetry set by the test, with an hour of history.
type sampler struct {
	mu   sync.Mutex
	hist []host.Sample
}

func newSampler() *sampler {
	s := &sampler{}
	now := time.Now().UTC()
	for i := 120; i >= 0; i-- {
		t := now.Add(-time.Duration(i) * 30 * time.Second)
		s.hist = append(s.hist, host.Sample{Time: t, CPUPercent: 20 + float64(i%17)*2, MemoryPercent: 40 + float64(i%7), MemoryUsedGB: 25, MemoryTotalGB: 64,
			MemoryFreeGB: 39, DiskUsagePercent: 55, DiskFreeGB: 400})
	}
	return s
}

func (s *sampler) Latest() (host.Sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hist[len(s.hist)-1], true
}

func (s *sampler) History(since time.Time) []host.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []host.Sample
	for _, h := range s.hist {
		if h.Time.After(since) {
			out = append(out, h)
		}
	}
	return out
}

func (s *sampler) SampleNow() {}

// harness is a real server: SQLite store, local runner, the fake solver,
// the API and the dashboard on a loopback port.
type harness struct {
	t        testing.TB
	dir      string
	project  string
	envExe   string
	addr     string
	url      string
	auth     server.Authenticator
	limits   engine.Limits
	tel      *sampler
	m        *engine.Manager
	sessions *server.Sessions
	shutdown func()
	tls      bool
	// lic gates the engine and feeds the license panel when set.
	lic *license.Monitor
	// tailEvery is dashboard.Options.TailEvery when set.
	tailEvery time.Duration
}

type opts struct {
	auth   server.Authenticator
	limits engine.Limits
	dir    string // reuse a data dir (a restart)
	// tls serves HTTPS with a self-signed certificate (browsers started
	// with ignore-certificate-errors).
	tls bool
	// licenses, when set, builds the license monitor (see withLicenses).
	licenses func(h *harness) *license.Monitor
	// tailEvery is the job pages' log clock when set (see jobView).
	tailEvery time.Duration
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(t testing.TB, o opts) *harness {
	t.Helper()
	h := &harness{t: t, dir: o.dir, auth: o.auth, limits: o.limits, tel: newSampler(), tls: o.tls, tailEvery: o.tailEvery}
	if h.dir == "" {
		h.dir = t.TempDir()
	}
	if h.auth == nil {
		h.auth = server.NoAuth{User: "local"}
	}
	h.project = filepath.Join(h.dir, "proj", "board.aedt")
	if err := os.MkdirAll(filepath.Dir(h.project), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.project, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if h.envExe, err = exec.LookPath("env"); err != nil {
		t.Skip("no env(1):", err)
	}
	if o.licenses != nil {
		h.lic = o.licenses(h)
	}
	h.listen("127.0.0.1:0")
	if h.lic != nil {
		h.lic.Start(context.Background())
		t.Cleanup(h.lic.Stop)
	}
	return h
}

// listen starts the engine and the server on addr.
func (h *harness) listen(addr string) {
	t := h.t
	t.Helper()
	policy, err := engine.NewPolicy(fakesolver.Path(), []string{h.envExe}, nil, "none")
	if err != nil {
		t.Fatal(err)
	}
	policy.DefaultUser = "local"
	policy.UploadRoot = filepath.Join(h.dir, "uploads")
	st, err := store.Open(context.Background(), filepath.Join(h.dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	h.m, err = engine.New(context.Background(), engine.Options{
		Store: st, Runner: local.New(local.Options{KillGrace: time.Second}), Telemetry: h.tel,
		Policy: policy, Limits: h.limits, DataDir: h.dir, Logger: quiet, Notify: notify.Checker{},
		// Solver logs are read more often than a server's once a second:
		// the fake solver's passes last a fraction of a second.
		ProgressEvery: 100 * time.Millisecond,
		Gates:         h.gates(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.sessions = server.NewSessions(h.auth, 0)
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	env := &frontend.Env{Manager: h.m, Sampler: h.tel, Sessions: h.sessions, AuthMode: h.auth.Mode(), Version: "test",
		Scheduler: server.SchedulerInfo{Active: "none", DetectedBy: "flag", BackendAvailable: true}}
	var licenses server.Licenses
	if h.lic != nil {
		licenses = h.lic
		env.Licenses = licenses
	}
	tailEvery := 100 * time.Millisecond
	if h.tailEvery > 0 {
		tailEvery = h.tailEvery
	}
	dash := dashboard.New(httpCtx, env, dashboard.Options{TailEvery: tailEvery})
	srv := server.New(server.Options{Manager: h.m, Sampler: h.tel, Auth: h.auth, Logger: quiet, Version: "test",
		Scheduler: env.Scheduler, Mount: dash.Mount, Sessions: h.sessions, Licenses: licenses,
		Backup: func(ctx context.Context) (string, error) {
			path := filepath.Join(h.dir, fmt.Sprintf(".backup-%d.db", time.Now().UnixNano()))
			return path, st.Backup(ctx, path)
		}})
	var ln net.Listener
	for i := 0; ; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond) // the old listener's port is being released
	}
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	h.url = "http://" + h.addr
	if h.tls {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{testCert(t)}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		h.url = "https://" + h.addr
	}
	done := make(chan struct{})
	go func() { srv.Serve(httpCtx, ln, time.Second); close(done) }()
	var once sync.Once
	h.shutdown = func() {
		once.Do(func() {
			stopHTTP()
			<-done
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h.m.Close(ctx)
			st.Close()
		})
	}
	t.Cleanup(h.shutdown)
}

// restart stops the server and starts it again on the same port and data.
func (h *harness) restart() {
	h.shutdown()
	h.listen(h.addr)
}

// csrf is the test browser's CSRF cookie value (double submit).
const csrf = "test-csrf-token-0123456789abcdef0123456789"

type answer struct {
	status int
	header http.Header
	body   string
}

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// do sends a request as a browser of this site would: with the CSRF
// cookie, and the extra headers given as name, value pairs.
func (h *harness) do(method, path string, form url.Values, hdr ...string) answer {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: server.CSRFCookie, Value: csrf})
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (h *harness) get(path string) answer { h.t.Helper(); return h.do("GET", path, nil) }

// post sends a form with the CSRF field.
func (h *harness) post(path string, form url.Values, hdr ...string) answer {
	h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", csrf)
	}
	return h.do("POST", path, form, hdr...)
}

// command submits a plain command job over the engine: env runs argv.
func (h *harness) command(id, user string, argv ...string) {
	h.t.Helper()
	cfg := map[string]any{"command": append([]string{h.envExe}, argv...), "jobid": id}
	if user != "" {
		cfg["user"] = user
	}
	h.submit(cfg, 0)
}

func (h *harness) submit(cfg map[string]any, prio int) engine.SubmitResult {
	h.t.Helper()
	raw, err := jsonMarshal(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	res, err := h.m.Submit(context.Background(), engine.SubmitRequest{Config: raw, Priority: prio})
	if err != nil {
		h.t.Fatalf("submit %v: %v", cfg, err)
	}
	return res
}

// solver is argv running the fake solver with its environment settings.
func solver(id string, fakeEnv ...string) []string {
	return append(fakeEnv, fakesolver.Path(), "--job", id)
}

func (h *harness) wait(id string) engine.Job {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := h.m.Wait(ctx, id)
	if err != nil {
		h.t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

// waitStatus waits for a job to reach a status, on the event stream.
// waitRunning waits until n jobs run.
func (h *harness) waitRunning(n int) {
	h.t.Helper()
	sub := h.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	deadline := time.After(30 * time.Second)
	for h.m.QueueStats().Running < n {
		select {
		case <-sub.C:
		case <-deadline:
			h.t.Fatalf("%d jobs run, want %d", h.m.QueueStats().Running, n)
		}
	}
}

func (h *harness) waitStatus(id string, want engine.Status) {
	h.t.Helper()
	sub := h.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	deadline := time.After(30 * time.Second)
	for {
		j, err := h.m.Job(context.Background(), id)
		if err == nil && j.Status == want {
			return
		}
		select {
		case <-sub.C:
		case <-deadline:
			h.t.Fatalf("job %s never became %s (is %s)", id, want, j.Status)
		}
	}
}

func mustStatus(t testing.TB, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("status %d, want %d; body %.2000s", a.status, want, a.body)
	}
}

// testCert is a self-signed certificate for 127.0.0.1.
func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (h *harness) gates() []engine.Gate {
	if h.lic == nil {
		return nil
	}
	return []engine.Gate{h.lic}
}

// withLicenses is opts.licenses for a monitor on the fake lmutil in fake,
// with lm as the license map; each poll is announced and held jobs rechecked.
func withLicenses(fake fakelmutil.Dir, lm string) func(h *harness) *license.Monitor {
	return func(h *harness) *license.Monitor {
		m, err := license.ParseMap([]byte(lm))
		if err != nil {
			h.t.Fatal(err)
		}
		mon, err := license.New(license.Options{
			Servers: []string{"1055@licsrv"}, LMUtil: fakelmutil.Path(), Every: time.Hour, Map: &m, Env: []string{fake.Env()}, Logger: quiet,
			OnChange: func(r license.Report) {
				h.m.Events().PublishTransient(engine.EventLicensesUpdated, r)
				h.m.Recheck()
			},
		})
		if err != nil {
			h.t.Fatal(err)
		}
		return mon
	}
}
