package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// TestBrowserUploadRunAndPlot is the path of an engineer on a laptop: drop
// a project into the submit page (it goes up with tus, with a progress
// bar), submit it, watch the job end, and read the S-parameters the solver
// wrote: listed with download links and plotted, traces chosen, values on
// hover, and the same file of another run laid over it.
func TestBrowserUploadRunAndPlot(t *testing.T) {
	h := start(t, opts{})
	// A run of the same project to compare with later.
	h.submitHFSS(t, "earlier_1", h.project)
	// The next runs last a moment: the job page opens while it runs and
	// must show its results when it ends, without a reload.
	t.Setenv(fakesolver.EnvSleep, "1")

	local := filepath.Join(t.TempDir(), "board.aedt")
	if err := os.WriteFile(local, []byte(strings.Repeat("$begin 'AnsoftProject'\n", 50000)), 0o644); err != nil {
		t.Fatal(err)
	}
	tab := browser(t, 1280, 1000)
	do(t, tab, chromedp.Navigate(h.url+"/ui/submit"))
	wait(t, tab, "the upload control", `document.querySelector("#upload-project_path") && !document.querySelector("#upload-project_path").hidden`)
	do(t, tab, chromedp.SetUploadFiles(chromedp.CSS("#upload-file-project_path"), []string{local}))
	uploads := filepath.Join(h.dir, "uploads")
	wait(t, tab, "the project path filled in", `document.querySelector("#project_path").value.startsWith(`+jsString(uploads+"/")+`) && document.querySelector("#project_path").value.endsWith("/board.aedt")`)
	wait(t, tab, "the upload reported", `document.querySelector(".upload-msg").textContent.includes("Uploaded board.aedt")`)
	path, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS("#project_path")))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || len(b) != 50000*len("$begin 'AnsoftProject'\n") {
		t.Fatalf("uploaded %s: %d bytes, %v", path, len(b), err)
	}
	screenshot(t, tab, "submit-upload", false)

	do(t, tab,
		chromedp.SetValue(chromedp.CSS("#jobid"), "plot_1"),
		chromedp.Click(chromedp.CSS("#submit")),
	)
	wait(t, tab, "the job page", `location.pathname === "/ui/jobs/plot_1"`)
	live(t, tab)
	markPage(t, tab)
	wait(t, tab, "the job to finish", `document.querySelector("#job-status .st-completed") !== null`)
	wait(t, tab, "the result files", `document.querySelectorAll("#results-files tbody tr").length === 2 && document.querySelector("#results-files").textContent.includes("board.aedtresults/board.s2p")`)
	wait(t, tab, "the chart, S11 and S21", `document.querySelectorAll("#sparam-chart polyline.trace").length === 2 && `+htmxSettled)

	// Another trace, chosen by the user.
	do(t, tab, chromedp.Click(chromedp.CSS(`#sparam-form input[name=trace][value=S22]`)))
	wait(t, tab, "three traces", `document.querySelectorAll("#sparam-chart polyline.trace").length === 3 && document.querySelector("#sparam-legend").textContent.includes("S22") && `+htmxSettled)

	// Values under the pointer.
	do(t, tab, chromedp.Evaluate[chromedp.Void](`document.querySelector("#sparam-chart .bands rect").dispatchEvent(new MouseEvent("mouseover", {bubbles: true}))`))
	wait(t, tab, "hover values", `document.querySelector("#sparam-readout").textContent.includes("GHz") && document.querySelector("#sparam-readout").textContent.includes("S21:")`)

	// The same file of the earlier run, dashed over it.
	do(t, tab,
		chromedp.SetValue(chromedp.CSS("#sparam-compare"), "earlier_1"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#sparam-compare").dispatchEvent(new Event("change", {bubbles: true}))`),
	)
	wait(t, tab, "the overlay", `document.querySelectorAll("#sparam-chart polyline.dashed").length === 3 && document.querySelector("#sparam-legend").textContent.includes("(earlier_1)")`)
	samePage(t, tab)
	screenshot(t, tab, "job-results", true)

	// The download links answer with the file.
	href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#results-files a").href`))
	if err != nil || !strings.Contains(href, "/api/jobs/plot_1/files/board.aedtresults/") {
		t.Fatalf("link %q %v", href, err)
	}
	if a := h.do("GET", strings.TrimPrefix(href, h.url), nil); a.status != 200 || (!strings.Contains(a.body, "# GHz S MA R 50") && !strings.Contains(a.body, "Freq [GHz]")) {
		t.Fatalf("download: %d %.200s", a.status, a.body)
	}
}

