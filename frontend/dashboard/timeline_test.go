package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine"
)

// The timeline shows priority changes and resubmissions, and the earlier
// attempt's record stays on the page.
func TestTimelinePriorityAndResubmission(t *testing.T) {
	t.Parallel()
	h := start(t, opts{limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100}})
	h.command("tl_busy", "", solver("tl_busy", "FAKE_SOLVER_SLEEP=60")...)
	h.waitStatus("tl_busy", engine.StatusRunning)
	t.Cleanup(func() { h.m.Cancel(context.Background(), "tl_busy", "local") })
	h.command("tl_1", "", solver("tl_1", "FAKE_SOLVER_EXIT=3")...)
	ctx := context.Background()
	if err := h.m.SetPriority(ctx, "tl_1", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Cancel(ctx, "tl_1", "local"); err != nil {
		t.Fatal(err)
	}
	h.wait("tl_1")
	h.m.Cancel(ctx, "tl_busy", "local")
	h.command("tl_1", "", solver("tl_1", "FAKE_SOLVER_EXIT=3")...) // attempt 2
	h.waitStatus("tl_1", engine.StatusFailed)

	a := h.get("/ui/jobs/tl_1")
	mustStatus(t, a, 200)
	tl := between(a.body, `id="job-timeline"`, "</section>")
	for _, w := range []string{"priority changed from 0 to 5", "resubmitted: attempt 2", `id="job-attempts"`} {
		if !strings.Contains(tl, w) {
			t.Errorf("the timeline lacks %q: %s", w, tl)
		}
	}
	row := between(tl, "<tbody>", "</tbody>")
	if !strings.Contains(row, "#1") || !strings.Contains(row, "st-cancelled") || !strings.Contains(row, "attempt=1") {
		t.Errorf("the first attempt's record is not on the page: %s", row)
	}
}
