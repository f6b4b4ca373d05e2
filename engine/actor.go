package engine

import (
	"context"
	"errors"
	"fmt"
)

// SystemActor is the actor of what the server does by itself: starting a
// job, recording its end, queueing it again after a restart. No user can
// be called so: token names and proxy users with this name are refused.
const SystemActor = "system"

// ErrForbidden is an action the actor may not take (someone else's job, an
// admin-only action). The API answers it 403, the pages show it; the
// errors the rules return are a *ForbiddenError, which is ErrForbidden.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError is a refusal by the access rules, with the message the
// client is shown.
type ForbiddenError struct{ Message string }

func (e *ForbiddenError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrForbidden) hold.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

func forbiddenf(format string, args ...any) error {
	return &ForbiddenError{Message: fmt.Sprintf(format, args...)}
}

// Actor is who acts on the Manager. It travels in the context (WithActor),
// so every call that changes state is both checked against the access
// rules below and recorded with its actor, and no caller says who it is
// twice. The rules live here only: the API, the pages, Socket.IO and the
// CLI's local fallback all ask them.
type Actor struct {
	// Name is who acts ("" for a caller the server could not identify).
	Name string
	// Admin may change anyone's jobs, the limits and the settings, and
	// drain the server.
	Admin bool
	// Authenticated reports that the server checks who calls (tokens, a
	// proxy): then a submission belongs to Name. Without authentication it
	// belongs to the config's user field (or the server's default user).
	Authenticated bool
}

// System is the process itself: the engine's own restarts and retries, and
// an in-process caller whose context names no actor (the CLI's local
// fallback, tests). It may do everything; it submits as no-auth does.
var System = Actor{Name: SystemActor, Admin: true}

// Anonymous is a request the server could not identify while
// authentication is on: it may change nothing.
var Anonymous = Actor{Authenticated: true}

type actorKey struct{}

// WithActor returns ctx carrying who acts.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf is the actor ctx carries, System when it names none.
func ActorOf(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return System
}

// actorOr is the name of the actor of ctx, or def when ctx names none: a
// job's own changes are recorded as its submitter's.
func actorOr(ctx context.Context, def string) string {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.Name != "" {
		return a.Name
	}
	return def
}

// MayChange reports whether a may cancel, re-prioritise or resubmit what
// owner submitted (a job or a sweep): its owner or an admin (SPEC section
// 6). The pages ask it to decide whether to show the buttons.
func (a Actor) MayChange(owner string) bool {
	return a.Admin || (a.Name != "" && a.Name == owner)
}

// MayChangeJob is MayChange for a job.
func (a Actor) MayChangeJob(j Job) bool { return a.MayChange(j.User) }

// ChangeJob is MayChangeJob as an error (a *ForbiddenError) naming the
// job and its owner, for a page to show.
func (a Actor) ChangeJob(j Job) error { return a.change("job "+j.ID, j.User) }

// ChangeSweep is ChangeJob for a sweep.
func (a Actor) ChangeSweep(sw Sweep) error { return a.change("sweep "+sw.ID, sw.User) }

// change is MayChange as an error naming what and whose.
func (a Actor) change(what, owner string) error {
	if a.MayChange(owner) {
		return nil
	}
	return forbiddenf("%s belongs to %s; only they or an admin may change it", what, owner)
}

// AdminOnly is nil when a may take an admin-only action (limits, settings,
// drain, backups, the audit trail: the routes marked admin), else a
// *ForbiddenError naming what.
func (a Actor) AdminOnly(what string) error {
	if a.Admin {
		return nil
	}
	return forbiddenf("%s needs the admin role", what)
}

// submitter is the authenticated identity a submission belongs to, "" when
// the server runs without authentication (the config's user field, or the
// policy's default user, then decides: see Policy.owner). An actor the
// server could not identify may not submit.
func (a Actor) submitter() (string, error) {
	if !a.Authenticated {
		return "", nil
	}
	if a.Name == "" {
		return "", forbiddenf("submitting needs a signed-in user")
	}
	return a.Name, nil
}

// mayChangeJob checks, before a change, that the actor of ctx may change
// job id; an admin is let through without a read.
func (m *Manager) mayChangeJob(ctx context.Context, id string) error {
	a := ActorOf(ctx)
	if a.Admin {
		return nil
	}
	job, err := m.store.JobGet(ctx, id)
	if err != nil {
		return err
	}
	return a.change("job "+id, job.User)
}

// mayChangeSweep is mayChangeJob for a sweep.
func (m *Manager) mayChangeSweep(ctx context.Context, id string) error {
	a := ActorOf(ctx)
	if a.Admin {
		return nil
	}
	sw, err := m.store.SweepGet(ctx, id)
	if err != nil {
		return err
	}
	return a.change("sweep "+id, sw.User)
}

// submitUser is who a submission from ctx is submitted as: req.User, when
// an in-process caller (a retry, a sweep's resubmission) names the
// submitter itself, else the actor's (see Actor.submitter).
func submitUser(ctx context.Context, reqUser string) (string, error) {
	if reqUser != "" {
		return reqUser, nil
	}
	return ActorOf(ctx).submitter()
}

// mayResubmit checks that the actor of ctx may start the next attempt of
// job id if it exists: a job id is its owner's, so another user may not
// queue a new attempt of it (it would run under their name in the owner's
// history). Only a signed-in non-admin pays the read; a new id passes.
func (m *Manager) mayResubmit(ctx context.Context, id string) error {
	a := ActorOf(ctx)
	if !a.Authenticated || a.Admin {
		return nil
	}
	job, err := m.store.JobGet(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.MayChangeJob(job) {
		return nil
	}
	return forbiddenf("job %s belongs to %s; only they or an admin may submit it again", id, job.User)
}
