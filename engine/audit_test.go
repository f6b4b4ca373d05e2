package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

// Every transition names who caused it: the actor of the request's
// context for submit, cancel and re-prioritise; the server itself for
// starts and ends.
func TestTransitionsNameTheirActor(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 100}})
	as := func(who string) context.Context {
		return engine.WithActor(context.Background(), engine.Actor{Name: who, Admin: true})
	}
	sub := b.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	if _, err := b.m.Submit(as("alice"), engine.SubmitRequest{Config: b.command("first", "FAKE_SOLVER_SLEEP=30"), User: "alice"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sub, engine.EventJobStarted, "first")
	if _, err := b.m.Submit(as("alice"), engine.SubmitRequest{Config: b.command("second"), User: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := b.m.SetPriority(as("root"), "second", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Cancel(as("bob"), "second", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Cancel(as("carol"), "first", ""); err != nil {
		t.Fatal(err)
	}
	b.wait(t, "first")

	type step struct{ Status, Actor, Message string }
	history := func(id string) []step {
		tr, err := b.m.Transitions(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var out []step
		for _, x := range tr {
			out = append(out, step{string(x.Status), x.Actor, x.Message})
		}
		return out
	}
	want := []step{
		{"queued", "alice", "submitted"},
		{"queued", "root", "priority changed from 0 to 5"},
		{"cancelled", "bob", "cancelled by bob while queued"},
	}
	if diff := cmp.Diff(want, history("second")); diff != "" {
		t.Errorf("second (-want +got):\n%s", diff)
	}
	first := history("first")
	if len(first) != 3 || first[0].Actor != "alice" || first[1].Actor != engine.SystemActor || first[2].Actor != "carol" || first[2].Status != "cancelled" {
		t.Errorf("first: %+v; want submitted by alice, started by the system, cancelled by carol", first)
	}
}

// Limits changes and drains are audited with their actor; a change that
// cannot be recorded does not happen.
func TestChangeLimitsIsAudited(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), t.TempDir()+"/simjobs.db")
	if err != nil {
		t.Fatal(err)
	}
	faulty := storetest.NewFaulty(st)
	b := setup(t, setupOpts{store: faulty})
	ctx := engine.WithActor(context.Background(), engine.Actor{Name: "root", Admin: true})
	four := 4
	if _, got, err := b.m.ChangeLimits(ctx, engine.LimitsPatch{MaxConcurrentJobs: &four}); err != nil || got.MaxConcurrentJobs != 4 {
		t.Fatalf("ChangeLimits: %+v %v", got, err)
	}
	if err := b.m.Record(context.Background(), engine.AuditDrain, "on SIGTERM"); err != nil {
		t.Fatal(err)
	}
	zero := 0
	if _, _, err := b.m.ChangeLimits(ctx, engine.LimitsPatch{MaxConcurrentJobs: &zero}); err == nil {
		t.Error("an invalid limit was accepted")
	}
	faulty.SetFail(storetest.MethodAuditInsert, errors.New("disk full"))
	two := 2
	if _, _, err := b.m.ChangeLimits(ctx, engine.LimitsPatch{MaxConcurrentJobs: &two}); err == nil {
		t.Error("a change that could not be recorded was made")
	}
	if got := b.m.Limits().MaxConcurrentJobs; got != 4 {
		t.Errorf("limit %d after an unrecorded change, want 4", got)
	}
	faulty.SetFail(storetest.MethodAuditInsert, nil)
	list, err := b.m.AuditLog(context.Background(), engine.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Action != engine.AuditDrain || list[0].Actor != engine.SystemActor ||
		list[1].Actor != "root" || !strings.Contains(list[1].Detail, "max_concurrent_jobs") || !strings.Contains(list[1].Detail, "→ 4") {
		t.Errorf("audit: %+v", list)
	}
}
