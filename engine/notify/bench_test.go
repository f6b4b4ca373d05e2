package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// BenchmarkDeliverEnds measures the whole way from jobs' ends to a webhook
// receiver: fan-out from the status changes into the outbox, the signed
// POST, the outcome recorded. b.N jobs have ended when the notifier is
// woken; the figure is deliveries per second.
//
//	go test -run '^$' -bench DeliverEnds -benchtime 2000x ./engine/notify/
func BenchmarkDeliverEnds(b *testing.B) {
	var got atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == n {
			close(all)
		}
	}))
	defer rcv.Close()
	bd := setup(b, nil, func(o *notify.Options) { o.Webhooks = []string{rcv.URL}; o.Poll = time.Hour; o.Events = nil })
	ctx := b.Context()
	for i := range b.N {
		p := storetest.Params(fmt.Sprintf("JOB_%d", i))
		j, err := bd.st.JobInsert(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range []engine.Status{engine.StatusRunning, engine.StatusCompleted} {
			if err := bd.st.JobUpdate(ctx, engine.JobUpdateParams{ID: j.ID, Attempt: 1, Status: st}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	bd.n.Wake()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d delivered", got.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkEngineJobs runs no-op jobs through the real engine (4 at once)
// without a notifier, then with one telling a webhook of every start and
// end: the ratio of the two is what notifications cost the engine.
//
//	go test -run '^$' -bench EngineJobs -benchtime 400x ./engine/notify/
func BenchmarkEngineJobs(b *testing.B) {
	envExe, err := exec.LookPath("env")
	if err != nil {
		b.Skip("no env(1) on PATH:", err)
	}
	for _, withNotifier := range []bool{false, true} {
		name := "without"
		if withNotifier {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			var got atomic.Int64
			rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) }))
			defer rcv.Close()
			dir := b.TempDir()
			st, err := store.Open(b.Context(), filepath.Join(dir, "simjobs.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			policy, _ := engine.NewPolicy(fakesolver.Path(), []string{envExe}, nil, "none")
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			allow, _ := notify.ParseAllowList("127.0.0.1")
			m, err := engine.New(b.Context(), engine.Options{Store: st, Runner: local.New(local.Options{}), Policy: policy,
				DataDir: dir, Logger: quiet, Limits: engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100}, Notify: notify.Checker{Allow: allow}})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(context.Background())
			if withNotifier {
				n, err := notify.New(notify.Options{Outbox: st, Jobs: m, Events: m.Events(), Allow: allow, Logger: quiet, Webhooks: []string{rcv.URL}})
				if err != nil {
					b.Fatal(err)
				}
				n.Start(b.Context())
				defer n.Stop()
			}
			ids := make([]string, b.N)
			b.ResetTimer()
			for i := range b.N {
				ids[i] = fmt.Sprintf("job_%d", i)
				cfg, _ := json.Marshal(engine.CommandConfig{JobID: ids[i], Command: []string{fakesolver.Path()}})
				if _, err := m.Submit(b.Context(), engine.SubmitRequest{Config: cfg, Notify: json.RawMessage(`{"webhook":"` + rcv.URL + `","on":["started","completed"]}`)}); err != nil {
					b.Fatal(err)
				}
			}
			for _, id := range ids {
				if _, err := m.Wait(b.Context(), id); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}
