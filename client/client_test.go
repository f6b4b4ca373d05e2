package client_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/apitype"
	"github.com/simjobs/simjobs/server/servertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

func newClient(t testing.TB, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// engineSummary reads the wire's log summary as the engine's, for its
// Progress method: what the summary says must give the progress the
// server announced.
func engineSummary(t testing.TB, s apitype.LogSummary) solverlog.Summary {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out solverlog.Summary
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSubmitListWaitAndRead(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := newClient(t, srv.URL+"/") // a trailing slash is fine
	ctx := ctx(t)

	hfss, err := c.Submit(ctx, srv.HFSS("pyedb_1"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !hfss.Success || hfss.JobID != "pyedb_1" || hfss.Attempt != 1 || hfss.Status != apitype.StatusQueued {
		t.Fatalf("submit reply %+v", hfss)
	}
	cmdReply, err := c.Submit(ctx, json.RawMessage(`{"command":["`+srv.Env+`","`+srv.Solver+`"],"jobid":"cmd_1"}`), 0)
	if err != nil || cmdReply.JobID != "cmd_1" {
		t.Fatalf("submit raw JSON: %+v %v", cmdReply, err)
	}
	var seen []string
	jobs, err := c.Wait(ctx, []string{"pyedb_1", "cmd_1"}, func(u client.WaitUpdate) {
		// A job's last job_progress may follow its end.
		if u.Event != nil && u.Event.JobID() == "pyedb_1" && u.Event.Name != apitype.EventJobProgress {
			seen = append(seen, u.Event.Name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Status != apitype.StatusCompleted || j.ReturnCode == nil || *j.ReturnCode != 0 {
			t.Errorf("job %s: %s rc %v (%s)", j.ID, j.Status, j.ReturnCode, j.Error)
		}
	}
	if len(seen) > 0 && seen[len(seen)-1] != apitype.EventJobCompleted {
		t.Errorf("events of pyedb_1 seen while waiting: %v", seen)
	}

	page, err := c.Jobs(ctx, client.ListOptions{Statuses: []apitype.Status{apitype.StatusCompleted}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || len(page.Jobs) != 1 || page.Jobs[0].ID != "pyedb_1" {
		t.Fatalf("page %d %+v", page.Total, page.Jobs)
	}
	j, err := c.Job(ctx, "pyedb_1")
	if err != nil || j.Priority != 2 || j.User != "tester" {
		t.Fatalf("job %+v %v", j, err)
	}
	h, err := c.JobHistory(ctx, "pyedb_1")
	if err != nil || len(h.Attempts) != 1 || len(h.Transitions) < 3 {
		t.Fatalf("history %+v %v", h, err)
	}
	log, err := c.Log(ctx, "pyedb_1", client.LogOptions{Tail: 1})
	if err != nil || string(log.Text) != "[info] Batch Solve/Save: Completed\n" || log.Next != log.Size {
		t.Fatalf("log tail %q %+v %v", log.Text, log, err)
	}
	errLog, err := c.Log(ctx, "pyedb_1", client.LogOptions{Stream: "stderr"})
	if err != nil || !strings.Contains(string(errLog.Text), "nothing is really solved") {
		t.Fatalf("stderr %q %v", errLog.Text, err)
	}
	// Cancelling a job that ended is no error, and no success.
	r, err := c.Cancel(ctx, "pyedb_1")
	if err != nil || r.Success {
		t.Fatalf("cancel of an ended job: %+v %v", r, err)
	}
}

// The solver log summary of a job, none while it has no output, and an
// unknown job as an error; job_progress events reach a waiting client.
func TestLogSummary(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := newClient(t, srv.URL)
	ctx := ctx(t)
	if _, err := c.Submit(ctx, srv.Command("hfss", fakesolver.EnvScript+"="+fakesolver.HFSSLog(), fakesolver.EnvLineSleep+"=0.02"), 0); err != nil {
		t.Fatal(err)
	}
	progress := 0
	if _, err := c.Wait(ctx, []string{"hfss"}, func(u client.WaitUpdate) {
		if u.Event != nil && u.Event.Name == apitype.EventJobProgress && u.Event.JobID() == "hfss" {
			progress++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if progress == 0 {
		t.Error("no job_progress event while waiting for a job whose log grew")
	}
	s, ok, err := c.LogSummary(ctx, "hfss", 0)
	if err != nil || !ok {
		t.Fatalf("summary: ok %v, %v", ok, err)
	}
	delta := 0.01187
	want := solverlog.Progress{Solver: "HFSS", Phase: solverlog.StateCompleted, Pass: 5, MaxMagDeltaS: &delta, SolvedElements: 69871,
		Converged: true, SweepSolved: 6, SweepPoints: 6, SweepKind: "discrete", SweepDone: true, Warnings: 3}
	if diff := cmp.Diff(want, engineSummary(t, s).Progress()); diff != "" || s.Project != "filter_bank" || len(s.Adaptive.Passes) != 5 {
		t.Errorf("summary of project %q, %d passes; progress (-want +got):\n%s", s.Project, len(s.Adaptive.Passes), diff)
	}
	if _, ok, err := c.LogSummary(ctx, "hfss", 1); err != nil || !ok {
		t.Errorf("attempt 1: ok %v, %v", ok, err)
	}
	if _, _, err := c.LogSummary(ctx, "hfss", 2); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("attempt 2 of 1: %v, want a bad request", err)
	}
	if _, _, err := c.LogSummary(ctx, "ghost", 0); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown job: %v, want not found", err)
	}
	busy := host.IdleSample()
	busy.CPUPercent = 99
	srv.SetTelemetry(busy)
	if _, err := c.Submit(ctx, srv.Command("waiting"), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.LogSummary(ctx, "waiting", 0); ok || err != nil {
		t.Errorf("a queued job: ok %v, %v; want no summary yet", ok, err)
	}
}

func TestQueueLimitsPriorityCancel(t *testing.T) {
	t.Parallel()
	busy := host.IdleSample()
	busy.CPUPercent = 99 // nothing starts until the CPU limit is raised
	srv := servertest.Start(t, servertest.Options{Sample: &busy})
	c := newClient(t, srv.URL)
	ctx := ctx(t)
	for _, id := range []string{"a", "b"} {
		if _, err := c.Submit(ctx, srv.Command(id), 0); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := c.SetPriority(ctx, "b", 5); err != nil || !r.Success {
		t.Fatalf("priority: %+v %v", r, err)
	}
	q, err := c.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := apitype.QueueReply{TotalQueued: 2, RegularQueueSize: 1, PriorityQueues: map[string]int{"5": 1}, MaxConcurrent: 1, BlockedBy: q.BlockedBy}
	if diff := cmp.Diff(want, q); diff != "" || !strings.Contains(q.BlockedBy, "CPU") {
		t.Fatalf("queue (-want +got):\n%s\nblocked by %q", diff, q.BlockedBy)
	}
	if r, err := c.Cancel(ctx, "a"); err != nil || !r.Success {
		t.Fatalf("cancel: %+v %v", r, err)
	}
	st, err := c.SystemStatus(ctx)
	if err != nil || st.Mode != "local" || st.LocalPool.QueuedJobs != 1 || !st.ResourceMonitoring.Active {
		t.Fatalf("system status %+v %v", st, err)
	}
	cpu := 100.0
	lr, err := c.SetLimits(ctx, apitype.LimitsPatch{MaxCPUPercent: &cpu})
	if err != nil || !lr.Success || lr.Limits.MaxCPUPercent != 100 || lr.Limits.MaxConcurrentJobs != 1 {
		t.Fatalf("set limits %+v %v", lr, err)
	}
	if l, err := c.Limits(ctx); err != nil || l != lr.Limits {
		t.Fatalf("limits %+v %v", l, err)
	}
	jobs, err := c.Wait(ctx, []string{"b", "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if jobs[0].Status != apitype.StatusCompleted || jobs[1].Status != apitype.StatusCancelled {
		t.Fatalf("b %s, a %s", jobs[0].Status, jobs[1].Status)
	}
}

func TestSmallRoutes(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := newClient(t, srv.URL)
	ctx := ctx(t)
	if res, err := c.Resources(ctx); err != nil || res.MemoryTotalGB != 64 {
		t.Errorf("resources %+v %v", res, err)
	}
	if typ, err := c.SchedulerType(ctx); err != nil || typ != "none" {
		t.Errorf("scheduler type %q %v", typ, err)
	}
	if me, err := c.Me(ctx); err != nil || me.Role != "admin" {
		t.Errorf("me %+v %v", me, err)
	}
	if p, err := c.ClusterPartitions(ctx); err != nil || len(p) != 0 {
		t.Errorf("cluster partitions %v %v", p, err)
	}
	if _, err := c.Partitions(ctx); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("partitions without a scheduler: %v", err)
	}
	if err := c.Health(ctx); err != nil {
		t.Error(err)
	}
	if m, err := c.Metrics(ctx); err != nil || !strings.Contains(m, "simjobs_queue_depth ") {
		t.Errorf("metrics %v", err)
	}
	if doc, err := c.OpenAPI(ctx); err != nil || !json.Valid(doc) {
		t.Errorf("openapi %v", err)
	}
	if r, err := c.StartMonitoring(ctx); err != nil || !r.Success {
		t.Errorf("start monitoring %+v %v", r, err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Error(err)
	}
	if r, err := c.Drain(ctx); err != nil || !r.Success {
		t.Fatalf("drain %+v %v", r, err)
	}
	<-srv.Drains
	if err := c.Ready(ctx); !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("ready while draining: %v", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("user-secret"))
	auth, err := server.ParseTokens(strings.NewReader("bob:user:" + hex.EncodeToString(sum[:]) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, servertest.Options{Auth: auth, Roots: []string{"/"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	bob := newClient(t, srv.URL, client.WithToken("user-secret"))
	ctx := ctx(t)
	max := 3
	for _, tc := range []struct {
		name   string
		call   func() error
		is     error
		status int
		msg    string
	}{
		{"no token", func() error { _, err := newClient(t, srv.URL).Queue(ctx); return err }, client.ErrUnauthorized, 401, "authentication required"},
		{"wrong token", func() error { _, err := newClient(t, srv.URL, client.WithToken("x")).Job(ctx, "a"); return err }, client.ErrUnauthorized, 401, "authentication required"},
		{"user sets limits", func() error {
			_, err := bob.SetLimits(ctx, apitype.LimitsPatch{MaxConcurrentJobs: &max})
			return err
		}, client.ErrForbidden, 403, "this needs the admin role"},
		{"unknown job", func() error { _, err := bob.Job(ctx, "nope"); return err }, client.ErrNotFound, 404, "job not found"},
		{"bad config", func() error { _, err := bob.Submit(ctx, map[string]any{"project_path": "/x.txt"}, 0); return err }, client.ErrBadRequest, 400, "project_path"},
		{"events without token", func() error { _, err := newClient(t, srv.URL).Events(ctx, -1); return err }, client.ErrUnauthorized, 401, "authentication required"},
		{"unreachable", func() error { _, err := newClient(t, closed).Queue(ctx); return err }, client.ErrUnreachable, 0, ""},
		{"unreachable events", func() error { _, err := newClient(t, closed).Events(ctx, -1); return err }, client.ErrUnreachable, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			var apiErr *client.Error
			if errors.As(err, &apiErr) != (tc.status != 0) {
				t.Fatalf("error %#v: *client.Error expected: %v", err, tc.status != 0)
			}
			if apiErr != nil && (apiErr.StatusCode != tc.status || !strings.Contains(apiErr.Message, tc.msg)) {
				t.Fatalf("status %d message %q, want %d containing %q", apiErr.StatusCode, apiErr.Message, tc.status, tc.msg)
			}
		})
	}
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestEventsReplay(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	c := newClient(t, srv.URL)
	ctx := ctx(t)
	bus := srv.Manager.Events()
	first := bus.Publish("test_one", map[string]any{"job_id": "x"})
	bus.Publish("test_two", map[string]any{})
	s, err := c.Events(ctx, first.Seq-1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	for range 2 {
		ev, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Name+":"+ev.JobID())
	}
	if diff := cmp.Diff([]string{"test_one:x", "test_two:"}, got); diff != "" {
		t.Fatalf("replay (-want +got):\n%s", diff)
	}
}

// A wait ends when its context does, and a job that does not exist is an
// error at once.
func TestWaitErrors(t *testing.T) {
	t.Parallel()
	busy := host.IdleSample()
	busy.CPUPercent = 99
	srv := servertest.Start(t, servertest.Options{Sample: &busy})
	c := newClient(t, srv.URL)
	if _, err := c.Wait(ctx(t), []string{"ghost"}, nil); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("wait for an unknown job: %v", err)
	}
	if _, err := c.Submit(ctx(t), srv.Command("stuck"), 0); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(short, []string{"stuck"}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past its deadline: %v", err)
	}
}

// BenchmarkSubmit measures submissions through the client, one at a time,
// into a real server (SQLite store, durable before the answer).
func BenchmarkSubmit(b *testing.B) {
	busy := host.IdleSample()
	busy.CPUPercent = 99 // keep the jobs queued: measure submission only
	srv := servertest.Start(b, servertest.Options{Sample: &busy})
	c := newClient(b, srv.URL)
	ctx := context.Background()
	cfg := srv.HFSS("")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := c.Submit(ctx, cfg, 0); err != nil {
			b.Fatal(err)
		}
	}
}
