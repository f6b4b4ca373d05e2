package notify_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

// jobs reads attempts from the store and answers a fixed log summary.
type jobs struct {
	st  *store.SQLite
	log *solverlog.Summary
}

func (j jobs) Attempts(ctx context.Context, id string) ([]engine.Job, error) {
	return j.st.AttemptList(ctx, id)
}

func (j jobs) LogSummary(context.Context, string, int) (solverlog.Summary, bool, error) {
	if j.log == nil {
		return solverlog.Summary{}, false, nil
	}
	return *j.log, true, nil
}

type bundle struct {
	st  *store.SQLite
	n   *notify.Notifier
	bus *engine.Bus
}

// setup starts a notifier on a fresh store; mod adjusts its options.
func setup(t testing.TB, log *solverlog.Summary, mod func(*notify.Options)) *bundle {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	allow, err := notify.ParseAllowList("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	bus := engine.NewBus(64)
	o := notify.Options{
		Outbox: st, Jobs: jobs{st, log}, Events: bus, Allow: allow, Secret: "s3cret",
		PublicURL: "http://simjobs.example:8080/", BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		Timeout: 2 * time.Second, Poll: 50 * time.Millisecond,
	}
	if mod != nil {
		mod(&o)
	}
	n, err := notify.New(o)
	if err != nil {
		t.Fatal(err)
	}
	n.Start(t.Context())
	t.Cleanup(n.Stop)
	return &bundle{st: st, n: n, bus: bus}
}

// submit stores a job with a notify spec (checked as the API checks it)
// and a config.
func (b *bundle) submit(t *testing.T, id string, notifySpec, config string) engine.Job {
	t.Helper()
	p := storetest.Params(id)
	if config != "" {
		p.Config = json.RawMessage(config)
	}
	if notifySpec != "" {
		spec, err := b.n.CheckNotify(json.RawMessage(notifySpec))
		if err != nil {
			t.Fatalf("CheckNotify(%s): %v", notifySpec, err)
		}
		p.Notify = spec
	}
	return storetest.Insert(t, b.st, p)
}

// end runs a job to its end as the engine records it, and announces it.
func (b *bundle) end(t *testing.T, j engine.Job, st engine.Status, code int, errText string) {
	t.Helper()
	start := time.Now().Add(-90 * time.Second).UTC()
	storetest.Update(t, b.st, engine.JobUpdateParams{ID: j.ID, Attempt: j.Attempt, Status: engine.StatusRunning, StartTime: &start, Time: start})
	b.bus.Publish(engine.EventJobStarted, engine.JobStartedData{JobID: j.ID, Attempt: j.Attempt})
	end := time.Now().UTC()
	storetest.Update(t, b.st, engine.JobUpdateParams{ID: j.ID, Attempt: j.Attempt, Status: st, EndTime: &end, ReturnCode: &code, Error: &errText, Time: end})
	b.bus.Publish(engine.EventJobCompleted, engine.JobEndedData{JobID: j.ID, Attempt: j.Attempt, Status: st})
}

// waitDeliveries polls the outbox until cond holds for the job's deliveries.
func (b *bundle) waitDeliveries(t *testing.T, id string, cond func([]engine.Delivery) bool) []engine.Delivery {
	t.Helper()
	var ds []engine.Delivery
	waitFor(t, "deliveries of "+id, func() bool {
		var err error
		ds, err = b.st.DeliveryList(t.Context(), engine.DeliveryListParams{JobID: id})
		return err == nil && cond(ds)
	})
	return ds
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	enginetest.WaitFor(t, what, cond)
}

// receiver is a webhook endpoint that records every request and answers
// with the codes it is given, then 200.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []request
	// codes are answered in turn; a code of 0 hangs until the client
	// gives up (a timeout).
	codes []int
}

