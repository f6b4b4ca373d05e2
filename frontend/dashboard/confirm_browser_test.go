package dashboard_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	cdpage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/simjobs/simjobs/engine"
)

// dialogs answers the tab's JavaScript dialogs (confirm) with what
// accept() says at that moment, and keeps their messages.
type dialogs struct {
	mu     sync.Mutex
	accept bool
	seen   []string
}

func answerDialogs(t *testing.T, tab context.Context, accept bool) *dialogs {
	t.Helper()
	d := &dialogs{accept: accept}
	opening := chromedp.Events(tab, cdpage.JavascriptDialogOpening)
	go func() {
		for ev, err := range opening {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.seen = append(d.seen, ev.Message)
			ok := d.accept
			d.mu.Unlock()
			// Answered from another goroutine than the one receiving events.
			go chromedp.Call(tab, cdpage.HandleJavaScriptDialog, cdpage.HandleJavaScriptDialogParams{Accept: ok})
		}
	}()
	return d
}

func (d *dialogs) set(accept bool) {
	d.mu.Lock()
	d.accept = accept
	d.mu.Unlock()
}

func (d *dialogs) messages() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.seen...)
}

// Cancelling asks first, on the job page and for the table's selection:
// declining cancels nothing, accepting cancels.
func TestBrowserCancelAsksFirst(t *testing.T) {
	h := start(t, opts{limits: engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100}})
	h.command("ask_1", "", solver("ask_1", "FAKE_SOLVER_SLEEP=60")...)
	h.command("ask_2", "", solver("ask_2", "FAKE_SOLVER_SLEEP=60")...)
	h.waitStatus("ask_1", engine.StatusRunning)
	h.waitStatus("ask_2", engine.StatusRunning)
	tab := browser(t, 1280, 900)
	d := answerDialogs(t, tab, false)

	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs/ask_1"))
	live(t, tab)
	do(t, tab, chromedp.Click(chromedp.CSS("#cancel")))
	h.until(func() bool { return len(d.messages()) == 1 })
	if j, _ := h.m.Job(context.Background(), "ask_1"); j.Status != engine.StatusRunning {
		t.Fatalf("a declined cancel cancelled: %s", j.Status)
	}
	d.set(true)
	do(t, tab, chromedp.Click(chromedp.CSS("#cancel")))
	wait(t, tab, "cancelled", `document.querySelector("#job-status .st-cancelled") !== null`)

	d.set(false)
	do(t, tab, chromedp.Navigate(h.url+"/ui/jobs"))
	live(t, tab)
	do(t, tab, chromedp.Click(chromedp.CSS(`input[name=id][value=ask_2]`)))
	do(t, tab, chromedp.Click(chromedp.CSS(`#bulk button[type=submit]`)))
	h.until(func() bool { return len(d.messages()) == 3 })
	if j, _ := h.m.Job(context.Background(), "ask_2"); j.Status != engine.StatusRunning {
		t.Fatalf("a declined bulk cancel cancelled: %s", j.Status)
	}
	d.set(true)
	do(t, tab, chromedp.Click(chromedp.CSS(`#bulk button[type=submit]`)))
	h.waitStatus("ask_2", engine.StatusCancelled)
	msgs := d.messages()
	if len(msgs) != 4 || !strings.Contains(msgs[0], "Cancel job ask_1?") || !strings.Contains(msgs[2], "Cancel every selected job?") {
		t.Errorf("the questions asked: %q", msgs)
	}
}
