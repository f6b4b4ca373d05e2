// Package dashboard mounts the browser pages on the server's fiber app:
// the embedded assets, a guard that sends signed-out browsers to the login
// page, every page package's routes, and the live feed (/ui/live) that
// keeps open pages current.
package dashboard

import (
	"context"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/websocket/v2"

	"github.com/simjobs/simjobs"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/frontend/cluster"
	"github.com/simjobs/simjobs/frontend/jobpage"
	"github.com/simjobs/simjobs/frontend/jobs"
	"github.com/simjobs/simjobs/frontend/login"
	"github.com/simjobs/simjobs/frontend/overview"
	"github.com/simjobs/simjobs/frontend/settings"
	"github.com/simjobs/simjobs/frontend/submit"
	"github.com/simjobs/simjobs/frontend/sweeps"
	"github.com/simjobs/simjobs/server"
)

// Options tune the dashboard; the zero value is what the server uses.
type Options struct {
	// TailEvery is how often a job page's log is read while the job runs
	// (default 500ms).
	TailEvery time.Duration
}

// Dashboard is the set of browser pages.
type Dashboard struct {
	env  *frontend.Env
	ctx  context.Context
	opts Options
	memo *memo
	ws   fiber.Handler
}

// New returns the dashboard. ctx ends when the server stops: the live feed
// then closes its connections with "service restart", and open pages
// reconnect by themselves when the server is back.
func New(ctx context.Context, env *frontend.Env, o Options) *Dashboard {
	if o.TailEvery <= 0 {
		o.TailEvery = 500 * time.Millisecond
	}
	if env.Boot == "" {
		env.Boot = frontend.NewBoot()
	}
	d := &Dashboard{env: env, ctx: ctx, opts: o, memo: newMemo(env)}
	d.ws = websocket.New(d.serveLive, websocket.Config{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 16 << 10})
	return d
}

// Mount adds the assets, the pages and the live feed to app; it is
// server.Options.Mount.
func (d *Dashboard) Mount(app *fiber.App) {
	static, err := fs.Sub(simjobs.Static, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))
	login.Handler{Env: d.env}.Register(app)
	r := guarded{app: app, guard: d.guard}
	overview.Handler{Env: d.env}.Register(r)
	jobs.Handler{Env: d.env}.Register(r)
	jobpage.Handler{Env: d.env}.Register(r)
	submit.Handler{Env: d.env}.Register(r)
	settings.Handler{Env: d.env}.Register(r)
	cluster.Handler{Env: d.env}.Register(r)
	sweeps.Handler{Env: d.env}.Register(r)
	app.Get("/ui/live", d.guard, d.live)
}

// guard lets signed-in callers through; a signed-out browser asking for a
// page goes to the login page and comes back after it.
func (d *Dashboard) guard(c *fiber.Ctx) error {
	if _, ok := server.Caller(c); ok {
		return c.Next()
	}
	if c.Method() == fiber.MethodGet && d.env.Sessions != nil && d.env.Sessions.LoginNeeded() && !websocket.IsWebSocketUpgrade(c) {
		return c.Redirect("/ui/login?"+url.Values{"next": {string(c.Request().RequestURI())}}.Encode(), fiber.StatusSeeOther)
	}
	return fiber.NewError(fiber.StatusUnauthorized, "authentication required")
}

// guarded registers routes behind the guard.
type guarded struct {
	app   *fiber.App
	guard fiber.Handler
}

func (g guarded) Get(path string, h ...fiber.Handler) fiber.Router {
	return g.app.Get(path, append([]fiber.Handler{g.guard}, h...)...)
}

func (g guarded) Post(path string, h ...fiber.Handler) fiber.Router {
	return g.app.Post(path, append([]fiber.Handler{g.guard}, h...)...)
}