type request struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, codes ...int) *receiver {
	r := &receiver{codes: codes}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{req.Header.Clone(), body})
		code := 200
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		r.mu.Unlock()
		if code == 0 {
			<-req.Context().Done()
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

func TestWebhookSignedRetriedAfter500AndTimeout(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 0, 503) // a 500, a timeout, a 503, then 200
	b := setup(t, nil, func(o *notify.Options) { o.Timeout = 200 * time.Millisecond })
	j := b.submit(t, "JOB_1", `{"webhook": "`+rcv.srv.URL+`/hook", "on": ["failed"]}`, "")
	b.end(t, j, engine.StatusFailed, 3, "solver crashed\nsecond line")

	ds := b.waitDeliveries(t, "JOB_1", func(ds []engine.Delivery) bool {
		return len(ds) == 1 && ds[0].Status == engine.DeliveryDelivered
	})
	if ds[0].Attempts != 4 || ds[0].LastCode != 200 || ds[0].Event != "failed" || ds[0].Display != "http://"+rcv.srv.Listener.Addr().String()+"/…" {
		t.Errorf("delivery %+v: want 4 attempts, 200, failed, a redacted display", ds[0])
	}
	reqs := rcv.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for i, r := range reqs {
		if id := r.header.Get("X-Simjobs-Delivery"); id != ds[0].ID {
			t.Errorf("request %d: delivery id %q, want %q every time", i, id, ds[0].ID)
		}
		if !notify.Verify("s3cret", r.body, r.header.Get("X-Simjobs-Signature")) {
			t.Errorf("request %d: signature %q does not verify", i, r.header.Get("X-Simjobs-Signature"))
		}
		if string(r.body) != string(reqs[0].body) {
			t.Errorf("request %d: body differs from the first", i)
		}
	}
	var body struct {
		Text     string
		Event    string
		Delivery string
		URL      string
		Job      engine.Job
		Summary  notify.Summary
	}
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	link := "http://simjobs.example:8080/ui/jobs/JOB_1"
	if body.Event != "failed" || body.Delivery != ds[0].ID || body.URL != link || body.Job.ID != "JOB_1" || body.Job.Status != engine.StatusFailed {
		t.Errorf("body %+v", body)
	}
	if body.Summary.ReturnCode == nil || *body.Summary.ReturnCode != 3 || body.Summary.FirstError != "solver crashed" || body.Summary.ElapsedSeconds == nil {
		t.Errorf("summary %+v", body.Summary)
	}
	for _, want := range []string{"JOB_1", "failed", "exit 3", "solver crashed", link} {
		if !strings.Contains(body.Text, want) {
			t.Errorf("text %q lacks %q", body.Text, want)
		}
	}
	// The running transition owed nothing: "on" named only failed.
	if n := len(reqs); n != 4 {
		t.Errorf("%d requests", n)
	}
}

func TestServerWideWebhookGetsEveryEndNotStarts(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	b := setup(t, nil, func(o *notify.Options) { o.Webhooks = []string{rcv.srv.URL} })
	for i, st := range []engine.Status{engine.StatusCompleted, engine.StatusCancelled} {
		j := b.submit(t, fmt.Sprintf("JOB_%d", i), "", "")
		b.end(t, j, st, 0, "")
	}
	waitFor(t, "two deliveries", func() bool { return len(rcv.requests()) == 2 })
	for _, r := range rcv.requests() {
		if ev := r.header.Get("X-Simjobs-Event"); ev != "completed" && ev != "cancelled" {
			t.Errorf("event %q", ev)
		}
	}
}

func TestGivesUpAfterTheRetryWindow(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	b := setup(t, nil, func(o *notify.Options) { o.GiveUpAfter = 30 * time.Millisecond })
	j := b.submit(t, "JOB_1", `{"webhook": "`+rcv.srv.URL+`"}`, "")
	b.end(t, j, engine.StatusCompleted, 0, "")
	ds := b.waitDeliveries(t, "JOB_1", func(ds []engine.Delivery) bool {
		return len(ds) == 1 && ds[0].Status == engine.DeliveryFailed
	})
	if !strings.Contains(ds[0].LastError, "gave up") || ds[0].LastCode != 500 {
		t.Errorf("delivery %+v", ds[0])
	}
}

func TestReceiverRefusalIsNotRetried(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 404)
	b := setup(t, nil, nil)
	j := b.submit(t, "JOB_1", `{"webhook": "`+rcv.srv.URL+`"}`, "")
	b.end(t, j, engine.StatusCompleted, 0, "")
	ds := b.waitDeliveries(t, "JOB_1", func(ds []engine.Delivery) bool {
		return len(ds) == 1 && ds[0].Status == engine.DeliveryFailed
	})
	if ds[0].Attempts != 1 || len(rcv.requests()) != 1 {
		t.Errorf("a 404 was retried: %+v", ds[0])
	}
}

