package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/apitype"
	"github.com/simjobs/simjobs/server/servertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
	"github.com/simjobs/simjobs/testdata/pyedb"
)

// env is the stack servertest.Start builds, under the names these tests
// use, with jobs owned by "local" by default.
type env struct {
	url     string
	m       *engine.Manager
	srv     *server.Server
	tel     *host.FakeSource
	dir     string
	project string
	envExe  string
	record  string
	drained chan struct{}
}

type envOpts struct {
	auth    server.Authenticator
	sampler server.Sampler
	limits  engine.Limits
	roots   bool
}

func setup(t *testing.T, o envOpts) *env {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Auth: o.auth, Sampler: o.sampler, Limits: o.limits, ProjectRoot: o.roots, DefaultUser: "local"})
	return &env{url: s.URL, m: s.Manager, srv: s.Server, tel: s.Telemetry, dir: s.Dir, project: s.Project, envExe: s.Env,
		record: filepath.Join(s.Dir, "record.txt"), drained: s.Drains}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", a.status, a.body, err)
	}
}

var client = &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}

func (e *env) do(t *testing.T, method, path string, body any, hdr ...string) answer {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		r = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

// command is a submit body for a plain command job running the fake solver.
func (e *env) command(id string, prio int, fakeEnv ...string) map[string]any {
	argv := append([]string{e.envExe, "FAKE_SOLVER_RECORD=" + e.record}, fakeEnv...)
	argv = append(argv, fakesolver.Path(), "--job", id)
	return map[string]any{"config": map[string]any{"command": argv, "jobid": id}, "priority": prio}
}

func (e *env) hfss(mut func(map[string]any)) map[string]any {
	cfg := pyedb.Config("hfss_1", e.project)
	if mut != nil {
		mut(cfg)
	}
	return map[string]any{"config": cfg, "priority": 0}
}

func (e *env) wait(t *testing.T, id string) engine.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := e.m.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

func mustStatus(t *testing.T, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("status %d, want %d; body %s", a.status, want, a.body)
	}
}

