package dashboard_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/simjobs/simjobs/engine"
)

// notificationRecorder wraps the page's Notification API before any of the
// page's scripts run, recording what the dashboard asks of it.
const notificationRecorder = `(function () {
  if (window.__notes) return;
  var Real = window.Notification;
  window.__notes = [];
  window.__requested = 0;
  if (!Real) return;
  function Rec(title, opts) {
    window.__notes.push({ title: title, body: (opts && opts.body) || "" });
    return new Real(title, opts);
  }
  Object.defineProperty(Rec, "permission", { get: function () { return Real.permission; } });
  Rec.requestPermission = function () {
    window.__requested++;
    return Real.requestPermission.apply(Real, arguments);
  };
  Rec.prototype = Real.prototype;
  window.Notification = Rec;
})();`

// The dashboard asks for permission only when the button is pressed, then
// shows a desktop notification when one of MY jobs ends (not someone
// else's), counts my running jobs in the title, and stays quiet once
// switched off.
func TestBrowserDesktopNotifications(t *testing.T) {
	h := start(t, opts{})
	tab := browser(t, 1280, 900)
	if _, err := chromedp.Call(tab, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: notificationRecorder}); err != nil {
		t.Fatal(err)
	}
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs"))
	live(t, tab)
	markPage(t, tab)
	wait(t, tab, "the ask button", `document.querySelector("#notify-toggle[data-state=ask]:not([hidden])") !== null`)
	if n, err := chromedp.Run(tab, chromedp.Evaluate[int]("window.__requested")); err != nil || n != 0 {
		t.Fatalf("permission asked %d times on load (%v), want only on the button", n, err)
	}

	// The person allows notifications when the browser asks.
	if _, err := chromedp.CallBrowser(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: h.url,
	}); err != nil {
		t.Fatal(err)
	}
	do(t, tab, chromedp.Click(chromedp.CSS("#notify-toggle")))
	wait(t, tab, "notifications on", `document.querySelector("#notify-toggle").dataset.state === "on"`)
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int]("window.__requested")); n != 1 {
		t.Errorf("permission asked %d times, want once", n)
	}

	// Someone else's job ends first: no notification.
	h.command("theirs_1", "bob", solver("theirs_1")...)
	h.wait("theirs_1")
	wait(t, tab, "their row", `document.querySelector("#row-theirs_1 .st-completed") !== null`)

	// One of mine runs: the title counts it; it is cancelled: a notification.
	h.command("mine_long", "", solver("mine_long", "FAKE_SOLVER_SLEEP=60")...)
	h.waitStatus("mine_long", engine.StatusRunning)
	wait(t, tab, "the title's count", `document.title.startsWith("(1) ")`)
	if _, err := h.m.Cancel(context.Background(), "mine_long", "local"); err != nil {
		t.Fatal(err)
	}
	wait(t, tab, "the notification", `window.__notes.some(function (n) { return n.body.includes("mine_long cancelled"); })`)
	wait(t, tab, "the title without a count", `!document.title.startsWith("(")`)
	notes, err := chromedp.Run(tab, chromedp.Evaluate[string]("JSON.stringify(window.__notes)"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(notes, "theirs_1") {
		t.Errorf("notified of someone else's job: %s", notes)
	}

	// A sweep of mine ends: one notification for the whole sweep, besides
	// one per job.
	sw := h.sweep(t, 0, "a", "b")
	wait(t, tab, "the sweep's notification", `window.__notes.some(function (n) { return n.title === "simjobs: sweep ended" && n.body.includes(`+strconv.Quote(sw.SweepID)+`); })`)
	sweepNotes, _ := chromedp.Run(tab, chromedp.Evaluate[int](`window.__notes.filter(function (n) { return n.title === "simjobs: sweep ended"; }).length`))
	if sweepNotes != 1 {
		t.Errorf("%d sweep notifications, want 1", sweepNotes)
	}
	before, _ := chromedp.Run(tab, chromedp.Evaluate[int]("window.__notes.length"))

	// Switched off, it stays quiet (and remembers it).
	do(t, tab, chromedp.Click(chromedp.CSS("#notify-toggle")))
	wait(t, tab, "notifications off", `document.querySelector("#notify-toggle").dataset.state === "off" && localStorage.getItem("simjobs.notifications") === "off"`)
	h.command("mine_quick", "", solver("mine_quick")...)
	h.wait("mine_quick")
	wait(t, tab, "my quick row", `document.querySelector("#row-mine_quick .st-completed") !== null`)
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int]("window.__notes.length")); n != before {
		notes, _ := chromedp.Run(tab, chromedp.Evaluate[string]("JSON.stringify(window.__notes)"))
		t.Errorf("notifications after switching off: %s", notes)
	}
	samePage(t, tab)
	screenshot(t, tab, "notifications", false)
}
