package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// pendingStore is a store holding n jobs left pending by a server that ran
// without a scheduler (a crash between accepting and queueing them).
func pendingStore(t *testing.T, n int) *store.SQLite {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i := range n {
		if _, err := st.JobInsert(t.Context(), engine.JobInsertParams{ID: fmt.Sprintf("P%03d", i), User: "tester",
			Status: engine.StatusPending, Kind: engine.KindCommand, Config: json.RawMessage(`{"command":["true"]}`),
			SubmitTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestRecoveryRequeuesPendingJobs: every job found pending at start-up
// (made in parallel) is recorded queued again and queued in submission
// order.
func TestRecoveryRequeuesPendingJobs(t *testing.T) {
	const n = 300
	st := pendingStore(t, n)
	// Nothing starts (no disk is that free): the queue is what recovery made.
	b := setup(t, setupOpts{store: st, limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100, MinDiskGB: 1e6}})
	counts, err := st.JobCountByStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if counts[engine.StatusQueued] != n || counts[engine.StatusPending] != 0 {
		t.Errorf("after recovery: %v, want %d queued", counts, n)
	}
	if q := b.m.QueueStats(); q.TotalQueued != n {
		t.Errorf("queued in the manager: %d, want %d", q.TotalQueued, n)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		id := fmt.Sprintf("P%03d", i)
		j, err := b.m.Job(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.QueuePosition != i+1 {
			t.Errorf("%s: queue position %d, want %d", id, j.QueuePosition, i+1)
		}
		trs, err := st.TransitionList(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if last := trs[len(trs)-1]; last.Status != engine.StatusQueued || last.Message != "queued again after a restart" {
			t.Errorf("%s: last transition %+v", id, last)
		}
	}
}

// TestRecoveryRequeueFailureFailsStartup: a store that cannot record the
// requeues fails start-up with one error naming a job and how many more.
func TestRecoveryRequeueFailureFailsStartup(t *testing.T) {
	f := storetest.NewFaulty(pendingStore(t, 5))
	boom := errors.New("disk on fire")
	f.SetFail(storetest.MethodJobUpdate, boom)
	policy, err := engine.NewPolicy(fakesolver.Path(), nil, nil, "none")
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.New(context.Background(), engine.Options{Store: f, Runner: local.New(local.Options{}),
		Telemetry: host.NewFakeSource(host.IdleSample()), Policy: policy, DataDir: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		m.Close(context.Background())
		t.Fatal("New succeeded with a store that cannot requeue")
	}
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "requeue job P00") || !strings.Contains(err.Error(), "(and 4 more)") {
		t.Errorf("New: %v", err)
	}
	if got := f.Calls(storetest.MethodJobUpdate); got != 5 {
		t.Errorf("JobUpdate calls %d, want 5", got)
	}
}
