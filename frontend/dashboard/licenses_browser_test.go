package dashboard_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/testdata/fakelmutil"
)

// The overview's Licenses panel shows each feature's seats and holders,
// and the job page why a job waits; both follow the polls live.
func TestBrowserLicensesPanel(t *testing.T) {
	fake := fakelmutil.New(t)
	fake.SetCounts(t, "electronics_desktop 10 alice:ws1:1 bob:ws2:1", "anshpc 64 alice:ws1:16", "hfss_solve 1 carol:ws3:1")
	h := start(t, opts{licenses: withLicenses(fake, `{"replace_defaults": true, "commands": {"env": {"features": {"hfss_solve": 1}}}}`)})
	tab := browser(t, 1280, 1100)
	do(t, tab, chromedp.Navigate(h.url+"/"))
	live(t, tab)
	markPage(t, tab)
	wait(t, tab, "the panel", `(document.querySelector("#ov-licenses [data-feature=electronics_desktop] [data-seats]") || {}).textContent?.includes("2 / 10 in use")`)
	wait(t, tab, "who holds the seats", `document.querySelector("#ov-licenses [data-feature=anshpc]").textContent.includes("alice@ws1 ×16")`)
	wait(t, tab, "the day's chart", `[...document.querySelectorAll("#ov-licenses-charts svg polyline")].filter(p => p.getAttribute("points") !== "").length >= 3`)
	wait(t, tab, "a full feature marked", `document.querySelector("#ov-licenses [data-feature=hfss_solve] .bar span.hot") !== null`)

	h.command("lic_1", "", solver("lic_1", "FAKE_SOLVER_SLEEP=0")...)
	job, cancel := chromedp.NewContext(tab)
	defer cancel()
	do(t, job, chromedp.Navigate(h.url+"/ui/jobs/lic_1"))
	live(t, job)
	wait(t, job, "the license wait", `(document.querySelector("#job-waiting") || {}).textContent?.includes("waiting for license hfss_solve: needs 1 seat, 0 of 1 free")`)
	screenshot(t, job, "job-license-wait", false)

	// carol's solve ends; the next poll frees the seat, the job runs, and
	// both pages follow without a reload.
	fake.SetCounts(t, "electronics_desktop 10 alice:ws1:1", "anshpc 64", "hfss_solve 1")
	h.lic.PollNow()
	h.waitStatus("lic_1", engine.StatusCompleted)
	wait(t, tab, "the panel updated", `document.querySelector("#ov-licenses [data-feature=electronics_desktop] [data-seats]").textContent.includes("1 / 10 in use")`)
	wait(t, job, "the job done, no wait", `document.querySelector("#job-status .st-completed") !== null && document.querySelector("#job-waiting") === null`)
	samePage(t, tab)
	screenshot(t, tab, "licenses", true)

	// lmutil failing is shown on the panel.
	fake.SetFail(t, "lmutil: cannot execute binary file")
	h.lic.PollNow()
	wait(t, tab, "the failure", `(document.querySelector("#ov-licenses-error") || {}).textContent?.includes("cannot execute binary file")`)
	samePage(t, tab)
}
