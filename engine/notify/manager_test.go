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
