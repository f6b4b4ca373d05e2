package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/server/servertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// cliRun runs one command in-process, as main does.
type cliRun struct {
	t     *testing.T
	env   map[string]string
	stdin string
	ctx   context.Context
}

type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliRun) run(args ...string) cliResult {
	r.t.Helper()
	ctx := r.ctx
	if ctx == nil {
		c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		ctx = c
	}
	var out, errOut bytes.Buffer
	env := func(k string) (string, bool) { v, ok := r.env[k]; return v, ok }
	code := run(ctx, args, env, strings.NewReader(r.stdin), &out, &errOut)
	return cliResult{code, out.String(), errOut.String()}
}

var (
	stampRE    = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	durationRE = regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s)\b|\b\d+m\d\ds\b`)
	spacesRE   = regexp.MustCompile(`[ \t]+`)
)

// norm makes output comparable: times and durations become T and D, runs
// of blanks (table padding) one space.
func norm(s string) string {
	s = stampRE.ReplaceAllString(s, "T")
	s = durationRE.ReplaceAllString(s, "D")
	return spacesRE.ReplaceAllString(s, " ")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// step is one command and what it must print and return.
type step struct {
	args       []string
	stdin      string
	code       int
	stdout     string // normalised; exact unless contains is set
	contains   bool   // stdout (normalised) must contain it
	anyOrder   bool   // stdout's lines may come in any order (jobs that end together)
	stderrHas  string
	before     func()
	checkAfter func(t *testing.T, r cliResult)
}

func runSteps(t *testing.T, env map[string]string, steps []step) {
	t.Helper()
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		r := cliRun{t: t, env: env, stdin: s.stdin}.run(s.args...)
		name := strings.Join(s.args, " ")
		if r.code != s.code {
			t.Errorf("simjobs %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, r.code, s.code, r.stdout, r.stderr)
			continue
		}
		got, want := norm(r.stdout), s.stdout
		if s.anyOrder {
			got, want = sortedLines(got), sortedLines(want)
		}
		switch {
		case s.contains && !strings.Contains(got, s.stdout):
			t.Errorf("simjobs %s: stdout lacks %q:\n%s", name, s.stdout, got)
		case !s.contains && s.stdout != "-" && got != want:
			t.Errorf("simjobs %s: stdout (-want +got):\n%s", name, cmp.Diff(want, got))
		}
		if s.stderrHas != "" && !strings.Contains(r.stderr, s.stderrHas) {
			t.Errorf("simjobs %s: stderr lacks %q:\n%s", name, s.stderrHas, r.stderr)
		}
		if s.checkAfter != nil {
			s.checkAfter(t, r)
		}
	}
}

func sortedLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "")
}

func TestCLIAgainstServer(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	env := map[string]string{"SIMJOBS_SERVER": srv.URL}
	dir := t.TempDir()

	// A config file as PyEDB writes it, wrapped in a submit body.
	body, _ := json.Marshal(map[string]any{"config": srv.HFSS("h2"), "priority": 2})
	cfgFile := filepath.Join(dir, "h2.json")
	writeFile(t, cfgFile, string(body))
	plain, _ := json.Marshal(srv.HFSS("h3"))

	idle, busy := host.IdleSample(), host.IdleSample()
	zone := time.Now().Format("MST") // the CLI names the zone of its times
	busy.CPUPercent = 99
	runSteps(t, env, []step{
		{args: []string{"submit", "--project", srv.Project, "--jobid", "h1", "--cores", "4", "--design", "main"}, stdout: "Job h1 submitted successfully\n",
			checkAfter: func(t *testing.T, _ cliResult) {
				j, err := srv.Manager.Job(context.Background(), "h1")
				if err != nil {
					t.Fatal(err)
				}
				var cfg map[string]any
				json.Unmarshal(j.Config, &cfg)
				node := cfg["machine_nodes"].([]any)[0].(map[string]any)
				if node["cores"] != 4.0 || node["max_cores"] != 4.0 || cfg["design_name"] != "main" || cfg["project_path"] != srv.Project {
					t.Errorf("config from flags: %v", cfg)
				}
			}},
		{args: []string{"submit", cfgFile, "--quiet"}, stdout: "h2\n",
			checkAfter: func(t *testing.T, _ cliResult) {
				if j, _ := srv.Manager.Job(context.Background(), "h2"); j.Priority != 2 {
					t.Errorf("priority from the file: %d", j.Priority)
				}
			}},
		{args: []string{"submit", "-", "--json", "--priority", "-1"}, stdin: string(plain), stdout: `"job_id": "h3"`, contains: true},
		// A line as each job ends: h2's higher priority may run it before h1.
		{args: []string{"wait", "h1", "h2", "h3"}, anyOrder: true, stdout: "h1 completed after D (exit 0)\nh2 completed after D (exit 0)\nh3 completed after D (exit 0)\n",
			checkAfter: func(t *testing.T, r cliResult) {
				// Ends print as they happen; sort to compare.
				lines := strings.Split(strings.TrimSpace(norm(r.stdout)), "\n")
				sort.Strings(lines)
				if len(lines) != 3 {
					t.Errorf("wait printed %q", r.stdout)
				}
			}},
		{args: []string{"jobs"}, stdout: "ID STATUS PRIO USER SUBMITTED (" + zone + ") TIME EXIT WAITING WHAT\n" +
			"h1 completed 0 tester T D 0 - " + srv.Project + "\n" +
			"h2 completed 2 tester T D 0 - " + srv.Project + "\n" +
			"h3 completed -1 tester T D 0 - " + srv.Project + "\n"},
		{args: []string{"jobs", "--limit", "2", "--ids"}, stdout: "h2\nh3\n"},
		{args: []string{"jobs", "--status", "completed", "--json"}, stdout: "-", checkAfter: func(t *testing.T, r cliResult) {
			var jobs []engine.Job
			if err := json.Unmarshal([]byte(r.stdout), &jobs); err != nil || len(jobs) != 3 {
				t.Errorf("jobs --json: %v %q", err, r.stdout)
			}
		}},
		{args: []string{"jobs", "--status", "failed"}, stdout: "", stderrHas: "no jobs"},
		{before: func() { waitProgress(t, srv, "h2", solverlog.StateCompleted) },
			args: []string{"status", "h2"}, stdout: "id: h2\nstatus: completed\nexit code: 0\nuser: tester\npriority: 2\nattempt: 1\n" +
				"submitted: T " + zone + "\nstarted: T " + zone + "\nended: T " + zone + "\nrun time: D\nruns: " + srv.Project + "\nprogress: completed: 2 adaptive passes, not converged\n"},
		{args: []string{"status", "nope"}, code: exitNotFound, stdout: "", stderrHas: "simjobs status: job nope: job not found"},
		{args: []string{"cancel", "h1"}, code: exitError, stdout: "Job h1 already completed; nothing to cancel\n"},
		{args: []string{"priority", "h1", "5"}, code: exitRejected, stdout: "", stderrHas: "refused: job h1: job h1 already completed; its priority can no longer change"},
		// A failed job is exit 7 whatever its own code (a solver's 3 is not
		// "server unreachable"); --exit-code passes its own code on.
		{args: []string{"submit", "--jobid", "c3", "--wait", "--", srv.Env, "FAKE_SOLVER_EXIT=3", srv.Solver}, code: exitJobFailed,
			stdout: "Job c3 submitted successfully\nc3 failed after D: exit code 3\n"},
		{args: []string{"wait", "c3"}, code: exitJobFailed, stdout: "c3 failed after D: exit code 3\n"},
		{args: []string{"wait", "c3", "--exit-code"}, code: 3, stdout: "c3 failed after D: exit code 3\n"},
		{args: []string{"submit", "--jobid", "c7", "--wait", "--exit-code", "--", srv.Env, "FAKE_SOLVER_EXIT=7", srv.Solver}, code: 7,
			stdout: "Job c7 submitted successfully\nc7 failed after D: exit code 7\n"},
		// The progress line says what the solver's log says.
		{args: []string{"submit", "--jobid", "p1", "--wait", "--", srv.Env, fakesolver.EnvScript + "=" + fakesolver.HFSSLog(), fakesolver.EnvLineSleep + "=0.03", srv.Solver},
			stdout: "Job p1 submitted successfully\np1 completed after D (exit 0)\n", stderrHas: "p1 running: adaptive pass "},
		{before: func() { waitProgress(t, srv, "p1", solverlog.StateCompleted) },
			args: []string{"status", "p1"}, stdout: "progress: completed: converged at pass 5 (max ΔS 0.0119), 6 frequencies solved; 3 warnings\n", contains: true},
		{args: []string{"submit", "--project", filepath.Join(dir, "missing.aedt")}, code: exitRejected, stdout: "", stderrHas: "refused: project_path"},
		{args: []string{"limits"}, stdout: "max_concurrent_jobs 1\nmax_cpu_percent 80\nmin_memory_gb 2\nmin_disk_gb 2\n"},
		{args: []string{"limits", "--max-concurrent", "2", "--min-disk-gb", "0.5"}, stdout: "max_concurrent_jobs 2\nmax_cpu_percent 80\nmin_memory_gb 2\nmin_disk_gb 0.5\n", stderrHas: "Limits updated"},
		{args: []string{"limits", "--max-concurrent", "0"}, code: exitRejected, stdout: "", stderrHas: "max_concurrent_jobs"},
		// A job that cannot start: wait gives up after --timeout, and a
		// cancelled job ends a wait with 130.
		{before: func() { srv.SetTelemetry(busy) }, args: []string{"submit", "--jobid", "stuck", "--", srv.Env, srv.Solver}, stdout: "Job stuck submitted successfully\n"},
		// It says why it waits, and where in the queue.
		{args: []string{"status", "stuck"}, stdout: "waiting: next in the queue · CPU", contains: true},
		{args: []string{"jobs", "--status", "queued"}, stdout: "stuck queued 0 tester T - - next in the queue · CPU", contains: true},
		{args: []string{"wait", "stuck", "--timeout", "300ms"}, code: exitTimeout, stdout: "", stderrHas: "timed out after 300ms; job stuck keeps running"},
		{args: []string{"cancel", "stuck"}, stdout: "Job stuck cancelled\n"},
		{args: []string{"wait", "stuck"}, code: exitCancelled, stdout: "stuck cancelled: cancelled while queued\n"},
		{before: func() { srv.SetTelemetry(idle) }, args: []string{"wait", "--all"}, stdout: "", stderrHas: "no job is waiting or running"},
	})
}

// waitProgress waits until a job's stored progress is in phase want.
func waitProgress(t *testing.T, srv *servertest.Server, id string, want solverlog.State) {
	t.Helper()
	sub := srv.Manager.Events().Subscribe(-1, 1024)
	defer sub.Close()
	enginetest.WaitOn(t, sub.C, func() error {
		j, err := srv.Manager.Job(context.Background(), id)
		var p solverlog.Progress
		if err != nil || json.Unmarshal(j.Progress, &p) != nil || p.Phase != want {
			return fmt.Errorf("job %s: progress %s, want phase %s (%v)", id, j.Progress, want, err)
		}
		return nil
	})
}

func TestCLIUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args      []string
		code      int
		stderrHas string
	}{
		{[]string{"submit"}, exitUsage, "give a config file (or - for stdin), --project PATH, or -- COMMAND"},
		{[]string{"submit", "a.json", "--project", "x.aedt"}, exitUsage, "give only one of"},
		{[]string{"submit", "--"}, exitUsage, "give the command after --"},
		{[]string{"status"}, exitUsage, "status takes one job ID"},
		{[]string{"status", "a", "b"}, exitUsage, "status takes one job ID"},
		{[]string{"jobs", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"jobs", "--server", "ftp://x"}, exitUsage, "--server"},
		{[]string{"wait"}, exitUsage, "wait takes job IDs, or --all"},
		{[]string{"wait", "a", "--all"}, exitUsage, "wait takes job IDs, or --all"},
		{[]string{"priority", "a", "high"}, exitUsage, `priority "high" is not an integer`},
		{[]string{"batch"}, exitUsage, "batch takes one folder"},
		{[]string{"completion", "tcsh"}, exitUsage, "unknown shell"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"jobs", "-h"}, exitOK, "Usage: simjobs jobs [flags]"},
	} {
		r := cliRun{t: t}.run(tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderrHas) {
			t.Errorf("simjobs %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.stderrHas)
		}
	}
	if r := (cliRun{t: t}).run("help"); r.code != 0 || !strings.Contains(r.stdout, "124  wait --timeout expired") || !strings.Contains(r.stdout, "simjobs batch") {
		t.Errorf("help: %d %q", r.code, r.stdout)
	}
}

func TestCLIAuthErrors(t *testing.T) {
	t.Parallel()
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	auth, err := server.ParseTokens(strings.NewReader("root:admin:" + sum("admin-tok") + "\nbob:user:" + sum("bob-tok") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, servertest.Options{Auth: auth})
	runSteps(t, map[string]string{"SIMJOBS_SERVER": srv.URL}, []step{
		{args: []string{"jobs"}, code: exitAuth, stdout: "", stderrHas: "requires a token: pass --token or set SIMJOBS_TOKEN"},
		{args: []string{"jobs", "--token", "wrong"}, code: exitAuth, stdout: "", stderrHas: "refused the token"},
		{args: []string{"limits", "--token", "bob-tok", "--max-concurrent", "3"}, code: exitAuth, stdout: "", stderrHas: "not allowed: set limits: this needs the admin role"},
	})
	runSteps(t, map[string]string{"SIMJOBS_SERVER": srv.URL, "SIMJOBS_TOKEN": "admin-tok"}, []step{
		{args: []string{"limits", "--max-concurrent", "3", "--json"}, stdout: "-", checkAfter: func(t *testing.T, r cliResult) {
			var l engine.Limits
			if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.MaxConcurrentJobs != 3 {
				t.Errorf("limits --json: %q %v", r.stdout, err)
			}
		}},
	})
}

func closedServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	return url
}

func TestCLIUnreachableAndLocalFallback(t *testing.T) {
	t.Parallel()
	down := closedServer(t)
	env := map[string]string{"SIMJOBS_SERVER": down}
	dir := t.TempDir()
	project := filepath.Join(dir, "proj", "board.aedt")
	writeFile(t, project, "x")
	// A solver that shows the command line it was given.
	solver := filepath.Join(dir, "ansysedt")
	writeFile(t, solver, "#!/bin/sh\nprintf 'argv:'; printf ' [%s]' \"$@\"; echo\necho solving >&2\n")
	if err := os.Chmod(solver, 0o755); err != nil {
		t.Fatal(err)
	}
	envExe, err := exec.LookPath("env")
	if err != nil {
		t.Skip(err)
	}
	logs := filepath.Join(dir, "logs")
	runSteps(t, env, []step{
		{args: []string{"jobs"}, code: exitUnreachable, stdout: "", stderrHas: "cannot reach the simjobs server at " + down + " (connection refused)"},
		{args: []string{"submit", "--project", project}, code: exitUnreachable, stdout: "", stderrHas: "Is 'simjobs serve' running there?"},
		{args: []string{"submit", "--local-fallback", "--local-dir", logs, "--project", project, "--jobid", "loc1", "--ansys-edt-path", solver, "--cores", "2"},
			stdout:    "-",
			stderrHas: "--local-fallback: running job loc1 here, in the foreground",
			checkAfter: func(t *testing.T, r cliResult) {
				want := "argv: [-jobid] [loc1] [-machinelist] [list=localhost:2:2:90%] [-ng] [-monitor] [-batchoptions] ['HFSS 3D Layout Design/CreateStartingMesh'='0' "
				if !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "] [-batchsolve] [::] ["+project+"]\n") {
					t.Errorf("the solver ran with %q", r.stdout)
				}
				end := "loc1 completed (exit 0), ran here after D (the server was unreachable; logs in " + filepath.Join(logs, "loc1") + ")\n"
				if !strings.HasSuffix(norm(r.stdout), end) {
					t.Errorf("last line: %q, want %q", r.stdout, end)
				}
				if !strings.Contains(r.stderr, "solving\n") {
					t.Errorf("the job's stderr is not shown: %q", r.stderr)
				}
			}},
		{args: []string{"submit", "--local-fallback", "--local-dir", logs, "--jobid", "loc2", "--", envExe, "FAKE_SOLVER_EXIT=3", fakesolver.Path()}, code: exitJobFailed,
			stdout: "Batch Solve/Save: Completed", contains: true},
		{args: []string{"submit", "--local-fallback", "--local-dir", logs, "--project", filepath.Join(dir, "nope.aedt"), "--ansys-edt-path", solver}, code: exitError,
			stdout: "", stderrHas: "--local-fallback: project_path"},
	})
}

func TestCLIBatch(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	for _, f := range []string{
		"a.aedt", "a.aedb/edb.def", // a pair: the .aedt is the project, submitted once
		"b.aedb/edb.def", // an .aedb alone is a project
		"C.AEDT",         // suffixes in any case
		"notes.txt",      // not a project
		"sub/c.aedt",     // only with --recursive
		"sub/d.aedb",     // an .aedb may be a file too
		".hidden/e.aedt", // hidden folders are skipped
	} {
		writeFile(t, filepath.Join(dir, f), "x")
	}
	env := map[string]string{"SIMJOBS_SERVER": srv.URL}
	// Job ids come from the project: its name and a hash of its path.
	jobRE := regexp.MustCompile(`\b[A-Za-z0-9_]+_(aedt|AEDT|aedb)_[0-9a-f]{8}\b`)
	var ids []string
	byProject := map[string]string{}
	collect := func(t *testing.T, r cliResult) {
		for _, l := range strings.Split(r.stdout, "\n")[1:] {
			if f := strings.Fields(l); len(f) >= 3 && jobRE.MatchString(f[1]) {
				ids = append(ids, f[1])
				byProject[f[0]] = f[1]
			}
		}
	}

	runSteps(t, env, []step{
		{args: []string{"batch", dir, "--cores", "2", "--priority", "3"}, stdout: "-", checkAfter: func(t *testing.T, r cliResult) {
			got := jobRE.ReplaceAllString(norm(r.stdout), "ID")
			want := "PROJECT JOB ID RESULT\nC.AEDT ID queued\na.aedt ID queued\nb.aedb ID queued\n3 projects: 3 submitted, 0 failed\n"
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("batch (-want +got):\n%s", diff)
			}
			collect(t, r)
			for _, id := range ids {
				if j, err := srv.Manager.Job(context.Background(), id); err != nil || j.Priority != 3 {
					t.Errorf("job %s: %+v %v", id, j, err)
				}
			}
		}},
		// Again, deeper: the same projects get the same ids (a duplicate
		// while waiting or running, the next attempt once ended), not copies.
		{args: []string{"batch", "--recursive", "--concurrency", "1", dir}, stdout: "-", checkAfter: func(t *testing.T, r cliResult) {
			first := maps.Clone(byProject)
			ids = ids[:0]
			collect(t, r)
			for p, id := range first {
				if byProject[p] != id {
					t.Errorf("%s: job %s the first time, %s the second", p, id, byProject[p])
				}
			}
			if len(byProject) != 5 || !strings.Contains(r.stdout, "5 projects: 5 submitted, 0 failed") {
				t.Errorf("batch --recursive: %s", r.stdout)
			}
			ids = ids[:0]
			for _, p := range []string{"C.AEDT", "a.aedt", "b.aedb"} {
				ids = append(ids, byProject[p])
			}
		}},
		// --wait waits for them all.
		{args: []string{"batch", dir, "--wait"}, stdout: "3 jobs: 3 completed, 0 did not\n", contains: true},
		{args: []string{"batch", filepath.Join(dir, "sub", "c.aedt")}, code: exitError, stdout: "", stderrHas: "is not a folder"},
		{args: []string{"batch", filepath.Join(dir, ".hidden", "nothing-here")}, code: exitError, stdout: ""},
	})
	if len(ids) != 3 {
		t.Fatalf("job ids %v", ids)
	}
	for _, id := range ids {
		if j, err := srv.Manager.Job(context.Background(), id); err != nil || j.Status != engine.StatusCompleted {
			t.Errorf("job %s after batch --wait: %s %v", id, j.Status, err)
		}
	}

	// Every submission refused: the table says why, and the exit code is 1.
	strict := servertest.Start(t, servertest.Options{Roots: []string{t.TempDir()}})
	runSteps(t, map[string]string{"SIMJOBS_SERVER": strict.URL}, []step{
		{args: []string{"batch", dir}, code: exitError, stdout: "error: refused: project_path", contains: true},
		{args: []string{"batch", "--server", closedServer(t), dir}, code: exitUnreachable, stdout: "3 projects: 0 submitted, 3 failed", contains: true,
			stderrHas: "cannot reach the simjobs server"},
	})
	// Nothing to submit is not a failure.
	empty := t.TempDir()
	runSteps(t, env, []step{{args: []string{"batch", empty}, stdout: "", stderrHas: "no projects in " + empty}})
}

func TestCLICompletion(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := cliRun{t: t}.run("completion", sh)
		if r.code != 0 {
			t.Fatalf("completion %s: %d %s", sh, r.code, r.stderr)
		}
		for _, want := range []string{"submit", "batch", "wait", "local-fallback", "recursive", "max-cpu-percent"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("completion %s lacks %q", sh, want)
			}
		}
		// The script must at least parse in its shell, where installed.
		shell, err := exec.LookPath(sh)
		if err != nil {
			t.Logf("%s not installed: its script is not syntax-checked", sh)
			continue
		}
		script := filepath.Join(t.TempDir(), "simjobs."+sh)
		writeFile(t, script, r.stdout)
		if out, err := exec.Command(shell, "-n", script).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", sh, err, out)
		}
	}
}

// Ctrl-C while waiting leaves the job running and says so.
func TestCLIWaitInterrupted(t *testing.T) {
	t.Parallel()
	busy := host.IdleSample()
	busy.CPUPercent = 99
	srv := servertest.Start(t, servertest.Options{Sample: &busy})
	env := map[string]string{"SIMJOBS_SERVER": srv.URL}
	if r := (cliRun{t: t, env: env}).run("submit", "--jobid", "held", "--", srv.Env, srv.Solver); r.code != 0 {
		t.Fatalf("submit: %+v", r)
	}
	// Ctrl-C (the context ends) once the command follows the event stream.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer cancel()
		// Poll, not WaitFor: this runs on a goroutine of its own, where a
		// test may not fail; the wait after it reports what went wrong.
		_ = enginetest.Poll(enginetest.Timeout(), func() error {
			if srv.Manager.Events().Subscribers() == 0 {
				return errors.New("no subscriber yet")
			}
			return nil
		})
	}()
	r := cliRun{t: t, env: env, ctx: ctx}.run("submit", "--jobid", "held", "--wait", "--", srv.Env, srv.Solver)
	if r.code != exitInterrupted || !strings.Contains(r.stderr, "stopped waiting; job held keeps running on the server") {
		t.Fatalf("interrupted wait: %+v", r)
	}
	if !strings.Contains(r.stdout, "Job held already exists and is queued; nothing changed") {
		t.Errorf("duplicate submission reply: %q", r.stdout)
	}
	if j, _ := srv.Manager.Job(context.Background(), "held"); j.Status != engine.StatusQueued {
		t.Errorf("the job is %s after the interrupted wait", j.Status)
	}
}

func TestCLIUploadAndResults(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	env := map[string]string{"SIMJOBS_SERVER": srv.URL}
	dir := t.TempDir()
	aedt := filepath.Join(dir, "board.aedt")
	writeFile(t, aedt, "$begin 'AnsoftProject'\n")
	var project string
	out := filepath.Join(dir, "out")
	zipFile := filepath.Join(dir, "r.zip")
	runSteps(t, env, []step{
		{args: []string{"upload", aedt}, stdout: "-", checkAfter: func(t *testing.T, r cliResult) {
			project = strings.TrimSpace(r.stdout)
			if b, err := os.ReadFile(project); err != nil || string(b) != "$begin 'AnsoftProject'\n" || !strings.HasPrefix(project, filepath.Join(srv.Dir, "uploads")) {
				t.Fatalf("uploaded to %q: %q %v", project, b, err)
			}
		}},
		{args: []string{"upload", filepath.Join(dir, "notes.txt")}, code: exitUsage, stdout: ""},
	})
	runSteps(t, env, []step{
		{args: []string{"submit", "--project", project, "--jobid", "r1", "--wait", "--quiet"}, stdout: "-"},
		{args: []string{"results", "r1"}, stdout: "board.aedtresults/board.s2p", contains: true},
		{args: []string{"results", "r1", "--out", out}, stdout: filepath.Join(out, "board.aedtresults", "board_S.csv"), contains: true, checkAfter: func(t *testing.T, _ cliResult) {
			b, err := os.ReadFile(filepath.Join(out, "board.aedtresults", "board.s2p"))
			if err != nil || !strings.Contains(string(b), "# GHz S MA R 50") {
				t.Fatalf("downloaded s2p: %v", err)
			}
		}},
		{args: []string{"results", "r1", "--zip", zipFile}, stdout: "", checkAfter: func(t *testing.T, _ cliResult) {
			if fi, err := os.Stat(zipFile); err != nil || fi.Size() == 0 {
				t.Fatalf("zip: %v", err)
			}
		}},
		{args: []string{"results", "nope"}, code: exitNotFound, stdout: ""},
	})
}
