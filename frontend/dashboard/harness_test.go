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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/frontend/dashboard"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
	"github.com/simjobs/simjobs/testdata/fakelmutil"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// telemetry is host telemetry set by the test, with an hour of history
// for the overview's charts.
func telemetry() *host.FakeSource {
	now := time.Now().UTC()
	var hist []host.Sample
	for i := 120; i >= 1; i-- {
		t := now.Add(-time.Duration(i) * 30 * time.Second)
		hist = append(hist, reading(t, i))
	}
	src := host.NewFakeSource(reading(time.Time{}, 0)) // stamped when read
	src.SetHistory(hist)
	return src
}

func reading(t time.Time, i int) host.Sample {
	return host.Sample{Time: t, CPUPercent: 20 + float64(i%17)*2, MemoryPercent: 40 + float64(i%7), MemoryUsedGB: 25, MemoryTotalGB: 64,
		MemoryFreeGB: 39, DiskUsagePercent: 55, DiskFreeGB: 400}
}

// harness is a real server (servertest.Start: SQLite store, local runner,
// the fake solver, the API) with the dashboard mounted, and what a browser
// of it does.
type harness struct {
	t        testing.TB
	dir      string
	project  string
	envExe   string
	addr     string
	url      string
	auth     server.Authenticator
	limits   engine.Limits
	tel      *host.FakeSource
	m        *engine.Manager
	srv      *servertest.Server
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
	h := &harness{t: t, dir: o.dir, auth: o.auth, limits: o.limits, tel: telemetry(), tls: o.tls, tailEvery: o.tailEvery}
	if h.dir == "" {
		h.dir = t.TempDir()
	}
	if h.auth == nil {
		h.auth = server.NoAuth{User: "local"}
	}
	// The pages' own project, beside which tests add more: "x", a byte.
	h.project = filepath.Join(h.dir, "proj", "board.aedt")
	if err := os.MkdirAll(filepath.Dir(h.project), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.project, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
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
	h.t.Helper()
	tailEvery := 100 * time.Millisecond
	if h.tailEvery > 0 {
		tailEvery = h.tailEvery
	}
	o := servertest.Options{
		Auth: h.auth, Limits: h.limits, DefaultUser: "local", Notify: notify.Checker{},
		Telemetry: h.tel, Dashboard: true, DashboardOptions: dashboard.Options{TailEvery: tailEvery},
		Dir: h.dir, Addr: addr,
	}
	if h.lic != nil {
		o.Gates, o.Licenses = []engine.Gate{h.lic}, h.lic
	}
	if h.tls {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(h.t)}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	}
	h.srv = servertest.Start(h.t, o)
	h.m, h.sessions, h.addr, h.url, h.shutdown = h.srv.Manager, h.srv.Sessions, h.srv.Addr, h.srv.URL, h.srv.Stop
	h.envExe = h.srv.Env
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

// waitRunning waits until n jobs run.
func (h *harness) waitRunning(n int) {
	h.t.Helper()
	sub := h.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	enginetest.WaitOn(h.t, sub.C, func() error {
		if r := h.m.QueueStats().Running; r < n {
			return fmt.Errorf("%d jobs run, want %d", r, n)
		}
		return nil
	})
}

// waitStatus waits for a job to reach a status, on the event stream.
func (h *harness) waitStatus(id string, want engine.Status) {
	h.t.Helper()
	sub := h.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	enginetest.WaitOn(h.t, sub.C, func() error {
		j, err := h.m.Job(context.Background(), id)
		if err != nil || j.Status != want {
			return fmt.Errorf("job %s never became %s (is %s, %v)", id, want, j.Status, err)
		}
		return nil
	})
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