// A name that passes the host rule but resolves to a refused address is
// stopped when it is dialled: "localhost" is not an allowed address.
func TestSSRFRefusedAtDialTime(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	b := setup(t, nil, func(o *notify.Options) {
		o.Allow, _ = notify.ParseAllowList("") // 127.0.0.1 not allowed
	})
	_, port, _ := net.SplitHostPort(rcv.srv.Listener.Addr().String())
	j := b.submit(t, "JOB_1", `{"webhook": "http://localhost:`+port+`/"}`, "")
	b.end(t, j, engine.StatusCompleted, 0, "")
	ds := b.waitDeliveries(t, "JOB_1", func(ds []engine.Delivery) bool {
		return len(ds) == 1 && ds[0].Status == engine.DeliveryFailed
	})
	if !strings.Contains(ds[0].LastError, "loopback") || len(rcv.requests()) != 0 {
		t.Errorf("delivery %+v; %d requests reached the receiver", ds[0], len(rcv.requests()))
	}
}

func TestAllowList(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		allow, url string
		ok         bool
	}{
		{"", "https://hooks.slack.com/services/x", true},
		{"", "ftp://example.com/", false},
		{"", "file:///etc/passwd", false},
		{"", "http://127.0.0.1/", false},
		{"", "http://[::1]/", false},
		{"", "http://169.254.169.254/latest/meta-data", false},
		{"", "http://10.1.2.3/", false},
		{"", "http://192.168.0.1/", false},
		{"", "http://100.64.0.1/", false},
		{"", "http://[fe80::1]/", false},
		{"", "http://[::ffff:127.0.0.1]/", false},
		{"", "http://0.0.0.0/", false},
		{"127.0.0.1", "http://127.0.0.1:9000/", true},
		{"10.0.0.0/8", "http://10.1.2.3/", true},
		{"10.0.0.0/8", "http://192.168.0.1/", false},
		{"hooks.slack.com", "https://hooks.slack.com/x", true},
		{"hooks.slack.com", "https://evil.example/x", false},
		{"*.example.com", "https://ci.example.com/x", true},
		{"*.example.com", "https://example.com.evil/x", false},
		{"*.example.com", "http://8.8.8.8/", false},
	} {
		a, err := notify.ParseAllowList(tt.allow)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.CheckURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("allow %q, %s: err %v, want ok=%v", tt.allow, tt.url, err, tt.ok)
		}
	}
	// The dial-time rule on resolved addresses.
	a, _ := notify.ParseAllowList("hooks.example.com,192.168.1.0/24")
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": false, "[::1]:443": false, "169.254.169.254:80": false, "10.0.0.1:80": false,
		"192.168.1.7:80": true, "93.184.216.34:443": true, "[2606:4700::1]:443": true,
	} {
		err := a.Control("tcp", addr, nil)
		if (err == nil) != ok || (err != nil && !errors.Is(err, notify.ErrRefused)) {
			t.Errorf("Control(%s): %v, want ok=%v", addr, err, ok)
		}
	}
	if _, err := notify.ParseAllowList("http://x/"); err == nil {
		t.Error("a URL as an allow entry: no error")
	}
}

func TestCheckNotify(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, nil)
	for _, tt := range []struct {
		body, field string
	}{
		{`[]`, "notify"},
		{`{}`, "notify"},
		{`{"webhook": 3}`, "notify.webhook"},
		{`{"webhook": "gopher://x"}`, "notify.webhook"},
		{`{"webhook": "http://169.254.169.254/"}`, "notify.webhook"},
		{`{"webhook": "http://10.0.0.1/"}`, "notify.webhook"},
		{`{"webhook": "https://example.com/", "on": ["done"]}`, "notify.on"},
		{`{"webhook": "https://example.com/", "on": []}`, "notify.on"},
		{`{"webhook": "https://example.com/", "on": "completed"}`, "notify.on"},
		{`{"email": "a@b.c\r\nBcc: x@y.z"}`, "notify.email"},
		{`{"email": "Alice <a@b.c>"}`, "notify.email"},
		{`{"webhok": "https://example.com/"}`, "notify.webhok"},
	} {
		_, err := b.n.CheckNotify(json.RawMessage(tt.body))
		var ve *engine.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("CheckNotify(%s): %v, want a validation error on %s", tt.body, err, tt.field)
		}
	}
	got, err := b.n.CheckNotify(json.RawMessage(`{"webhook": "http://127.0.0.1:1/x", "on": ["started", "completed", "started"], "email": true}`))
	if err != nil || string(got) != `{"webhook":"http://127.0.0.1:1/x","email":true,"on":["completed","started"]}` {
		t.Errorf("normalised spec %s, %v", got, err)
	}
}