// htmxSettled holds once htmx has wired the content it swapped in: it
// attaches a new element's triggers only when the swap settles (20 ms
// later, longer on a loaded machine, the element carrying htmx-added
// until then), so a change made before that is lost, which is how this
// test once missed its overlay.
const htmxSettled = `document.querySelector(".htmx-added, .htmx-settling, .htmx-request") === null`

func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// submitHFSS runs an HFSS job (the fake solver) on project to its end.
func (h *harness) submitHFSS(t *testing.T, id, project string) {
	t.Helper()
	h.submit(map[string]any{"jobid": id, "project_path": project}, 0)
	if j := h.wait(id); j.Status != "completed" {
		t.Fatalf("%s: %s %s", id, j.Status, j.Error)
	}
}

// TestBrowserUploadSignedIn: on a team server (token auth) a signed-in
// browser uploads with its session cookie and CSRF token, and another user
// sees the job but not its results.
func TestBrowserUploadSignedIn(t *testing.T) {
	auth, err := server.ParseTokens(strings.NewReader("alice:user:" + sha256Hex("alice-token") + "\nbob:user:" + sha256Hex("bob-token") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, opts{auth: auth})
	local := filepath.Join(t.TempDir(), "board.aedt")
	if err := os.WriteFile(local, []byte("$begin 'AnsoftProject'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	signIn := func(tab context.Context, token string) {
		do(t, tab, chromedp.Navigate(h.url+"/ui/login?next=%2Fui%2Fsubmit"),
			chromedp.SetValue(chromedp.CSS("#token"), token),
			chromedp.Click(chromedp.CSS("#login")))
		wait(t, tab, "signed in", `location.pathname === "/ui/submit"`)
	}
	tab := browser(t, 1280, 1000)
	signIn(tab, "alice-token")
	wait(t, tab, "the upload control", `!document.querySelector("#upload-project_path").hidden`)
	do(t, tab, chromedp.SetUploadFiles(chromedp.CSS("#upload-file-project_path"), []string{local}))
	wait(t, tab, "the project path filled in", `document.querySelector("#project_path").value.startsWith(`+jsString(filepath.Join(h.dir, "uploads", "alice")+"/")+`)`)
	do(t, tab, chromedp.SetValue(chromedp.CSS("#jobid"), "alice_1"), chromedp.Click(chromedp.CSS("#submit")))
	wait(t, tab, "the job page", `location.pathname === "/ui/jobs/alice_1"`)
	h.wait("alice_1")
	do(t, tab, chromedp.Reload())
	wait(t, tab, "alice's results", `document.querySelectorAll("#sparam-chart polyline.trace").length === 2`)

	other := browser(t, 1280, 1000) // bob's own browser
	signIn(other, "bob-token")
	do(t, other, chromedp.Navigate(h.url+"/ui/jobs/alice_1"))
	wait(t, other, "no results for bob", `document.querySelector("#job-results").textContent.includes("for alice or an admin") && !document.querySelector("#results-files")`)
	if a := h.do("GET", "/ui/jobs/alice_1/results", nil); a.status != 303 && a.status != 401 {
		t.Errorf("results fragment without a session: %d", a.status)
	}
}
