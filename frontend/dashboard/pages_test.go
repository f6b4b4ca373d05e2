package dashboard_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	projpkg "github.com/simjobs/simjobs/engine/projects"
	"github.com/simjobs/simjobs/server"
)

func TestPages(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.command("done_1", "", solver("done_1")...)
	h.wait("done_1")
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"<h1>Overview</h1>", `id="ov-counts"`, `id="ov-queue"`, `id="ov-running"`, `id="ov-host"`, "<svg", "polyline", "this host (local)", `ws-connect="/ui/live?page=overview"`, `id="live-seq"`}},
		{"/ui/jobs", 200, []string{"<h1>Jobs</h1>", `id="row-done_1"`, "completed", `name="q"`, `id="select-all"`, `ws-connect="/ui/live?first=1&amp;page=jobs"`}},
		{"/ui/jobs?status=failed", 200, []string{"No jobs match."}},
		{"/ui/jobs?status=bogus", 400, []string{"unknown status"}},
		{"/ui/jobs?q=done", 200, []string{`id="row-done_1"`}},
		{"/ui/jobs?q=zzz", 200, []string{"No jobs match."}},
		{"/ui/jobs/done_1", 200, []string{"done_1", "Timeline", "Batch Solve/Save: Completed", "end of log: completed, exit code 0", `id="log-offset"`, "Resubmit", "Configuration"}},
		{"/ui/jobs/nope", 404, []string{"No such job"}},
		{"/ui/submit", 200, []string{`name="project_path"`, `name="machine_nodes[0].utilization"`, `value="90"`, `name="layout_options.mpi_vendor"`, `name="scheduler_options.time"`, `value="24:00:00"`, "<details", "Plain command", "Batch folder"}},
		{"/ui/submit?tab=command", 200, []string{`name="command"`, `name="working_directory"`}},
		{"/ui/submit?tab=batch", 200, []string{`name="folder"`, `name="recursive"`, "Preview"}},
		{"/ui/submit/browse?dir=" + url.QueryEscape(filepath.Dir(h.project)), 200, []string{"board.aedt", `data-pick=`}},
		{"/ui/settings", 200, []string{`name="max_concurrent_jobs"`, `value="1"`, `id="settings-current"`, `id="backup-form"`}},
		{"/ui/cluster", 200, []string{"runs jobs locally"}},
		{"/ui/login", 303, nil}, // no login without token auth
		{"/static/app.js", 200, []string{"htmx", "createWebSocket"}},
		{"/static/app.css", 200, []string{"prefers-color-scheme: dark"}},
		{"/ui/live", 426, nil},
		{"/jobs/done_1", 200, []string{`"status":"completed"`}}, // the API is untouched
	} {
		t.Run(strings.ReplaceAll(tc.path, "/", "_"), func(t *testing.T) {
			a := h.get(tc.path)
			mustStatus(t, a, tc.status)
			for _, w := range tc.want {
				if !strings.Contains(a.body, w) {
					t.Errorf("%s lacks %q", tc.path, w)
				}
			}
		})
	}
}