func TestSweepEndedOnceWithCounts(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	b := setup(t, nil, func(o *notify.Options) { o.Webhooks = []string{rcv.srv.URL + "/team"} })
	sum := notify.SweepSummary{ID: "SWEEP_1", Name: "freq sweep", User: "alice",
		Counts: map[string]int{"completed": 7, "failed": 2, "cancelled": 1}}
	for range 2 { // a repeated call (after a restart) adds nothing
		if err := b.n.SweepEnded(t.Context(), sum); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the sweep delivery", func() bool {
		ds, _ := b.st.DeliveryList(t.Context(), engine.DeliveryListParams{SweepID: "SWEEP_1"})
		return len(ds) == 1 && ds[0].Status == engine.DeliveryDelivered
	})
	reqs := rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	var body struct {
		Text     string
		Event    string
		Delivery string
		Sweep    notify.SweepSummary
	}
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Delivery == "" || body.Delivery != reqs[0].header.Get("X-Simjobs-Delivery") {
		t.Errorf("body's delivery %q, header's %q", body.Delivery, reqs[0].header.Get("X-Simjobs-Delivery"))
	}
	if body.Event != "sweep_ended" || body.Sweep.Total != 10 || body.Sweep.Counts["failed"] != 2 ||
		body.Sweep.Link != "http://simjobs.example:8080/ui/sweeps/SWEEP_1" ||
		!strings.Contains(body.Text, "10 jobs (1 cancelled, 7 completed, 2 failed)") {
		t.Errorf("sweep body %+v", body)
	}
}

// smtpServer is a minimal SMTP server: it accepts every mail and hands the
// envelope and data to the test.
type smtpServer struct {
	ln    net.Listener
	mails chan mailGot
	// tls, when set, is offered with STARTTLS, or spoken from the first
	// byte when implicit (smtps).
	tls      *tls.Config
	implicit bool
}

type mailGot struct {
	from, to, data, auth string
	// secure: the mail came over TLS.
	secure bool
}

func newSMTPServer(t *testing.T, tlsConf *tls.Config) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, mails: make(chan mailGot, 4), tls: tlsConf}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	var m mailGot
	if s.implicit {
		c, m.secure = tls.Server(c, s.tls), true
	}
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-test")
			if s.tls != nil && !m.secure {
				say("250-STARTTLS")
			}
			say("250 AUTH PLAIN")
		case cmd == "STARTTLS" && s.tls != nil:
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, m.secure = tc, bufio.NewReader(tc), true
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			m.auth = strings.TrimSpace(line[len("AUTH PLAIN"):])
			say("235 ok")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.from = strings.Trim(line[len("MAIL FROM:"):], "<> ")
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.to = strings.Trim(line[len("RCPT TO:"):], "<> ")
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			m.data = data.String()
			s.mails <- m
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func TestMailSummary(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t, nil)
	conv := solverlog.Summary{Adaptive: &solverlog.Adaptive{Converged: true, Passes: []solverlog.Pass{{Pass: 1}, {Pass: 2}}}}
	smtpConf, err := notify.ParseSMTP("smtp://bob:pw@"+srv.ln.Addr().String(), "simjobs@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, &conv, func(o *notify.Options) {
		o.SMTP = smtpConf
		o.UserEmail = func(u string) string { return u + "@users.example.com" }
	})
	// The config's email_notification, and the submitter's own address.
	j := b.submit(t, "JOB_1", `{"email": true}`, `{"jobid":"JOB_1","project_path":"/p/a.aedt","scheduler_options":{"email_notification":"lead@example.com"}}`)
	b.end(t, j, engine.StatusCompleted, 0, "")
	got := map[string]mailGot{}
	for range 2 {
		select {
		case m := <-srv.mails:
			got[m.to] = m
		case <-time.After(20 * time.Second):
			t.Fatalf("mail not received; got %v", got)
		}
	}
	for _, to := range []string{"lead@example.com", "alice@users.example.com"} {
		m, ok := got[to]
		if !ok {
			t.Errorf("no mail to %s", to)
			continue
		}
		if m.from != "simjobs@example.com" || m.auth == "" {
			t.Errorf("envelope from %q auth %q", m.from, m.auth)
		}
		for _, want := range []string{"Subject: simjobs: job JOB_1 completed", "To: " + to, "Status:     completed",
			"Exit code:  0", "Elapsed:    1m30s", "Converged:  yes", "Link:       http://simjobs.example:8080/ui/jobs/JOB_1"} {
			if !strings.Contains(m.data, want) {
				t.Errorf("mail to %s lacks %q:\n%s", to, want, m.data)
			}
		}
	}
	waitFor(t, "both delivered", func() bool {
		ds, _ := b.st.DeliveryList(t.Context(), engine.DeliveryListParams{JobID: "JOB_1"})
		n := 0
		for _, d := range ds {
			if d.Channel == "email" && d.Status == engine.DeliveryDelivered {
				n++
			}
		}
		return n == 2
	})
}

