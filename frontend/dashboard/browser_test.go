package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/simjobs/simjobs/engine/enginetest"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// Browser tests drive Debian's chromium through the dashboard as a person
// would. Without chromium they skip, saying why; under CI=true they fail.
// Screenshots go to test-artifacts/screenshots (gitignored); with
// -update-screenshots the README's pictures in docs/ are rewritten too.

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite docs/dashboard-*.png from the browser tests")

// moduleRoot is the repository root, found from this file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: CI must install it (apt-get install -y chromium)")
	}
	t.Skip("skipping browser test: chromium is not installed (apt-get install -y chromium)")
	return ""
}

// browser starts a headless chromium with a fresh profile and returns a
// tab; ctx bounds the whole test.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	tab, csp := browserTab(t, width, height)
	t.Cleanup(func() {
		if v := csp.violations(); len(v) > 0 {
			t.Errorf("the browser reported %d Content-Security-Policy violations:\n%s", len(v), strings.Join(v, "\n"))
		}
	})
	return tab
}

// browserTab is browser without the check for CSP violations.
func browserTab(t *testing.T, width, height int) (context.Context, *cspWatch) {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The TLS test serves a self-signed certificate.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	tab, tcancel := chromedp.NewContext(actx)
	t.Cleanup(tcancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tab, watchCSP(t, tab)
}

// cspWatch collects what the browser says violates the pages'
// Content-Security-Policy: its own console reports ("Refused to ...
// because it violates the following Content Security Policy directive")
// and every securitypolicyviolation event of every page the tab loads.
type cspWatch struct {
	mu   sync.Mutex
	seen []string
}

func (w *cspWatch) violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

func watchCSP(t *testing.T, tab context.Context) *cspWatch {
	t.Helper()
	w := &cspWatch{}
	msgs := chromedp.Console(tab)
	const listener = `document.addEventListener("securitypolicyviolation", function (e) {
		console.error("securitypolicyviolation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
	});`
	if _, err := chromedp.Call(tab, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: listener}); err != nil {
		t.Fatalf("install the CSP listener: %v", err)
	}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "securitypolicyviolation") {
				w.mu.Lock()
				w.seen = append(w.seen, m.Text)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// screenshot saves the tab as test-artifacts/screenshots/name.png, and
// as docs/dashboard-name.png with -update-screenshots when docs is true.
func screenshot(t *testing.T, tab context.Context, name string, docs bool) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join(moduleRoot(), "test-artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if docs && *updateScreenshots {
		if err := os.WriteFile(filepath.Join(moduleRoot(), "docs", "dashboard-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wait polls a JavaScript condition in the page until it holds.
func wait(t *testing.T, tab context.Context, what, expr string) {
	t.Helper()
	var err error
	for range 5 {
		// A navigation during the poll ends it; poll again on the new page.
		_, err = chromedp.Run(tab, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second)))
		if err == nil || strings.Contains(err.Error(), "timeout") || tab.Err() != nil {
			break
		}
	}
	if err != nil {
		body, _ := chromedp.Run(tab, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		t.Fatalf("waiting for %s (%s): %v\npage text:\n%.3000s", what, expr, err, body)
	}
}

func do(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatal(err)
	}
}

// live waits for the page's feed to be connected.
func live(t *testing.T, tab context.Context) {
	t.Helper()
	wait(t, tab, "the live feed", `document.querySelector("#live[data-state=live]") !== null`)
}

// markPage sets a value only this page load holds: if it is gone later,
// the page was reloaded.
func markPage(t *testing.T, tab context.Context) {
	do(t, tab, chromedp.Evaluate[chromedp.Void]("window.__sameLoad = true"))
}

func samePage(t *testing.T, tab context.Context) {
	t.Helper()
	if ok, err := chromedp.Run(tab, chromedp.Evaluate[bool]("window.__sameLoad === true")); err != nil || !ok {
		t.Errorf("the page was reloaded (%v)", err)
	}
}

func TestBrowserSubmitAndWatchLive(t *testing.T) {
	t.Setenv("FAKE_SOLVER_SLEEP", "1")
	h := start(t, opts{})
	tab := browser(t, 1280, 900)
	// A second window shows the job table while the first submits.
	table, cancel := chromedp.NewContext(tab)
	defer cancel()
	do(t, table, chromedp.Navigate(h.url+"/ui/jobs"))
	live(t, table)
	markPage(t, table)

	do(t, tab, chromedp.Navigate(h.url+"/ui/submit"))
	do(t, tab,
		chromedp.SetValue(chromedp.CSS("#project_path"), h.project),
		chromedp.SetValue(chromedp.CSS("#jobid"), "browser_1"),
		chromedp.SetValue(chromedp.CSS("#design_name"), "board"),
		chromedp.Click(chromedp.CSS("#submit")),
	)
	wait(t, tab, "the job page", `location.pathname === "/ui/jobs/browser_1"`)
	live(t, tab)
	markPage(t, tab)
	wait(t, tab, "the job to finish", `document.querySelector("#job-status .st-completed") !== null`)
	wait(t, tab, "the end of the log", `(document.querySelector("#log-end.ok") || {}).textContent?.includes("exit code 0")`)
	wait(t, tab, "the last log line", `document.querySelector("#log-text").textContent.includes("Batch Solve/Save: Completed")`)
	samePage(t, tab)
	screenshot(t, tab, "job", true)

	// The table got the row and its end without a reload.
	wait(t, table, "the new row, completed", `document.querySelector("#row-browser_1 .st-completed") !== null`)
	samePage(t, table)
	screenshot(t, table, "jobs", false)
}

func TestBrowserValidationErrorInline(t *testing.T) {
	h := start(t, opts{})
	tab := browser(t, 1280, 900)
	do(t, tab, chromedp.Navigate(h.url+"/ui/submit"))
	markPage(t, tab)
	do(t, tab,
		chromedp.SetValue(chromedp.CSS("#project_path"), "/no/such/board.aedt"),
		chromedp.Click(chromedp.CSS("#submit")),
	)
	wait(t, tab, "the inline error", `(document.querySelector("#project_path-error") || {}).textContent?.includes("does not exist")`)
	wait(t, tab, "the field marked", `document.querySelector("#project_path").getAttribute("aria-invalid") === "true"`)
	samePage(t, tab)
	// What was typed is still there.
	if v, _ := chromedp.Run(tab, chromedp.Value(chromedp.CSS("#project_path"))); v != "/no/such/board.aedt" {
		t.Errorf("the field holds %q", v)
	}
	screenshot(t, tab, "submit-error", false)
}

func TestBrowserCancelRunningJob(t *testing.T) {
	h := start(t, opts{})
	h.command("long_1", "", solver("long_1", "FAKE_SOLVER_SLEEP=60")...)
	h.waitStatus("long_1", engine.StatusRunning)
	tab := browser(t, 1280, 900)
	answerDialogs(t, tab, true) // "Cancel job long_1?"
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs/long_1"))
	live(t, tab)
	markPage(t, tab)
	wait(t, tab, "running", `document.querySelector("#job-status .st-running") !== null`)
	// A refused request says so at the top of the page (as when the
	// session's token changed), and cancels nothing.
	do(t, tab, chromedp.Evaluate[chromedp.Void](`document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRF-Token": "stale"}))`))
	do(t, tab, chromedp.Click(chromedp.CSS("#cancel")))
	wait(t, tab, "the refusal shown", `!document.querySelector("#flash").hidden && document.querySelector("#flash").textContent.includes("CSRF token") && document.querySelector("#flash").textContent.includes("HTTP 403")`)
	screenshot(t, tab, "refused", false)
	if j, err := h.m.Job(context.Background(), "long_1"); err != nil || j.Status != engine.StatusRunning {
		t.Fatalf("a refused cancel changed the job: %s %v", j.Status, err)
	}
	do(t, tab, chromedp.Reload())
	live(t, tab)
	markPage(t, tab)
	do(t, tab, chromedp.Click(chromedp.CSS("#cancel")))
	wait(t, tab, "cancelled", `document.querySelector("#job-status .st-cancelled") !== null`)
	wait(t, tab, "the end of the log", `document.querySelector("#log-end.bad") !== null`)
	wait(t, tab, "the cancel button disabled", `document.querySelector("#cancel").disabled`)
	samePage(t, tab)
}

func TestBrowserLogTailGrows(t *testing.T) {
	h := start(t, opts{})
	gate := filepath.Join(h.dir, "gate")
	// The job writes a line, then waits for the test to open the gate
	// before the next one: the page must show each line while it runs.
	script := fmt.Sprintf(`for i in 1 2 3; do echo "step $i of 3"; while [ ! -f %q.$i ]; do sleep 0.05; done; done; echo all done`, gate)
	h.command("grow_1", "", "sh", "-c", script)
	h.waitStatus("grow_1", engine.StatusRunning)
	tab := browser(t, 1280, 900)
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs/grow_1"))
	live(t, tab)
	markPage(t, tab)
	for i := 1; i <= 3; i++ {
		wait(t, tab, fmt.Sprintf("line %d", i), fmt.Sprintf(`document.querySelector("#log-text").textContent.includes("step %d of 3")`, i))
		wait(t, tab, "still running", `document.querySelector("#job-status .st-running") !== null && document.querySelector("#log-end.ok") === null`)
		if err := os.WriteFile(fmt.Sprintf("%s.%d", gate, i), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, tab, "the end", `document.querySelector("#log-text").textContent.includes("all done") && document.querySelector("#log-end.ok") !== null`)
	text, _ := chromedp.Run(tab, chromedp.TextContent(chromedp.CSS("#log-text")))
	if strings.Count(text, "step 2 of 3") != 1 {
		t.Errorf("log text %q", text)
	}
	samePage(t, tab)
}

func TestBrowserRaisingTheLimitStartsAWaitingJob(t *testing.T) {
	h := start(t, opts{})
	gate := filepath.Join(h.dir, "gate")
	hold := fmt.Sprintf(`while [ ! -f %q ]; do sleep 0.05; done`, gate)
	t.Cleanup(func() { os.WriteFile(gate, nil, 0o644) })
	h.command("hold_1", "", "sh", "-c", hold)
	h.command("wait_1", "", "sh", "-c", hold)
	h.waitStatus("hold_1", engine.StatusRunning)
	tab := browser(t, 1280, 900)
	do(t, tab, chromedp.Navigate(h.url+"/ui/settings"))
	live(t, tab)
	markPage(t, tab)
	wait(t, tab, "one running, one waiting", `document.querySelector("#cur-running").textContent === "1" && document.querySelector("#cur-queued").textContent === "1"`)
	do(t, tab,
		chromedp.SetValue(chromedp.CSS("#max_concurrent_jobs"), "2"),
		chromedp.Click(chromedp.CSS("#save")),
	)
	wait(t, tab, "saved", `document.querySelector("#limits-form").textContent.includes("Limits saved")`)
	wait(t, tab, "two running", `document.querySelector("#cur-running").textContent === "2" && document.querySelector("#cur-queued").textContent === "0"`)
	if j, _ := h.m.Job(context.Background(), "wait_1"); j.Status != engine.StatusRunning {
		t.Errorf("wait_1 is %s", j.Status)
	}
	samePage(t, tab)
	// An invalid value is refused next to its field.
	do(t, tab,
		chromedp.SetValue(chromedp.CSS("#max_cpu_percent"), "250"),
		chromedp.Click(chromedp.CSS("#save")),
	)
	wait(t, tab, "the inline error", `document.querySelector("#max_cpu_percent-error") !== null`)
	screenshot(t, tab, "settings", false)
}

func TestBrowserReconnectsAfterRestart(t *testing.T) {
	h := start(t, opts{})
	tab := browser(t, 1280, 900)
	do(t, tab, chromedp.Navigate(h.url+"/"))
	live(t, tab)
	markPage(t, tab)
	// Record every state the indicator shows.
	do(t, tab, chromedp.Evaluate[chromedp.Void](`window.__states = [];
		new MutationObserver(() => window.__states.push(document.querySelector("#live").dataset.state))
			.observe(document.querySelector("#live"), {attributes: true})`))
	h.restart()
	wait(t, tab, "the indicator to show the loss", `window.__states.includes("lost")`)
	wait(t, tab, "the indicator to be live again", `window.__states.indexOf("live", window.__states.indexOf("lost")) > 0 && document.querySelector("#live").dataset.state === "live"`)
	// And the page is live again: a job run now shows up.
	h.command("after_1", "", "true")
	h.wait("after_1")
	wait(t, tab, "the count", `document.querySelector("#ov-counts [data-status=completed]").textContent === "1"`)
	samePage(t, tab)
	screenshot(t, tab, "overview-after-restart", false)
}

func TestBrowserScreens(t *testing.T) {
	h := start(t, opts{limits: engine.Limits{MaxConcurrentJobs: 2, MaxCPUPercent: 90, MinMemoryGB: 1, MinDiskGB: 1}})
	t.Setenv("FAKE_SOLVER_SLEEP", "30")
	for i, name := range []string{"antenna", "connector", "filter", "package"} {
		proj := filepath.Join(h.dir, "proj", name+".aedt")
		os.WriteFile(proj, nil, 0o644)
		h.submit(map[string]any{"project_path": proj, "jobid": fmt.Sprintf("%s_%d", name, i+1), "user": []string{"alice", "bob"}[i%2]}, i%3)
	}
	h.command("post_1", "carol", "true")
	h.command("broken_1", "carol", solver("broken_1", "FAKE_SOLVER_EXIT=2")...)
	// Which two of the solves hold the slots depends on how fast the
	// dispatcher wakes between the submissions: wait for any two.
	h.waitRunning(2)
	tab := browser(t, 1280, 900)
	do(t, tab, chromedp.Navigate(h.url+"/"))
	live(t, tab)
	wait(t, tab, "two running", `document.querySelectorAll("#ov-running tbody tr").length === 2`)
	screenshot(t, tab, "overview", true)
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs"))
	live(t, tab)
	screenshot(t, tab, "jobs-table", true)
	do(t, tab, chromedp.Navigate(h.url+"/ui/submit"))
	screenshot(t, tab, "submit", false)

	phone, cancel := chromedp.NewContext(tab)
	defer cancel()
	do(t, phone, chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.url+"/"))
	live(t, phone)
	// Nothing is wider than the phone's screen.
	wait(t, phone, "no sideways scrolling", `document.documentElement.scrollWidth <= 390`)
	screenshot(t, phone, "overview-phone", true)
	do(t, phone, chromedp.Navigate(h.url+"/ui/jobs"))
	wait(t, phone, "no sideways scrolling", `document.documentElement.scrollWidth <= 390`)
	screenshot(t, phone, "jobs-phone", false)
	for _, id := range []string{"antenna_1", "connector_2", "filter_3", "package_4"} {
		h.m.Cancel(context.Background(), id, "test")
	}
}

// The solver panel fills in while the job runs, and fits a phone.
func TestBrowserSolverPanel(t *testing.T) {
	h := start(t, opts{})
	// The browser first: on a busy machine its start can outlast the
	// job's few seconds of adaptive passes.
	tab := browser(t, 1280, 900)
	h.command("hfss_live", "alice", solver("hfss_live", fakesolver.EnvScript+"="+fakesolver.HFSSLog(), fakesolver.EnvLineSleep+"=0.05")...)
	h.waitStatus("hfss_live", engine.StatusRunning)
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs/hfss_live"))
	live(t, tab)
	markPage(t, tab)
	wait(t, tab, "an adaptive pass running", `(document.querySelector("#solver-phase") || {}).textContent?.startsWith("adaptive pass")`)
	wait(t, tab, "the panel settled", `(document.querySelector("#solver-phase") || {}).textContent === "completed"`)
	wait(t, tab, "five passes", `document.querySelectorAll("#solver-passes tbody tr").length === 5`)
	wait(t, tab, "the chart", `document.querySelector("#solver-chart polyline") !== null`)
	samePage(t, tab)
	screenshot(t, tab, "job-solver", true)

	phone, cancel := chromedp.NewContext(tab)
	defer cancel()
	do(t, phone, chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.url+"/ui/jobs/hfss_live"))
	wait(t, phone, "no sideways scrolling", `document.documentElement.scrollWidth <= 390`)
	screenshot(t, phone, "job-solver-phone", false)
}

// The CSP watch sees a violation: a page that sets a style attribute from
// script (what the policy forbids) is reported, so the watch in every
// other browser test can fail.
func TestBrowserCSPViolationIsReported(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	tab, csp := browserTab(t, 1280, 800)
	do(t, tab, chromedp.Navigate(h.url+"/"))
	live(t, tab)
	if v := csp.violations(); len(v) > 0 {
		t.Fatalf("the overview alone violates the policy: %v", v)
	}
	do(t, tab, chromedp.Evaluate[chromedp.Void](`document.body.setAttribute("style", "color: red")`))
	enginetest.WaitFor(t, "the report of an inline style set against the policy", func() bool { return len(csp.violations()) > 0 })
	if v := csp.violations(); !strings.Contains(strings.Join(v, " "), "style-src") {
		t.Errorf("reported: %v; want the style-src directive named", v)
	}
}

// Over HTTPS the pages and their live feed (wss://, which the policy's
// connect-src 'self' must cover) work without a CSP violation.
func TestBrowserOverTLS(t *testing.T) {
	t.Parallel()
	h := start(t, opts{tls: true})
	tab := browser(t, 1280, 800)
	do(t, tab, chromedp.Navigate(h.url+"/"))
	live(t, tab)
	h.command("tls_1", "", "true")
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs/tls_1"))
	live(t, tab)
	wait(t, tab, "the job to complete on the live page", `document.querySelector("#job-status .st-completed") !== null`)
	if proto, err := chromedp.Run(tab, chromedp.Evaluate[string]("location.protocol")); err != nil || proto != "https:" {
		t.Fatalf("page protocol %q (%v)", proto, err)
	}
}