func TestSubmitAndRead(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	a := e.do(t, "POST", "/jobs/submit", e.command("j1", 7))
	mustStatus(t, a, 200)
	var rep struct {
		Success bool   `json:"success"`
		JobID   string `json:"job_id"`
		Message string `json:"message"`
	}
	a.json(t, &rep)
	if !rep.Success || rep.JobID != "j1" || rep.Message == "" {
		t.Fatalf("reply %+v", rep)
	}
	e.wait(t, "j1")
	a = e.do(t, "GET", "/jobs/j1", nil)
	mustStatus(t, a, 200)
	var job map[string]any
	a.json(t, &job)
	for _, k := range []string{"id", "user", "priority", "status", "config", "submit_time", "start_time", "end_time", "return_code", "scheduler_job_id", "error", "attempt", "progress"} {
		if _, ok := job[k]; !ok {
			t.Errorf("job record lacks %q: %s", k, a.body)
		}
	}
	if job["priority"] != 7.0 || job["status"] != "completed" || job["return_code"] != 0.0 || job["user"] != "local" {
		t.Errorf("job record %s", a.body)
	}
	// The same through the /api alias, and the listing.
	mustStatus(t, e.do(t, "POST", "/api/submit", e.command("j2", 0)), 200)
	e.wait(t, "j2")
	a = e.do(t, "GET", "/jobs", nil)
	mustStatus(t, a, 200)
	var list []map[string]any
	a.json(t, &list)
	if len(list) != 2 || list[0]["id"] != "j1" || list[1]["id"] != "j2" || a.header.Get("X-Total-Count") != "2" {
		t.Fatalf("list %s total %q", a.body, a.header.Get("X-Total-Count"))
	}
	a = e.do(t, "GET", "/api/jobs?status=completed&limit=1&offset=1", nil)
	a.json(t, &list)
	if len(list) != 1 || list[0]["id"] != "j2" || a.header.Get("X-Total-Count") != "2" {
		t.Fatalf("page %s", a.body)
	}
	mustStatus(t, e.do(t, "GET", "/jobs?status=bogus", nil), 400)
	mustStatus(t, e.do(t, "GET", "/jobs?limit=-1", nil), 400)
	mustStatus(t, e.do(t, "GET", "/jobs/nope", nil), 404)

	a = e.do(t, "GET", "/jobs/j1/log", nil)
	mustStatus(t, a, 200)
	if !strings.Contains(string(a.body), "CONVERGE") || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Errorf("log: %q %q", a.header.Get("Content-Type"), a.body)
	}
	size := a.header.Get("X-Log-Size")
	a = e.do(t, "GET", "/jobs/j1/log?offset="+size, nil)
	if len(a.body) != 0 || a.header.Get("X-Log-Offset") != size {
		t.Errorf("log from the end: %q offset %q", a.body, a.header.Get("X-Log-Offset"))
	}
	a = e.do(t, "GET", "/jobs/j1/log?tail=1", nil)
	if got := strings.TrimSpace(string(a.body)); got != "[info] Batch Solve/Save: Completed" {
		t.Errorf("tail=1: %q", got)
	}
	a = e.do(t, "GET", "/jobs/j1/log?stream=stderr", nil)
	if !strings.Contains(string(a.body), "warning") {
		t.Errorf("stderr: %q", a.body)
	}
	mustStatus(t, e.do(t, "GET", "/jobs/j1/log?stream=../../etc/passwd", nil), 400)
	a = e.do(t, "GET", "/jobs/j1/history", nil)
	mustStatus(t, a, 200)
	var hist apitype.JobHistory
	a.json(t, &hist)
	if len(hist.Attempts) != 1 || len(hist.Transitions) != 3 {
		t.Errorf("history %s", a.body)
	}
}

func TestSubmitDuplicateAndAttempts(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	mustStatus(t, e.do(t, "POST", "/jobs/submit", e.command("d", 0, "FAKE_SOLVER_SLEEP=30")), 200)
	a := e.do(t, "POST", "/jobs/submit", e.command("d", 0))
	mustStatus(t, a, 200)
	var rep apitype.SubmitReply
	a.json(t, &rep)
	if !rep.Duplicate || !strings.Contains(rep.Message, "already exists") || !strings.Contains(rep.Message, string(rep.Status)) {
		t.Fatalf("duplicate: %s", a.body)
	}
	mustStatus(t, e.do(t, "POST", "/jobs/d/cancel", nil), 200)
	e.wait(t, "d")
	a = e.do(t, "POST", "/jobs/submit", e.command("d", 0))
	a.json(t, &rep)
	if rep.Duplicate || rep.Attempt != 2 {
		t.Fatalf("resubmission: %s", a.body)
	}
}

