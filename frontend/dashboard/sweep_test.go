package dashboard_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
)

func (h *harness) sweep(t *testing.T, maxParallel int, values ...string) engine.SweepResult {
	t.Helper()
	tpl, _ := json.Marshal(map[string]any{"command": append([]string{h.envExe}, solver("w${W}", "FAKE_SOLVER_SLEEP=0.5")...)})
	res, err := h.m.SubmitSweep(context.Background(), engine.SweepRequest{Name: "widths", Template: tpl,
		Parameters: expand.Params{{Name: "W", Values: values}}, MaxParallel: maxParallel})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSweepPagesRender(t *testing.T) {
	t.Parallel()
	h := start(t, opts{limits: engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100}})
	res := h.sweep(t, 1, "0.1", "0.2")
	for _, id := range res.JobIDs {
		h.wait(id)
	}
	list := h.get("/ui/sweeps")
	mustStatus(t, list, 200)
	if !strings.Contains(list.body, res.SweepID) || !strings.Contains(list.body, "widths") {
		t.Errorf("the list does not show the sweep")
	}
	page := h.get("/ui/sweeps/" + res.SweepID)
	mustStatus(t, page, 200)
	for _, want := range []string{`id="var-` + res.JobIDs[1] + `"`, ">0.2<", "2 of 2 ended", `id="cancel-all"`, `id="resubmit-failed"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("sweep page lacks %s", want)
		}
	}
	job := h.get("/ui/jobs/" + res.JobIDs[0])
	if !strings.Contains(job.body, `id="job-sweep"`) {
		t.Errorf("the job page does not link its sweep")
	}
	mustStatus(t, h.get("/ui/sweeps/nope"), 404)

	// The form's preview expands without submitting; the form submits.
	form := h.get("/ui/sweeps/new")
	csrf := between(form.body, `name="_csrf" value="`, `"`)
	pv := h.post("/ui/sweeps/preview", url.Values{"_csrf": {csrf}, "param_name_0": {"W"}, "param_values_0": {"1, 2,3"},
		"param_name_1": {"L"}, "param_values_1": {"a,b"}, "mode": {"product"}, "command": {"x"}}, "HX-Request", "true")
	mustStatus(t, pv, 200)
	if !strings.Contains(pv.body, "6 jobs") {
		t.Errorf("preview: %s", pv.body)
	}
	pv = h.post("/ui/sweeps/preview", url.Values{"_csrf": {csrf}, "param_name_0": {"W"}, "param_values_0": {"1,2"},
		"param_name_1": {"L"}, "param_values_1": {"a"}, "mode": {"zip"}, "command": {"x"}}, "HX-Request", "true")
	if !strings.Contains(pv.body, "equal length") {
		t.Errorf("zip of unequal lists: %s", pv.body)
	}
	n, _ := h.m.CountSweeps(context.Background(), engine.SweepListParams{})
	sub := h.post("/ui/sweeps/new", url.Values{"_csrf": {csrf}, "name": {"from the form"}, "param_name_0": {"W"}, "param_values_0": {"1,2"},
		"command": {h.envExe + "\n" + strings.Join(solver("f${W}"), "\n")}, "max_parallel": {"1"}}, "HX-Request", "true")
	mustStatus(t, sub, 200)
	if after, _ := h.m.CountSweeps(context.Background(), engine.SweepListParams{}); after != n+1 {
		t.Errorf("sweeps %d -> %d after the form (%s)", n, after, sub.body)
	}
}

func TestBrowserSweepPageLive(t *testing.T) {
	h := start(t, opts{limits: engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100}})
	tab := browser(t, 1280, 900)
	// A second window shows the sweeps list, empty, before the sweep exists.
	list, cancel := chromedp.NewContext(tab)
	defer cancel()
	do(t, list, chromedp.Navigate(h.url+"/ui/sweeps"))
	live(t, list)
	markPage(t, list)
	res := h.sweep(t, 1, "0.1", "0.2", "0.3")
	do(t, tab, chromedp.Navigate(h.url+"/ui/sweeps/"+res.SweepID))
	live(t, tab)
	markPage(t, tab)
	last := res.JobIDs[2]
	wait(t, tab, "the last variation to complete", `document.querySelector("#var-`+last+` .st-completed") !== null`)
	wait(t, tab, "the summary to say all ended", `document.querySelector("#sweep-summary").dataset.ended === "3"`)
	wait(t, tab, "the progress bar full", `document.querySelector("#sweep-progress").value === 3`)
	samePage(t, tab)
	screenshot(t, tab, "sweep", true)
	wait(t, list, "the list to show the sweep ended", `(document.querySelector("#sweep-`+res.SweepID+`") || {}).textContent?.includes("3 completed")`)
	samePage(t, list)

	// The form's preview, in the page.
	do(t, tab, chromedp.Navigate(h.url+"/ui/sweeps/new"))
	do(t, tab,
		chromedp.SetValue(chromedp.CSS("#param_name_0"), "W"),
		chromedp.SetValue(chromedp.CSS("#param_values_0"), "1,2,3"),
		chromedp.SetValue(chromedp.CSS("#param_name_1"), "F"),
		chromedp.SetValue(chromedp.CSS("#param_values_1"), "1GHz,5GHz"),
		chromedp.SetValue(chromedp.CSS("#command"), "x"),
		chromedp.Click(chromedp.CSS("#preview")),
	)
	wait(t, tab, "the preview", `document.querySelectorAll("#preview-table tbody tr").length === 6`)
}
