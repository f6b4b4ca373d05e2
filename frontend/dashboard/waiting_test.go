package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine"
)

// A queued job says why it waits and where it is in the queue, on its page
// and in the job table.
func TestWaitingReasonShown(t *testing.T) {
	t.Parallel()
	h := start(t, opts{limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100}})
	h.command("busy_1", "", solver("busy_1", "FAKE_SOLVER_SLEEP=60")...)
	h.waitStatus("busy_1", engine.StatusRunning)
	h.command("wait_1", "", solver("wait_1")...)
	h.command("wait_2", "", solver("wait_2")...)
	t.Cleanup(func() {
		for _, id := range []string{"busy_1", "wait_1", "wait_2"} {
			h.m.Cancel(context.Background(), id, "local")
		}
	})

	a := h.get("/ui/jobs/wait_2")
	mustStatus(t, a, 200)
	if !strings.Contains(a.body, `id="job-waiting">#2 in the queue · 1 of 1 job slots in use<`) {
		t.Errorf("the job page does not say why wait_2 waits: %s", between(a.body, `id="job-facts"`, "</dl>"))
	}
	b := h.get("/ui/jobs")
	mustStatus(t, b, 200)
	row := between(b.body, `id="row-wait_1"`, "</tr>")
	if !strings.Contains(b.body, `<th scope="col" class="hide-narrow">Waiting</th>`) || !strings.Contains(row, "next in the queue · 1 of 1 job slots in use") {
		t.Errorf("the job table does not say why wait_1 waits: %s", row)
	}
	if row := between(b.body, `id="row-busy_1"`, "</tr>"); strings.Contains(row, "in the queue") {
		t.Errorf("a running job is said to wait: %s", row)
	}
}
