package engine

import "context"

// SystemActor is the actor of what the server does by itself: starting a
// job, recording its end, queueing it again after a restart. No user can
// be called so: token names and proxy users with this name are refused.
const SystemActor = "system"

type actorKey struct{}

// WithActor returns ctx carrying who acts. Every change a Manager makes on
// behalf of a request (submit, cancel, re-prioritise, limits) is recorded
// with the actor of its context, so the HTTP layer says who calls once,
// where it authenticates, and every engine call it makes is attributed.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorOf is the actor ctx carries, "" when none.
func ActorOf(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// actorOr is the actor of ctx, or def when ctx names none.
func actorOr(ctx context.Context, def string) string {
	if a := ActorOf(ctx); a != "" {
		return a
	}
	return def
}
