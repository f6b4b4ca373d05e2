package dashboard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The browser shows times in its own time zone and says which.
func TestBrowserTimesInTheReadersZone(t *testing.T) {
	h := start(t, opts{})
	h.command("tz_1", "", solver("tz_1")...)
	job := h.wait("tz_1")
	tab := browser(t, 1280, 900)
	const zone = "Asia/Kathmandu" // UTC+05:45: no server runs there by accident
	if _, err := chromedp.Call(tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatal(err)
	}
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs/tz_1"))
	live(t, tab)
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Skipf("no time zone data for %s: %v", zone, err)
	}
	want := job.SubmitTime.In(loc).Format("2006-01-02 15:04:05")
	wait(t, tab, "the submit time in "+zone, `[...document.querySelectorAll("#job-facts time")].some(e => e.textContent === "`+want+`")`)
	note, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("[data-tz]").textContent`))
	if err != nil || !strings.Contains(note, "Asia/Kat") || !strings.Contains(note, "UTC+05:45") || !strings.Contains(note, "your browser") { // ICU may spell it Katmandu
		t.Errorf("the zone note says %q (%v)", note, err)
	}
	// Rows the live feed adds later are rewritten too.
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs"))
	live(t, tab)
	h.command("tz_2", "", solver("tz_2")...)
	j2 := h.wait("tz_2")
	want2 := j2.SubmitTime.In(loc).Format("2006-01-02 15:04:05")
	wait(t, tab, "a new row's time in "+zone, `(document.querySelector("#row-tz_2 time") || {}).textContent === "`+want2+`"`)
}
