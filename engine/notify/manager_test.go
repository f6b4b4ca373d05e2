package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// The whole path with the real engine: a job submitted with a notify spec
// runs the fake HFSS solver, ends, and its webhook says it converged, as the
// solver's log does.
func TestWithTheEngine(t *testing.T) {
	t.Parallel()
	envExe, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env(1) on PATH:", err)
	}
	rcv := newReceiver(t)
	dir := t.TempDir()
	st, err := store.Open(t.Context(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	policy, err := engine.NewPolicy(fakesolver.Path(), []string{envExe}, nil, "none")
	if err != nil {
		t.Fatal(err)
	}
	allow, _ := notify.ParseAllowList("127.0.0.1")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := engine.New(t.Context(), engine.Options{
		Store: st, Runner: local.New(local.Options{KillGrace: time.Second}), Policy: policy, DataDir: dir,
		Logger: quiet, Notify: notify.Checker{Allow: allow},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	n, err := notify.New(notify.Options{Outbox: st, Jobs: m, Events: m.Events(), Allow: allow, Logger: quiet, PublicURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	n.Start(t.Context())
	t.Cleanup(n.Stop)

	cfg, _ := json.Marshal(engine.CommandConfig{JobID: "hfss_1", Command: []string{envExe, "FAKE_SOLVER_SCRIPT=" + fakesolver.HFSSLog(), fakesolver.Path()}})
	if _, err := m.Submit(t.Context(), engine.SubmitRequest{Config: cfg, Notify: json.RawMessage(`{"webhook": "` + rcv.srv.URL + `", "on": ["started", "completed"]}`)}); err != nil {
		t.Fatal(err)
	}
	// Without a checker the field is refused, naming it.
	var ve *engine.ValidationError
	dir2 := t.TempDir()
	st2, err := store.Open(t.Context(), filepath.Join(dir2, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	m2, err := engine.New(t.Context(), engine.Options{Store: st2, Runner: local.New(local.Options{}), Policy: policy, DataDir: dir2, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close(context.Background())
	if _, err := m2.Submit(t.Context(), engine.SubmitRequest{Config: cfg, Notify: json.RawMessage(`{"webhook":"https://x.example/"}`)}); !errors.As(err, &ve) || ve.Field != "notify" {
		t.Errorf("notify without a checker: %v, want a validation error on notify", err)
	}

	waitFor(t, "started and completed", func() bool { return len(rcv.requests()) == 2 })
	events := map[string]notify.Summary{}
	for _, r := range rcv.requests() {
		var body struct {
			Event   string
			Summary notify.Summary
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		events[body.Event] = body.Summary
	}
	done, ok := events["completed"]
	if _, started := events["started"]; !ok || !started {
		t.Fatalf("events %v, want started and completed", events)
	}
	if done.Converged == nil || !*done.Converged || done.ReturnCode == nil || *done.ReturnCode != 0 || done.ElapsedSeconds == nil {
		t.Errorf("completed summary %+v, want converged, exit 0, an elapsed time", done)
	}
	if !strings.HasSuffix(done.URL, "/ui/jobs/hfss_1") {
		t.Errorf("link %q", done.URL)
	}
}

// A sweep submitted with a notify object is one webhook call when its last
// job ends, with the counts; a notifier started again later (after a
// restart) owes nothing more for it.
func TestSweepWithTheEngine(t *testing.T) {
	t.Parallel()
	envExe, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env(1) on PATH:", err)
	}
	rcv := newReceiver(t)
	dir := t.TempDir()
	st, err := store.Open(t.Context(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	policy, err := engine.NewPolicy(fakesolver.Path(), []string{envExe}, nil, "none")
	if err != nil {
		t.Fatal(err)
	}
	allow, _ := notify.ParseAllowList("127.0.0.1")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := engine.New(t.Context(), engine.Options{
		Store: st, Runner: local.New(local.Options{KillGrace: time.Second}), Policy: policy, DataDir: dir,
		Logger: quiet, Notify: notify.Checker{Allow: allow}, Limits: engine.Limits{MaxConcurrentJobs: 2, MaxCPUPercent: 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	start := func() *notify.Notifier {
		n, err := notify.New(notify.Options{Outbox: st, Jobs: m, Sweeps: m, Events: m.Events(), Allow: allow, Logger: quiet, PublicURL: "http://x"})
		if err != nil {
			t.Fatal(err)
		}
		n.Start(t.Context())
		return n
	}
	n := start()

	tpl, _ := json.Marshal(map[string]any{"command": []string{envExe, "FAKE_SOLVER_EXIT=${CODE}", fakesolver.Path()}})
	var ps expand.Params
	if err := json.Unmarshal([]byte(`{"CODE": ["0", "0", "3"]}`), &ps); err != nil {
		t.Fatal(err)
	}
	res, err := m.SubmitSweep(t.Context(), engine.SweepRequest{Name: "codes", Template: tpl, Parameters: ps,
		Notify: json.RawMessage(`{"webhook": "` + rcv.srv.URL + `/sweeps"}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sweep's notification", func() bool { return len(rcv.requests()) == 1 })
	var body struct {
		Event string
		Sweep notify.SweepSummary
	}
	if err := json.Unmarshal(rcv.requests()[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Event != "sweep_ended" || body.Sweep.ID != res.SweepID || body.Sweep.Total != 3 ||
		body.Sweep.Counts["completed"] != 2 || body.Sweep.Counts["failed"] != 1 {
		t.Fatalf("sweep notification %+v", body)
	}
	// A bad notify object refuses the whole sweep, naming the field.
	_, err = m.SubmitSweep(t.Context(), engine.SweepRequest{Template: tpl, Parameters: ps, Notify: json.RawMessage(`{"webhook": "ftp://x"}`)})
	var ve *engine.ValidationError
	if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, "notify") {
		t.Errorf("bad sweep notify: %v, want a validation error on notify", err)
	}

	// A sweep that ends while no notifier listens (a crash between its
	// last job's end and the event) is found when one starts; the first
	// sweep's delivery exists, so it is not sent again.
	n.Stop()
	res2, err := m.SubmitSweep(t.Context(), engine.SweepRequest{Name: "unheard", Template: tpl, Parameters: ps,
		Notify: json.RawMessage(`{"webhook": "` + rcv.srv.URL + `/sweeps"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range res2.JobIDs {
		if _, err := m.Wait(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the second sweep's end", func() bool {
		sw, err := m.Sweep(t.Context(), res2.SweepID)
		return err == nil && sw.EndTime != nil
	})
	n2 := start()
	defer n2.Stop()
	waitFor(t, "the missed sweep's notification", func() bool { return len(rcv.requests()) == 2 })
	for _, id := range []string{res.SweepID, res2.SweepID} {
		ds, err := st.DeliveryList(t.Context(), engine.DeliveryListParams{SweepID: id})
		if err != nil || len(ds) != 1 {
			t.Errorf("deliveries of sweep %s after a restart: %+v, %v; want one", id, ds, err)
		}
	}
	if got := len(rcv.requests()); got != 2 {
		t.Errorf("%d calls after a restart, want 2", got)
	}
}