func TestSubmitValidation(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	node := func(k string, v any) func(map[string]any) {
		return func(c map[string]any) { c["machine_nodes"].([]any)[0].(map[string]any)[k] = v }
	}
	sched := func(k string, v any) func(map[string]any) {
		return func(c map[string]any) { c["scheduler_options"].(map[string]any)[k] = v }
	}
	layout := func(k string, v any) func(map[string]any) {
		return func(c map[string]any) { c["layout_options"].(map[string]any)[k] = v }
	}
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	cases := []struct {
		name  string
		mut   func(map[string]any)
		field string
	}{
		{"jobid chars", set("jobid", "a;b"), "jobid"},
		{"jobid long", set("jobid", strings.Repeat("a", 129)), "jobid"},
		{"project suffix", set("project_path", "/tmp/x.txt"), "project_path"},
		{"project missing", set("project_path", "/no/such/board.aedt"), "project_path"},
		{"utilization 0", node("utilization", 0), "machine_nodes[0].utilization"},
		{"utilization 101", node("utilization", 101), "machine_nodes[0].utilization"},
		{"max_cores 0", node("max_cores", 0), "machine_nodes[0].max_cores"},
		{"hostname empty", node("hostname", ""), "machine_nodes[0].hostname"},
		{"nodes 0", sched("nodes", 0), "scheduler_options.nodes"},
		{"tasks 0", sched("tasks_per_node", 0), "scheduler_options.tasks_per_node"},
		{"cores -1", sched("cores_per_node", -1), "scheduler_options.cores_per_node"},
		{"gpus -1", sched("gpus", -1), "scheduler_options.gpus"},
		{"priority", sched("priority", "Urgent"), "scheduler_options.priority"},
		{"time", sched("time", "1 day"), "scheduler_options.time"},
		{"process priority", layout("default_process_priority", "Realtime"), "layout_options.default_process_priority"},
		{"mpi vendor", layout("mpi_vendor", "MPICH2"), "layout_options.mpi_vendor"},
		{"wrong type int", sched("nodes", "two"), "scheduler_options.nodes"},
		{"wrong type bool", set("non_graphical", "yes"), "non_graphical"},
		{"wrong type list", set("machine_nodes", "localhost"), "machine_nodes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, "POST", "/jobs/submit", e.hfss(tc.mut))
			mustStatus(t, a, 400)
			var rep struct {
				Success bool   `json:"success"`
				Error   string `json:"error"`
			}
			a.json(t, &rep)
			if rep.Success || !strings.Contains(rep.Error, tc.field) {
				t.Errorf("error %q does not name %s", rep.Error, tc.field)
			}
		})
	}
	bodies := []struct {
		name, body string
		status     int
	}{
		{"malformed", `{"config": {`, 400},
		{"not object", `[1,2]`, 400},
		{"empty", ``, 400},
		{"no config", `{"priority": 1}`, 400},
		{"config string", `{"config": "x"}`, 400},
		{"priority string", `{"config": {"command": ["env"]}, "priority": "high"}`, 400},
		{"priority fraction", `{"config": {"command": ["env"]}, "priority": 1.5}`, 400},
	}
	for _, tc := range bodies {
		a := e.do(t, "POST", "/jobs/submit", tc.body)
		if a.status != tc.status || !json.Valid(a.body) {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
		}
	}
	// As curl and other clients do for big bodies, ask first (Expect:
	// 100-continue): the server answers 413 from the headers alone.
	huge := `{"config": {"command": ["env"], "x": "` + strings.Repeat("a", 2<<20) + `"}}`
	a := e.do(t, "POST", "/jobs/submit", huge, "Expect", "100-continue")
	if a.status != 413 || !json.Valid(a.body) {
		t.Errorf("huge body: %d %.200s", a.status, a.body)
	}
	if n, _ := e.m.CountJobs(context.Background(), engine.JobListParams{}); n != 0 {
		t.Errorf("%d jobs stored from bad submissions", n)
	}
}

func TestHFSSJobRunsConfiguredSolver(t *testing.T) {
	e := setup(t, envOpts{})
	t.Setenv("FAKE_SOLVER_RECORD", e.record)
	a := e.do(t, "POST", "/jobs/submit", e.hfss(nil))
	mustStatus(t, a, 200)
	var rep apitype.SubmitReply
	a.json(t, &rep)
	if !strings.Contains(rep.Message, "runs instead") {
		t.Errorf("message %q does not say the client's solver path was replaced", rep.Message)
	}
	if j := e.wait(t, "hfss_1"); j.Status != engine.StatusCompleted {
		t.Fatalf("%s %s", j.Status, j.Error)
	}
	runs, _ := fakesolver.ReadRecord(e.record)
	if len(runs) != 1 || runs[0].Args[len(runs[0].Args)-1] != e.project {
		t.Fatalf("runs %+v", runs)
	}
}

func TestCancelAndPriorityRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	mustStatus(t, e.do(t, "POST", "/jobs/submit", e.command("run", 0, "FAKE_SOLVER_SLEEP=30")), 200)
	mustStatus(t, e.do(t, "POST", "/jobs/submit", e.command("wait", 0)), 200)
	a := e.do(t, "POST", "/jobs/wait/priority", map[string]any{"priority": 4})
	mustStatus(t, a, 200)
	if j, _ := e.m.Job(context.Background(), "wait"); j.Priority != 4 {
		t.Fatalf("priority %d", j.Priority)
	}
	mustStatus(t, e.do(t, "POST", "/jobs/wait/priority", `{"priority": "x"}`), 400)
	mustStatus(t, e.do(t, "POST", "/jobs/wait/priority", `{}`), 400)
	mustStatus(t, e.do(t, "POST", "/jobs/nope/priority", map[string]any{"priority": 1}), 404)
	mustStatus(t, e.do(t, "POST", "/jobs/nope/cancel", nil), 404)
	mustStatus(t, e.do(t, "POST", "/api/cancel/nope", nil), 404)

	a = e.do(t, "POST", "/api/cancel/wait", nil)
	mustStatus(t, a, 200)
	var rep apitype.Reply
	a.json(t, &rep)
	if !rep.Success {
		t.Fatalf("cancel queued: %s", a.body)
	}
	// A finished job's priority: 409, and it is not run again.
	a = e.do(t, "POST", "/jobs/wait/priority", map[string]any{"priority": 9})
	mustStatus(t, a, 409)
	if j, _ := e.m.Job(context.Background(), "wait"); j.Status != engine.StatusCancelled {
		t.Fatalf("after refused priority change: %s", j.Status)
	}
	a = e.do(t, "POST", "/jobs/wait/cancel", nil)
	mustStatus(t, a, 200)
	a.json(t, &rep)
	if rep.Success {
		t.Errorf("cancelling a cancelled job: %s", a.body)
	}
	mustStatus(t, e.do(t, "POST", "/jobs/run/cancel", nil), 200)
	if j := e.wait(t, "run"); j.Status != engine.StatusCancelled {
		t.Fatalf("run: %s", j.Status)
	}
}

func TestLimitsQueueAndSystemRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	a := e.do(t, "PUT", "/pool/limits", map[string]any{"max_concurrent_jobs": 3, "min_disk_gb": 1.5})
	mustStatus(t, a, 200)
	var lr apitype.LimitsReply
	a.json(t, &lr)
	if !lr.Success || lr.Limits.MaxConcurrentJobs != 3 || lr.Limits.MinDiskGB != 1.5 || lr.Limits.MaxCPUPercent != 80 {
		t.Fatalf("limits reply %s", a.body)
	}
	for _, bad := range []string{`{"max_concurrent_jobs": 0}`, `{"max_concurrent_jobs": "3"}`, `{"max_cpu_percent": 150}`, `{"min_memory_gb": -1}`, `{}`, `[]`, `{"max_concurrent_jobs": 2.5}`} {
		a := e.do(t, "PUT", "/pool/limits", bad)
		mustStatus(t, a, 400)
	}
	if got := e.m.Limits().MaxConcurrentJobs; got != 3 {
		t.Fatalf("a refused change altered the limits: %d", got)
	}
	a = e.do(t, "GET", "/queue", nil)
	mustStatus(t, a, 200)
	var q map[string]any
	a.json(t, &q)
	for _, k := range []string{"total_queued", "regular_queue_size", "priority_queues", "running_jobs", "max_concurrent"} {
		if _, ok := q[k]; !ok {
			t.Errorf("queue lacks %s: %s", k, a.body)
		}
	}
	a = e.do(t, "GET", "/api/resources", nil)
	var res map[string]any
	a.json(t, &res)
	for _, k := range []string{"cpu_percent", "memory_percent", "memory_used_gb", "memory_total_gb", "memory_free_gb", "disk_usage_percent", "disk_free_gb", "timestamp"} {
		if _, ok := res[k]; !ok {
			t.Errorf("resources lacks %s: %s", k, a.body)
		}
	}
	a = e.do(t, "GET", "/system/status", nil)
	var st map[string]any
	a.json(t, &st)
	if st["mode"] != "local" || st["scheduler_detection"].(map[string]any)["active_scheduler"] != "none" || st["local_pool"].(map[string]any)["max_concurrent"] != 3.0 {
		t.Errorf("status %s", a.body)
	}
	mustStatus(t, e.do(t, "POST", "/system/start_monitoring", nil), 200)
	mustStatus(t, e.do(t, "GET", "/scheduler/partitions", nil), 400)
	a = e.do(t, "GET", "/api/cluster_partitions", nil)
	if a.status != 200 || strings.TrimSpace(string(a.body)) != "[]" {
		t.Errorf("cluster partitions: %d %s", a.status, a.body)
	}
	a = e.do(t, "GET", "/api/scheduler_type", nil)
	if !strings.Contains(string(a.body), `"none"`) {
		t.Errorf("scheduler type %s", a.body)
	}
	a = e.do(t, "GET", "/api/me", nil)
	if !strings.Contains(string(a.body), `"admin"`) {
		t.Errorf("me %s", a.body)
	}
	mustStatus(t, e.do(t, "GET", "/healthz", nil), 200)
	mustStatus(t, e.do(t, "GET", "/readyz", nil), 200)
	a = e.do(t, "GET", "/metrics", nil)
	for _, want := range []string{`simjobs_jobs{status="queued"}`, "simjobs_queue_depth", "simjobs_dispatch_latency_seconds_bucket", "simjobs_host_cpu_percent", "simjobs_limit_max_concurrent_jobs 3"} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	mustStatus(t, e.do(t, "GET", "/no/such/route", nil), 404)
	mustStatus(t, e.do(t, "POST", "/system/drain", nil), 202)
	<-e.drained
	mustStatus(t, e.do(t, "GET", "/readyz", nil), 503)
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	a := e.do(t, "GET", "/openapi.json", nil)
	mustStatus(t, a, 200)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	a.json(t, &doc)
	want := map[string][]string{
		"/jobs/submit": {"post"}, "/api/submit": {"post"}, "/jobs": {"get"}, "/api/jobs": {"get"}, "/jobs/{id}": {"get"},
		"/jobs/{id}/cancel": {"post"}, "/api/cancel/{id}": {"post"}, "/jobs/{id}/priority": {"post"}, "/jobs/{id}/log": {"get"},
		"/resources": {"get"}, "/api/resources": {"get"}, "/queue": {"get"}, "/api/queue": {"get"}, "/pool/limits": {"put"},
		"/system/status": {"get"}, "/system/start_monitoring": {"post"}, "/system/drain": {"post"}, "/scheduler/partitions": {"get"},
		"/api/cluster_partitions": {"get"}, "/api/scheduler_type": {"get"}, "/api/me": {"get"}, "/healthz": {"get"},
		"/readyz": {"get"}, "/metrics": {"get"}, "/openapi.json": {"get"}, "/ws": {"get"},
	}
	for path, methods := range want {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("openapi lacks %s %s", m, path)
			}
		}
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	tokens := "alice:user:" + sha("alice-secret") + "\nbob:user:" + sha("bob-secret") + "\nroot:admin:" + sha("root-secret") + "\n"
	auth, err := server.ParseTokens(strings.NewReader(tokens))
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, envOpts{auth: auth, roots: true})
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	mustStatus(t, e.do(t, "GET", "/jobs", nil), 401)
	mustStatus(t, e.do(t, "GET", "/jobs", nil, bearer("wrong")...), 401)
	mustStatus(t, e.do(t, "GET", "/healthz", nil), 200)
	mustStatus(t, e.do(t, "GET", "/openapi.json", nil), 200)
	// The body's user is ignored: the job belongs to the token's owner.
	body := e.hfss(func(c map[string]any) { c["user"] = "mallory"; c["jobid"] = "alices" })
	mustStatus(t, e.do(t, "POST", "/jobs/submit", body, bearer("alice-secret")...), 200)
	if j, _ := e.m.Job(context.Background(), "alices"); j.User != "alice" {
		t.Fatalf("job user %q, want alice", j.User)
	}
	mustStatus(t, e.do(t, "POST", "/jobs/alices/cancel", nil, bearer("bob-secret")...), 403)
	mustStatus(t, e.do(t, "PUT", "/pool/limits", map[string]any{"max_concurrent_jobs": 2}, bearer("alice-secret")...), 403)
	mustStatus(t, e.do(t, "PUT", "/pool/limits", map[string]any{"max_concurrent_jobs": 2}, bearer("root-secret")...), 200)
	mustStatus(t, e.do(t, "POST", "/jobs/alices/cancel", nil, bearer("root-secret")...), 200)
	a := e.do(t, "GET", "/api/me", nil, bearer("bob-secret")...)
	if !strings.Contains(string(a.body), `"bob"`) || !strings.Contains(string(a.body), `"user"`) {
		t.Errorf("me: %s", a.body)
	}
	// Project roots hold with auth on.
	outside := filepath.Join(e.dir, "elsewhere.aedt")
	os.WriteFile(outside, []byte("x"), 0o644)
	a = e.do(t, "POST", "/jobs/submit", e.hfss(func(c map[string]any) { c["project_path"] = outside; c["jobid"] = "out" }), bearer("alice-secret")...)
	mustStatus(t, a, 400)
	if !strings.Contains(string(a.body), "project roots") {
		t.Errorf("outside the roots: %s", a.body)
	}
}

