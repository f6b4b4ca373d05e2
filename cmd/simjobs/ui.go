package main

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/frontend/dashboard"
	"github.com/simjobs/simjobs/server"
)

// mountUI returns the dashboard's Mount: the browser pages and their
// embedded assets. ctx ends when the HTTP server stops.
func mountUI(ctx context.Context, m *engine.Manager, sampler server.Sampler, sessions *server.Sessions, auth server.Authenticator, sched server.SchedulerInfo, licenses server.Licenses) func(app *fiber.App) {
	env := &frontend.Env{Manager: m, Sampler: sampler, Sessions: sessions, AuthMode: auth.Mode(), Version: version, Scheduler: sched, Licenses: licenses}
	return dashboard.New(ctx, env, dashboard.Options{}).Mount
}