// A server that offers STARTTLS gets it before the password is sent.
func TestMailSTARTTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	srv := newSMTPServer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	smtpConf, err := notify.ParseSMTP("smtp://bob:pw@"+srv.ln.Addr().String(), "simjobs@example.com")
	if err != nil {
		t.Fatal(err)
	}
	smtpConf.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	b := setup(t, nil, func(o *notify.Options) { o.SMTP = smtpConf })
	j := b.submit(t, "JOB_1", `{"email": "lead@example.com"}`, "")
	b.end(t, j, engine.StatusFailed, 1, "")
	select {
	case m := <-srv.mails:
		if !m.secure || m.auth == "" || !strings.Contains(m.data, "Status:     failed") {
			t.Errorf("mail secure=%v auth=%q:\n%s", m.secure, m.auth, m.data)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no mail")
	}
}

func TestMailSMTPS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	srv := newSMTPServer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	srv.implicit = true
	smtpConf, err := notify.ParseSMTP("smtps://bob:pw@"+srv.ln.Addr().String(), "simjobs@example.com")
	if err != nil {
		t.Fatal(err)
	}
	smtpConf.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	b := setup(t, nil, func(o *notify.Options) { o.SMTP = smtpConf })
	j := b.submit(t, "JOB_1", `{"email": "lead@example.com"}`, "")
	b.end(t, j, engine.StatusCompleted, 0, "")
	select {
	case m := <-srv.mails:
		if !m.secure || m.to != "lead@example.com" {
			t.Errorf("mail secure=%v to=%q", m.secure, m.to)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no mail")
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestMailWithoutServerIsRecordedAsFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, nil)
	j := b.submit(t, "JOB_1", "", `{"jobid":"JOB_1","scheduler_options":{"email_notification":"lead@example.com"}}`)
	b.end(t, j, engine.StatusFailed, 1, "")
	ds := b.waitDeliveries(t, "JOB_1", func(ds []engine.Delivery) bool {
		return len(ds) == 1 && ds[0].Status == engine.DeliveryFailed
	})
	if !strings.Contains(ds[0].LastError, "--smtp") {
		t.Errorf("delivery %+v", ds[0])
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// The example from GitHub's webhook documentation.
	got := notify.Sign("It's a Secret to Everybody", []byte("Hello, World!"))
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func FuzzCheckNotify(f *testing.F) {
	for _, s := range []string{`{"webhook":"https://x.example/"}`, `{"email":true,"on":["started"]}`, `{"email":"a@b.c"}`, `[]`, `{"webhook":"http://[::1]/"}`} {
		f.Add(s)
	}
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "jobs.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	n, err := notify.New(notify.Options{Outbox: st, Jobs: jobs{st: st}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		spec, err := n.CheckNotify(json.RawMessage(body))
		if err != nil {
			var ve *engine.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a validation error", err)
			}
			return
		}
		// What was accepted is accepted again as stored.
		if _, err := n.CheckNotify(spec); err != nil {
			t.Fatalf("stored spec %s refused: %v", spec, err)
		}
	})
}

func FuzzParseAllowList(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.0/8,*.example.com", "::1", "hooks.slack.com"} {
		f.Add(s, "http://10.1.2.3/")
	}
	f.Fuzz(func(t *testing.T, entries, u string) {
		a, err := notify.ParseAllowList(entries)
		if err != nil {
			return
		}
		_, _ = a.CheckURL(u)
	})
}