// A job's user, project path, error and log are not ours: whatever they
// hold is shown as text, never run as markup.
func TestHostileTextIsEscaped(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	const evil = `<script>alert("x")</script>`
	dir := filepath.Join(h.dir, `<img src=x onerror=alert(1)>`)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(dir, "<script>b.aedt")
	if err := os.WriteFile(proj, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A command job whose user and output are hostile, and an HFSS job
	// whose path is.
	h.command("evil_1", evil, "printf", evil+"\n")
	h.wait("evil_1")
	h.submit(map[string]any{"project_path": proj, "jobid": "evil_2", "user": evil}, 0)
	h.wait("evil_2")

	for _, path := range []string{"/", "/ui/jobs", "/ui/jobs?q=" + url.QueryEscape(evil), "/ui/jobs/evil_1", "/ui/jobs/evil_2",
		"/ui/jobs/" + url.PathEscape(evil), "/ui/submit/browse?dir=" + url.QueryEscape(dir), "/ui/jobs?user=" + url.QueryEscape(evil)} {
		a := h.get(path)
		for _, bad := range []string{"<script>alert", "<img src=x", "<script>b.aedt"} {
			if strings.Contains(a.body, bad) {
				t.Errorf("%s shows %q unescaped", path, bad)
			}
		}
	}
	if a := h.get("/ui/jobs/evil_1"); !strings.Contains(a.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("the log text is not shown escaped: %.3000s", a.body)
	}
	if a := h.get("/ui/jobs/" + url.PathEscape(evil)); a.status != 404 || !strings.Contains(a.body, "&lt;script&gt;") {
		t.Errorf("unknown hostile id: %d %.500s", a.status, a.body)
	}
	// A form shown again echoes what was typed, escaped.
	a := h.post("/ui/submit", url.Values{"project_path": {evil + ".aedt"}, "design_name": {evil}})
	mustStatus(t, a, 400)
	if strings.Contains(a.body, "<script>alert") {
		t.Errorf("submit form echoes markup: %.3000s", a.body)
	}
}

func TestSubmitForm(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	form := func(mut func(url.Values)) url.Values {
		v := url.Values{"project_path": {h.project}, "priority": {"3"}, "nodes": {"1"}, "jobid": {"form_1"},
			"machine_nodes[0].hostname": {"localhost"}, "machine_nodes[0].cores": {"-1"}, "machine_nodes[0].max_cores": {"20"},
			"machine_nodes[0].utilization": {"90"}, "distributed": {"on"}, "non_graphical": {"on"}, "monitor": {"on"},
			"solver": {"Hfss3DLayout"}, "scheduler_options.time": {"01:00:00"}, "scheduler_options.nodes": {"1"},
			"scheduler_options.tasks_per_node": {"1"}, "scheduler_options.cores_per_node": {"0"}, "scheduler_options.gpus": {"0"},
			"scheduler_options.priority": {"Normal"}, "layout_options.mpi_vendor": {"Intel"}, "layout_options.default_process_priority": {"Normal"}}
		if mut != nil {
			mut(v)
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		mut   func(url.Values)
		field string // the input whose error shows, "" for success
	}{
		{"utilization out of range", func(v url.Values) { v.Set("machine_nodes[0].utilization", "150") }, "machine_nodes[0].utilization"},
		{"not a number", func(v url.Values) { v.Set("machine_nodes[0].max_cores", "many") }, "machine_nodes[0].max_cores"},
		{"missing project", func(v url.Values) { v.Set("project_path", "/no/such/board.aedt") }, "project_path"},
		{"bad wall time", func(v url.Values) { v.Set("scheduler_options.time", "soon") }, "scheduler_options.time"},
		{"bad job id", func(v url.Values) { v.Set("jobid", "a b") }, "jobid"},
		{"bad priority", func(v url.Values) { v.Set("priority", "high") }, "priority"},
		{"webhook to the metadata address", func(v url.Values) { v.Set("notify_webhook", "http://169.254.169.254/") }, "notify_webhook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := h.post("/ui/submit", form(tc.mut))
			mustStatus(t, a, 400)
			if !strings.Contains(a.body, `id="`+tc.field+`-error"`) || !strings.Contains(a.body, `aria-invalid`) {
				t.Errorf("no inline error for %s: %.4000s", tc.field, a.body)
			}
			// htmx gets the form alone, to swap in place.
			a = h.post("/ui/submit", form(tc.mut), "HX-Request", "true")
			mustStatus(t, a, 200)
			if strings.Contains(a.body, "<html") || !strings.Contains(a.body, `id="hfss-form"`) {
				t.Errorf("htmx answer is not the form fragment: %.300s", a.body)
			}
		})
	}
	// Every mistake at once: one that the form itself catches (not a
	// number), those of the config, and the project missing on this host.
	a := h.post("/ui/submit", form(func(v url.Values) {
		v.Set("machine_nodes[0].max_cores", "many")
		v.Set("machine_nodes[0].utilization", "150")
		v.Set("scheduler_options.time", "soon")
		v.Set("jobid", "a b")
		v.Set("project_path", "/no/such/board.aedt")
	}))
	mustStatus(t, a, 400)
	for _, f := range []string{"machine_nodes[0].max_cores", "machine_nodes[0].utilization", "scheduler_options.time", "jobid", "project_path"} {
		if !strings.Contains(a.body, `id="`+f+`-error"`) {
			t.Errorf("five mistakes at once: no error shown for %s", f)
		}
	}
	if !strings.Contains(a.body, "Please correct the 5 fields marked below.") {
		t.Errorf("the form does not say how many fields to correct: %s", between(a.body, `id="form-error"`, "</p>"))
	}
	a = h.post("/ui/submit", form(func(v url.Values) { v.Set("notify_webhook", "https://hooks.example.com/T0/B0") }))
	mustStatus(t, a, 303)
	if loc := a.header.Get("Location"); !strings.HasPrefix(loc, "/ui/jobs/form_1?notice=") {
		t.Fatalf("redirect to %q", loc)
	}
	job := h.wait("form_1")
	if job.Priority != 3 || job.Status != engine.StatusCompleted {
		t.Errorf("job %+v", job)
	}
	a = h.post("/ui/submit", form(func(v url.Values) { v.Set("jobid", "form_2") }), "HX-Request", "true")
	if a.status != 204 || !strings.HasPrefix(a.header.Get("HX-Redirect"), "/ui/jobs/form_2") {
		t.Errorf("htmx success: %d %v", a.status, a.header)
	}
	// Adding a machine shows its inputs, filled with the defaults.
	a = h.post("/ui/submit", form(func(v url.Values) { v.Set("action", "add_node") }))
	mustStatus(t, a, 200)
	if !strings.Contains(a.body, `name="machine_nodes[1].hostname" value="localhost"`) {
		t.Errorf("no second machine: %.3000s", a.body)
	}
	// Without the CSRF token nothing is submitted, and the page says why:
	// a whole page to a plain form post, a message to htmx.
	a = h.do("POST", "/ui/submit", form(func(v url.Values) { v.Set("jobid", "form_3") }))
	mustStatus(t, a, 403)
	if !strings.Contains(a.body, "<h1>Refused</h1>") || !strings.Contains(a.body, "missing or wrong CSRF token: reload the page") {
		t.Errorf("refusal page: %.2000s", a.body)
	}
	a = h.do("POST", "/ui/submit", form(func(v url.Values) { v.Set("jobid", "form_3") }), "HX-Request", "true")
	mustStatus(t, a, 403)
	if strings.Contains(a.body, "<html") || !strings.Contains(a.body, `<p class="msg error" role="alert">Refused: missing or wrong CSRF token`) {
		t.Errorf("refusal to htmx: %.2000s", a.body)
	}
	a = h.post("/ui/submit", form(func(v url.Values) { v.Set("jobid", "form_3") }), "Sec-Fetch-Site", "cross-site")
	mustStatus(t, a, 403)
	if !strings.Contains(a.body, "cross-site request refused") {
		t.Errorf("cross-site refusal: %.2000s", a.body)
	}
	if _, err := h.m.Job(context.Background(), "form_3"); err == nil {
		t.Error("a refused form submitted its job")
	}
}

func TestCommandAndBatchTabs(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	a := h.post("/ui/submit/command", url.Values{"command": {"rm\n-rf\n/"}, "priority": {"0"}})
	mustStatus(t, a, 400)
	if !strings.Contains(a.body, `id="command-error"`) || !strings.Contains(a.body, "allow-list") {
		t.Errorf("no inline allow-list error: %.3000s", a.body)
	}
	a = h.post("/ui/submit/command", url.Values{"command": {h.envExe + "\ntrue"}, "jobid": {"cmd_1"}, "priority": {"0"}})
	mustStatus(t, a, 303)
	h.wait("cmd_1")

	batch := filepath.Join(h.dir, "batch")
	for _, p := range []string{"a.aedt", "a.aedb/x", "b.aedb/x", "sub/c.aedt", "notes.txt"} {
		os.MkdirAll(filepath.Dir(filepath.Join(batch, p)), 0o755)
		os.WriteFile(filepath.Join(batch, p), nil, 0o644)
	}
	a = h.post("/ui/submit/batch", url.Values{"folder": {batch}, "recursive": {"on"}, "action": {"preview"}, "priority": {"0"}})
	mustStatus(t, a, 200)
	for _, want := range []string{"a.aedt", "b.aedb", "sub/c.aedt", "Submit 3 jobs"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(a.body, "notes.txt") || strings.Contains(a.body, "a.aedb<") {
		t.Errorf("preview lists what is not a project")
	}
	// Submit two of the three.
	a = h.post("/ui/submit/batch", url.Values{"folder": {batch}, "recursive": {"on"}, "action": {"submit"}, "priority": {"2"},
		"project": {filepath.Join(batch, "a.aedt"), filepath.Join(batch, "sub", "c.aedt")}})
	mustStatus(t, a, 200)
	jobs, err := h.m.Jobs(context.Background(), engine.JobListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var projects []string
	for _, j := range jobs {
		if j.Kind == engine.KindHFSS {
			projects = append(projects, strings.TrimPrefix(projectOf(j), batch))
		}
	}
	if diff := cmp.Diff([]string{"/a.aedt", "/sub/c.aedt"}, projects); diff != "" {
		t.Errorf("batch submitted (-want +got):\n%s", diff)
	}
	// Cores, design, setup and time apply to every job; the ids come from
	// the projects, so the same folder again is the same jobs, not copies.
	settings := url.Values{"folder": {batch}, "action": {"submit"}, "priority": {"0"}, "cores": {"4"}, "design_name": {"main"},
		"setup_name": {"Setup2"}, "time": {"2:00:00"}, "project": {filepath.Join(batch, "a.aedt")}}
	a = h.post("/ui/submit/batch", settings)
	mustStatus(t, a, 200)
	id := projpkg.JobID(filepath.Join(batch, "a.aedt"), "main", "Setup2")
	j := h.wait(id)
	var cfg struct {
		Design string `json:"design_name"`
		Setup  string `json:"setup_name"`
		Nodes  []struct {
			Cores int `json:"cores"`
		} `json:"machine_nodes"`
		Sched struct {
			Time string `json:"time"`
		} `json:"scheduler_options"`
	}
	if err := json.Unmarshal(j.Config, &cfg); err != nil || cfg.Design != "main" || cfg.Setup != "Setup2" || cfg.Sched.Time != "2:00:00" || len(cfg.Nodes) != 1 || cfg.Nodes[0].Cores != 4 {
		t.Errorf("batch settings not applied: %s (%v)", j.Config, err)
	}
	a = h.post("/ui/submit/batch", settings)
	mustStatus(t, a, 200)
	if again := h.wait(id); again.Attempt != 2 {
		t.Errorf("the same folder again: attempt %d of %s, want 2", again.Attempt, id)
	}
	if n, _ := h.m.CountJobs(context.Background(), engine.JobListParams{}); n != len(jobs)+1 {
		t.Errorf("%d jobs after submitting the same project twice, want %d", n, len(jobs)+1)
	}
	a = h.post("/ui/submit/batch", url.Values{"folder": {batch}, "action": {"submit"}, "cores": {"many"}, "project": {filepath.Join(batch, "a.aedt")}})
	mustStatus(t, a, 400)
	a = h.post("/ui/submit/batch", url.Values{"folder": {filepath.Join(h.dir, "nope")}, "action": {"preview"}})
	mustStatus(t, a, 400)
}

func TestSettingsForm(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	for _, tc := range []struct {
		field, value string
	}{
		{"max_concurrent_jobs", "0"},
		{"max_concurrent_jobs", "two"},
		{"max_cpu_percent", "150"},
		{"min_memory_gb", "-1"},
	} {
		v := url.Values{"max_concurrent_jobs": {"2"}, "max_cpu_percent": {"90"}, "min_memory_gb": {"1"}, "min_disk_gb": {"1"}}
		v.Set(tc.field, tc.value)
		a := h.post("/ui/settings", v)
		mustStatus(t, a, 400)
		if !strings.Contains(a.body, `id="`+tc.field+`-error"`) {
			t.Errorf("%s=%s: no inline error", tc.field, tc.value)
		}
	}
	if got := h.m.Limits(); got != engine.DefaultLimits() {
		t.Errorf("a refused form changed the limits: %+v", got)
	}
	a := h.post("/ui/settings", url.Values{"max_concurrent_jobs": {"3"}, "max_cpu_percent": {"90"}, "min_memory_gb": {"1.5"}, "min_disk_gb": {"1"}})
	mustStatus(t, a, 303)
	want := engine.Limits{MaxConcurrentJobs: 3, MaxCPUPercent: 90, MinMemoryGB: 1.5, MinDiskGB: 1}
	if diff := cmp.Diff(want, h.m.Limits()); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	// The change is in the page's audit trail, with who made it.
	page := h.get("/ui/settings")
	if !strings.Contains(page.body, `id="settings-audit"`) || !strings.Contains(page.body, "max_concurrent_jobs 1 → 3") || !strings.Contains(page.body, "<td>local</td>") {
		t.Errorf("settings page lacks the audited change: %.3000s", page.body)
	}
}

func TestJobActions(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	h.command("run_1", "", solver("run_1", "FAKE_SOLVER_SLEEP=30")...)
	h.command("wait_1", "", "true")
	h.waitStatus("run_1", engine.StatusRunning)

	a := h.post("/ui/jobs/wait_1/priority", url.Values{"priority": {"9"}}, "HX-Request", "true")
	mustStatus(t, a, 200)
	if j, _ := h.m.Job(context.Background(), "wait_1"); j.Priority != 9 {
		t.Errorf("priority %d", j.Priority)
	}
	a = h.post("/ui/jobs/run_1/priority", url.Values{"priority": {"9"}}, "HX-Request", "true")
	if !strings.Contains(a.body, "only a queued job") {
		t.Errorf("priority of a running job: %s", a.body)
	}
	a = h.post("/ui/jobs/run_1/cancel", nil)
	mustStatus(t, a, 303)
	if j := h.wait("run_1"); j.Status != engine.StatusCancelled {
		t.Errorf("after cancel: %s", j.Status)
	}
	// The timeline names who did what: the priority change, the cancel.
	tl := h.get("/ui/jobs/wait_1").body
	if !strings.Contains(tl, "priority changed from 0 to 9") || !strings.Contains(tl, `<span class="actor muted">local</span>`) {
		t.Errorf("wait_1's timeline lacks the priority change by local: %.4000s", tl)
	}
	h.wait("wait_1")
	a = h.post("/ui/jobs/wait_1/resubmit", nil)
	mustStatus(t, a, 303)
	if j := h.wait("wait_1"); j.Attempt != 2 {
		t.Errorf("resubmit made attempt %d", j.Attempt)
	}
	// Bulk cancel.
	h.command("bulk_1", "", solver("bulk_1", "FAKE_SOLVER_SLEEP=30")...)
	h.command("bulk_2", "", "true")
	h.waitStatus("bulk_1", engine.StatusRunning)
	a = h.post("/ui/jobs/cancel", url.Values{"id": {"bulk_1", "bulk_2", "nope"}}, "HX-Request", "true")
	mustStatus(t, a, 200)
	if !strings.Contains(a.body, "nope: no such job") {
		t.Errorf("bulk answer %s", a.body)
	}
	for _, id := range []string{"bulk_1", "bulk_2"} {
		if j := h.wait(id); j.Status != engine.StatusCancelled {
			t.Errorf("%s %s", id, j.Status)
		}
	}
	a = h.do("POST", "/ui/jobs/cancel", url.Values{"id": {"x"}})
	mustStatus(t, a, 403)
}

func TestKeysetPaging(t *testing.T) {
	t.Parallel()
	h := start(t, opts{limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100, MinMemoryGB: 0, MinDiskGB: 0}})
	// Hold the slot so the rest stay queued and cheap.
	h.command("p000", "", solver("p000", "FAKE_SOLVER_SLEEP=30")...)
	for i := 1; i < 120; i++ {
		id := "p" + pad3(i)
		h.command(id, "", "true")
	}
	a := h.get("/ui/jobs")
	first := rowIDs(a.body)
	if len(first) != 50 || first[0] != "p119" || first[49] != "p070" {
		t.Fatalf("first page %v", first)
	}
	next := link(a.body, "next")
	a = h.get(next)
	second := rowIDs(a.body)
	if len(second) != 50 || second[0] != "p069" {
		t.Fatalf("second page %v", second)
	}
	prev := link(a.body, "prev")
	a = h.get(prev)
	if diff := cmp.Diff(first, rowIDs(a.body)); diff != "" {
		t.Errorf("back to the first page (-want +got):\n%s", diff)
	}
	a = h.get("/ui/jobs?order=oldest")
	if ids := rowIDs(a.body); ids[0] != "p000" {
		t.Errorf("oldest first starts with %v", ids[0])
	}
	h.m.Cancel(context.Background(), "p000", "test")
}

// Browsers with token authentication log in once and then hold a session
// cookie; their state-changing requests need the CSRF token; API clients
// keep using Bearer tokens.
func TestLoginSessionAndCSRF(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token"
	sum := sha256Hex(token)
	auth, err := server.ParseTokens(strings.NewReader("alice:admin:" + sum + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, opts{auth: auth})
	a := h.get("/ui/jobs?q=x")
	mustStatus(t, a, 303)
	if loc := a.header.Get("Location"); loc != "/ui/login?next=%2Fui%2Fjobs%3Fq%3Dx" {
		t.Fatalf("redirect to %q", loc)
	}
	mustStatus(t, h.get("/ui/login"), 200)
	a = h.do("POST", "/ui/login", url.Values{"token": {"wrong"}, "next": {"/ui/jobs"}})
	mustStatus(t, a, 401)
	a = h.do("POST", "/ui/login", url.Values{"token": {token}, "next": {"//evil.example/"}})
	mustStatus(t, a, 303)
	if loc := a.header.Get("Location"); loc != "/" {
		t.Errorf("open redirect to %q", loc)
	}
	var cookie string
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, server.SessionCookie+"=") {
			cookie = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	session := strings.TrimPrefix(strings.SplitN(cookie, ";", 2)[0], server.SessionCookie+"=")
	withSession := func(method, path string, form url.Values, hdr ...string) answer {
		return h.do(method, path, form, append([]string{"Cookie", server.SessionCookie + "=" + session}, hdr...)...)
	}
	a = withSession("GET", "/ui/settings", nil)
	mustStatus(t, a, 200)
	tok := between(a.body, `name="_csrf" value="`, `"`)
	if tok == "" || tok == csrf || !strings.Contains(a.body, "alice") {
		t.Fatalf("settings page: csrf %q", tok)
	}
	// The session works for the API too, and guards what it changes.
	mustStatus(t, withSession("GET", "/api/me", nil), 200)
	mustStatus(t, withSession("POST", "/ui/settings", url.Values{"max_concurrent_jobs": {"2"}, "max_cpu_percent": {"80"}, "min_memory_gb": {"2"}, "min_disk_gb": {"2"}}), 403)
	mustStatus(t, withSession("POST", "/ui/settings", url.Values{"_csrf": {csrf}, "max_concurrent_jobs": {"2"}, "max_cpu_percent": {"80"}, "min_memory_gb": {"2"}, "min_disk_gb": {"2"}}), 403)
	mustStatus(t, withSession("PUT", "/pool/limits", nil), 403)
	mustStatus(t, withSession("POST", "/ui/settings", url.Values{"_csrf": {tok}, "max_concurrent_jobs": {"2"}, "max_cpu_percent": {"80"}, "min_memory_gb": {"2"}, "min_disk_gb": {"2"}}), 303)
	if h.m.Limits().MaxConcurrentJobs != 2 {
		t.Error("limits not changed")
	}
	// Bearer tokens are unchanged; no token, no API.
	mustStatus(t, h.do("GET", "/api/me", nil, "Authorization", "Bearer "+token), 200)
	mustStatus(t, h.do("GET", "/api/me", nil), 401)
	mustStatus(t, h.do("GET", "/ui/live", nil, "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), 401)
	// Logging out ends the session.
	mustStatus(t, withSession("POST", "/ui/logout", url.Values{"_csrf": {tok}}), 303)
	mustStatus(t, withSession("GET", "/ui/settings", nil), 303)
	if h.sessions.Len() != 0 {
		t.Errorf("%d sessions left", h.sessions.Len())
	}
}

// The settings page's backup button downloads a database copy.
func TestSettingsBackup(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	a := h.post("/system/backup", nil)
	mustStatus(t, a, 200)
	if a.header.Get("Content-Type") != "application/vnd.sqlite3" || !strings.HasPrefix(a.body, "SQLite format 3\x00") {
		t.Errorf("backup answered %q, %d bytes starting %q", a.header.Get("Content-Type"), len(a.body), a.body[:min(16, len(a.body))])
	}
}