func TestProxyAuth(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{auth: server.ProxyAuth{}, roots: true})
	mustStatus(t, e.do(t, "GET", "/jobs", nil), 401)
	a := e.do(t, "GET", "/api/me", nil, "X-Remote-User", "carol")
	mustStatus(t, a, 200)
	if !strings.Contains(string(a.body), `"carol"`) {
		t.Errorf("me %s", a.body)
	}
	mustStatus(t, e.do(t, "PUT", "/pool/limits", map[string]any{"max_concurrent_jobs": 2}, "X-Remote-User", "carol"), 403)
}

func TestParseTokensRejectsBadLines(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "alice:user", "alice:root:" + sha("x"), "alice:user:abc", ":user:" + sha("x")} {
		if _, err := server.ParseTokens(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func sha(s string) string { return fmt.Sprintf("%x", sha256Sum([]byte(s))) }

// A page on another site cannot make a browser change anything here, even
// without authentication (a server on loopback); programs, which send no
// Origin, and our own pages can.
func TestCrossSiteRequestsRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	cases := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"program", nil, 200},
		{"same origin", []string{"Origin", e.url, "Sec-Fetch-Site", "same-origin"}, 200},
		{"other site by fetch metadata", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"other port on this host", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"other site by origin", []string{"Origin", "http://evil.example"}, 403},
	}
	for _, tc := range cases {
		a := e.do(t, "PUT", "/pool/limits", map[string]any{"max_concurrent_jobs": 2}, tc.hdr...)
		if a.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, a.status, a.body, tc.status)
		}
	}
	a := e.do(t, "POST", "/jobs/submit", e.command("csrf", 0), "Origin", "http://evil.example")
	mustStatus(t, a, 403)
	if _, err := e.m.Job(context.Background(), "csrf"); err == nil {
		t.Error("a cross-site submission was stored")
	}
	// Reading is not refused: a cross-site page cannot read the answer.
	mustStatus(t, e.do(t, "GET", "/queue", nil, "Origin", "http://evil.example"), 200)
}
