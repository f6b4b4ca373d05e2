package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/simjobs/simjobs/engine"
)

// TestAccessRules is the access policy once, at the engine: each actor ×
// each action that changes state, allowed or ErrForbidden. The API, the
// pages and the CLI's local fallback only pass the actor.
func TestAccessRules(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	// Nothing starts: every job the table makes stays queued, so that each
	// cancel and re-prioritisation has something to act on.
	if err := b.m.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	actors := []struct {
		name string
		ctx  func() context.Context
	}{
		{"no-auth", func() context.Context {
			return engine.WithActor(context.Background(), engine.Actor{Name: "osuser", Admin: true})
		}},
		{"owner", func() context.Context {
			return engine.WithActor(context.Background(), engine.Actor{Name: "alice", Authenticated: true})
		}},
		{"other", func() context.Context {
			return engine.WithActor(context.Background(), engine.Actor{Name: "bob", Authenticated: true})
		}},
		{"admin", func() context.Context {
			return engine.WithActor(context.Background(), engine.Actor{Name: "root", Admin: true, Authenticated: true})
		}},
		{"system", context.Background},
		{"anonymous", func() context.Context { return engine.WithActor(context.Background(), engine.Anonymous) }},
	}
	n := 0
	aliceJob := func(t *testing.T) string {
		n++
		id := fmt.Sprintf("acc%d", n)
		if _, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: b.command(id), User: "alice"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	aliceSweep := func(t *testing.T) string {
		res, err := b.m.SubmitSweep(context.Background(), engine.SweepRequest{User: "alice", Template: b.sweepTemplate("s${W}"), Parameters: params(t, `{"W": [1]}`)})
		if err != nil {
			t.Fatal(err)
		}
		return res.SweepID
	}
	one := 1
	actions := []struct {
		name string
		do   func(t *testing.T, ctx context.Context) error
	}{
		{"submit", func(t *testing.T, ctx context.Context) error {
			n++
			_, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command(fmt.Sprintf("sub%d", n))})
			return err
		}},
		{"validate", func(t *testing.T, ctx context.Context) error {
			return b.m.Validate(ctx, engine.SubmitRequest{Config: b.command("never")})
		}},
		{"submit-sweep", func(t *testing.T, ctx context.Context) error {
			_, err := b.m.SubmitSweep(ctx, engine.SweepRequest{Template: b.sweepTemplate("s${W}"), Parameters: params(t, `{"W": [1]}`)})
			return err
		}},
		{"cancel", func(t *testing.T, ctx context.Context) error {
			_, err := b.m.Cancel(ctx, aliceJob(t), "")
			return err
		}},
		{"set-priority", func(t *testing.T, ctx context.Context) error {
			return b.m.SetPriority(ctx, aliceJob(t), 3)
		}},
		{"cancel-sweep", func(t *testing.T, ctx context.Context) error {
			_, err := b.m.CancelSweep(ctx, aliceSweep(t), "")
			return err
		}},
		{"resubmit-sweep", func(t *testing.T, ctx context.Context) error {
			_, err := b.m.ResubmitSweep(ctx, aliceSweep(t), "")
			return err
		}},
		{"resubmit", func(t *testing.T, ctx context.Context) error {
			// The next attempt of alice's job, which has ended.
			id := aliceJob(t)
			if _, err := b.m.Cancel(context.Background(), id, ""); err != nil {
				t.Fatal(err)
			}
			_, err := b.m.Submit(ctx, engine.SubmitRequest{Config: b.command(id)})
			return err
		}},
		{"change-limits", func(t *testing.T, ctx context.Context) error {
			_, _, err := b.m.ChangeLimits(ctx, engine.LimitsPatch{MaxConcurrentJobs: &one})
			return err
		}},
		{"drain", func(t *testing.T, ctx context.Context) error { return b.m.Drain(ctx) }},
	}
	// allowed[action] lists the actors that may; every other is refused.
	allowed := map[string][]string{
		"submit":         {"no-auth", "owner", "other", "admin", "system"},
		"validate":       {"no-auth", "owner", "other", "admin", "system"},
		"submit-sweep":   {"no-auth", "owner", "other", "admin", "system"},
		"cancel":         {"no-auth", "owner", "admin", "system"},
		"resubmit":       {"no-auth", "owner", "admin", "system"},
		"set-priority":   {"no-auth", "owner", "admin", "system"},
		"cancel-sweep":   {"no-auth", "owner", "admin", "system"},
		"resubmit-sweep": {"no-auth", "owner", "admin", "system"},
		"change-limits":  {"no-auth", "admin", "system"},
		"drain":          {"no-auth", "admin", "system"},
	}
	for _, ac := range actions {
		for _, who := range actors {
			want := false
			for _, a := range allowed[ac.name] {
				want = want || a == who.name
			}
			err := ac.do(t, who.ctx())
			switch {
			case want && err != nil:
				t.Errorf("%s by %s: %v, want allowed", ac.name, who.name, err)
			case !want && !errors.Is(err, engine.ErrForbidden):
				t.Errorf("%s by %s: err = %v, want ErrForbidden", ac.name, who.name, err)
			}
		}
	}
}

// TestSubmissionOwner: a submission belongs to the authenticated user; the
// config's user field counts only without authentication.
func TestSubmissionOwner(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: roomy})
	if err := b.m.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	withUser := func(id, user string) json.RawMessage {
		var cfg map[string]any
		_ = json.Unmarshal(b.command(id), &cfg)
		if user != "" {
			cfg["user"] = user
		}
		js, _ := json.Marshal(cfg)
		return js
	}
	for _, tc := range []struct {
		id, configUser string
		actor          *engine.Actor
		want           string
	}{
		{"o1", "carol", &engine.Actor{Name: "alice", Authenticated: true}, "alice"},
		{"o2", "carol", &engine.Actor{Name: "root", Admin: true, Authenticated: true}, "root"},
		{"o3", "carol", &engine.Actor{Name: "osuser", Admin: true}, "carol"},
		{"o4", "", &engine.Actor{Name: "osuser", Admin: true}, "tester"},
		{"o5", "carol", nil, "carol"},
		{"o6", "", nil, "tester"},
	} {
		ctx := context.Background()
		if tc.actor != nil {
			ctx = engine.WithActor(ctx, *tc.actor)
		}
		if _, err := b.m.Submit(ctx, engine.SubmitRequest{Config: withUser(tc.id, tc.configUser)}); err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		j, err := b.m.Job(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if j.User != tc.want {
			t.Errorf("%s: owner %q, want %q", tc.id, j.User, tc.want)
		}
	}
}
