package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
)

// OutboxStore is a store that also keeps the notification outbox.
type OutboxStore interface {
	engine.Store
	engine.Outbox
}

// RunOutboxSuite checks that an engine.Outbox honours its contract. open
// must return a new, empty store for each call, as for RunSuite.
func RunOutboxSuite(t *testing.T, open func(t *testing.T) OutboxStore) {
	t.Helper()
	for _, tt := range []struct {
		name string
		test func(t *testing.T, s OutboxStore)
	}{
		{"TransitionListAfter", suiteTransitionListAfter},
		{"DeliveryInsertMovesCursor", suiteDeliveryInsertMovesCursor},
		{"DeliveryLifecycle", suiteDeliveryLifecycle},
		{"DeliveryInvalid", suiteDeliveryInvalid},
		{"NotifySpec", suiteNotifySpec},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, open(t))
		})
	}
}

func suiteTransitionListAfter(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	start, err := s.OutboxCursorGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j := Insert(t, s, Params("JOB_1"))
	Finish(t, s, j, engine.StatusCompleted)
	got, err := s.TransitionListAfter(ctx, engine.TransitionListAfterParams{After: start})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []engine.Status
	for i, tr := range got {
		statuses = append(statuses, tr.Status)
		if i > 0 && tr.Seq <= got[i-1].Seq {
			t.Errorf("transition seqs not increasing: %d after %d", tr.Seq, got[i-1].Seq)
		}
		if tr.JobID != "JOB_1" || tr.Attempt != 1 {
			t.Errorf("transition %+v: want JOB_1 attempt 1", tr)
		}
	}
	if diff := cmp.Diff([]engine.Status{engine.StatusQueued, engine.StatusRunning, engine.StatusCompleted}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	// Paging: after the second, only the third; a limit of one, one.
	rest, err := s.TransitionListAfter(ctx, engine.TransitionListAfterParams{After: got[1].Seq})
	if err != nil || len(rest) != 1 || rest[0].Status != engine.StatusCompleted {
		t.Errorf("after the second: %+v, %v; want the completed one", rest, err)
	}
	one, err := s.TransitionListAfter(ctx, engine.TransitionListAfterParams{After: start, Limit: 1})
	if err != nil || len(one) != 1 {
		t.Errorf("limit 1: %d rows, %v", len(one), err)
	}
}

func delivery(id, job string, at time.Time) engine.Delivery {
	return engine.Delivery{ID: id, JobID: job, Attempt: 1, Event: "completed", Channel: "webhook",
		Target: "https://hooks.example.com/secret/path", Display: "https://hooks.example.com/…",
		Payload: []byte(`{"event":"completed"}`), Status: engine.DeliveryPending, Created: at, NextAttempt: at}
}

func suiteDeliveryInsertMovesCursor(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	c0, err := s.OutboxCursorGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeliveryInsert(ctx, engine.DeliveryInsertParams{Cursor: c0 + 5, Deliveries: []engine.Delivery{delivery("D1", "JOB_1", suiteT0)}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.OutboxCursorGet(ctx); c != c0+5 {
		t.Errorf("cursor %d, want %d", c, c0+5)
	}
	// A repeated fan-out (a crash before the cursor was seen) adds nothing,
	// and a cursor below the stored one does not move it back.
	again := delivery("D1", "JOB_1", suiteT0.Add(time.Hour))
	again.Target = "https://other.example.com/"
	if err := s.DeliveryInsert(ctx, engine.DeliveryInsertParams{Cursor: c0 + 2, Deliveries: []engine.Delivery{again}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.OutboxCursorGet(ctx); c != c0+5 {
		t.Errorf("cursor moved back to %d, want %d", c, c0+5)
	}
	got, err := s.DeliveryList(ctx, engine.DeliveryListParams{JobID: "JOB_1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Target != "https://hooks.example.com/secret/path" || !got[0].Created.Equal(suiteT0) {
		t.Errorf("after a repeated insert: %+v, want the first delivery unchanged", got)
	}
}

func suiteDeliveryLifecycle(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	t1 := suiteT0.Add(time.Minute)
	later := delivery("D2", "JOB_1", t1)
	sweep := delivery("S1", "", suiteT0)
	sweep.SweepID, sweep.Event = "SWEEP_1", "sweep_ended"
	if err := s.DeliveryInsert(ctx, engine.DeliveryInsertParams{Deliveries: []engine.Delivery{delivery("D1", "JOB_1", suiteT0), later, sweep}}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DeliveryListDue(ctx, engine.DeliveryListDueParams{Now: suiteT0})
	if err != nil {
		t.Fatal(err)
	}
	if ids := deliveryIDs(due); !cmp.Equal(ids, []string{"D1", "S1"}) {
		t.Errorf("due at t0: %v, want [D1 S1]", ids)
	}
	if next, ok, err := s.DeliveryNextDue(ctx); err != nil || !ok || !next.Equal(suiteT0) {
		t.Errorf("next due %v %v %v, want %v", next, ok, err, suiteT0)
	}
	// A failed attempt reschedules; a success ends it.
	retry := suiteT0.Add(10 * time.Minute)
	if err := s.DeliveryUpdate(ctx, engine.DeliveryUpdateParams{ID: "D1", Status: engine.DeliveryPending, Time: suiteT0, NextAttempt: retry, Error: "HTTP 500", Code: 500}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeliveryUpdate(ctx, engine.DeliveryUpdateParams{ID: "S1", Status: engine.DeliveryDelivered, Time: suiteT0, Code: 200}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeliveryUpdate(ctx, engine.DeliveryUpdateParams{ID: "S1", Status: engine.DeliveryFailed, Time: suiteT0}); !errors.Is(err, engine.ErrStale) {
		t.Errorf("updating a delivered delivery: %v, want ErrStale", err)
	}
	if err := s.DeliveryUpdate(ctx, engine.DeliveryUpdateParams{ID: "nope", Status: engine.DeliveryFailed, Time: suiteT0}); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("updating an unknown delivery: %v, want ErrNotFound", err)
	}
	due, _ = s.DeliveryListDue(ctx, engine.DeliveryListDueParams{Now: t1})
	if ids := deliveryIDs(due); !cmp.Equal(ids, []string{"D2"}) {
		t.Errorf("due at t1: %v, want [D2]", ids)
	}
	got, err := s.DeliveryList(ctx, engine.DeliveryListParams{JobID: "JOB_1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "D1" {
		t.Fatalf("job deliveries %+v", got)
	}
	d := got[0]
	if d.Attempts != 1 || d.Status != engine.DeliveryPending || d.LastCode != 500 || d.LastError != "HTTP 500" ||
		!d.NextAttempt.Equal(retry) || d.LastAttempt == nil || !d.LastAttempt.Equal(suiteT0) || string(d.Payload) != `{"event":"completed"}` {
		t.Errorf("after one failed attempt: %+v", d)
	}
	sw, err := s.DeliveryList(ctx, engine.DeliveryListParams{SweepID: "SWEEP_1"})
	if err != nil || len(sw) != 1 || sw[0].Status != engine.DeliveryDelivered || sw[0].Attempts != 1 {
		t.Errorf("sweep deliveries %+v, %v", sw, err)
	}
	if _, err := s.DeliveryList(ctx, engine.DeliveryListParams{}); err == nil {
		t.Error("DeliveryList without a job or sweep id: no error")
	}
}

func suiteDeliveryInvalid(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	for name, mod := range map[string]func(*engine.Delivery){
		"no id":      func(d *engine.Delivery) { d.ID = "" },
		"no target":  func(d *engine.Delivery) { d.Target = "" },
		"bad status": func(d *engine.Delivery) { d.Status = "lost" },
		"bad time":   func(d *engine.Delivery) { d.NextAttempt = time.Time{} },
	} {
		d := delivery("D1", "JOB_1", suiteT0)
		mod(&d)
		if err := s.DeliveryInsert(ctx, engine.DeliveryInsertParams{Deliveries: []engine.Delivery{d}}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := s.DeliveryUpdate(ctx, engine.DeliveryUpdateParams{ID: "D1", Status: "lost", Time: suiteT0}); err == nil {
		t.Error("update to an invalid status: no error")
	}
}

func suiteNotifySpec(t *testing.T, s OutboxStore) {
	ctx := t.Context()
	spec := json.RawMessage(`{"webhook":"https://example.com/h","on":["completed"]}`)
	p := Params("JOB_1")
	p.Notify = spec
	j := Insert(t, s, p)
	Finish(t, s, j, engine.StatusFailed)
	Insert(t, s, Params("JOB_1")) // attempt 2, without a spec
	got, err := s.NotifySpecGet(ctx, "JOB_1", 1)
	if err != nil || string(got) != string(spec) {
		t.Errorf("attempt 1 spec %s, %v; want %s", got, err, spec)
	}
	if got, err := s.NotifySpecGet(ctx, "JOB_1", 2); err != nil || got != nil {
		t.Errorf("attempt 2 spec %s, %v; want none", got, err)
	}
	bad := Params("JOB_2")
	bad.Notify = json.RawMessage(`{not json`)
	if _, err := s.JobInsert(ctx, bad); err == nil {
		t.Error("insert with an invalid notify spec: no error")
	}
}

func deliveryIDs(ds []engine.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}
