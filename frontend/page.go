package frontend

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/server"
)

// Env is what every page handler needs: the engine, host telemetry and the
// browser sessions. One Env serves the whole dashboard.
type Env struct {
	Manager   *engine.Manager
	Sampler   server.Sampler
	Sessions  *server.Sessions // nil: no login (auth none or proxy)
	AuthMode  string           // none, token or proxy (server.Authenticator.Mode)
	Version   string
	Scheduler server.SchedulerInfo
	// Licenses is the license servers' state; nil without --license-server.
	Licenses server.Licenses
	// Boot names this server process in the live feed: a page that
	// reconnects to another process (after a restart) must resync, since
	// event numbers start again.
	Boot string
}

// NewBoot returns a random boot id.
func NewBoot() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Nav entries, by the Active value a page sets.
const (
	NavOverview = "overview"
	NavJobs     = "jobs"
	NavSubmit   = "submit"
	NavCluster  = "cluster"
	NavSettings = "settings"
	NavSweeps   = "sweeps"
)

// Page is what the layout needs to frame a page.
type Page struct {
	Title  string
	Active string // a Nav* constant
	User   server.Identity
	// Login is true when the server has a login (token auth): the header
	// then offers to log out.
	Login bool
	CSRF  string
	// Live is the page's WebSocket query (page=jobs&...), "" for no feed.
	Live string
	Seq  int64
	Boot string
	// StoreFault, when set, says why the database cannot be written now
	// (full or read-only volume): the layout shows it as a banner.
	StoreFault string
}

// Page frames a page for the caller of c. live is the page's live-feed
// query; Seq is read now, before the page's data, so that the feed replays
// every event the data may not show yet.
func (e *Env) Page(c *fiber.Ctx, title, active string, live url.Values) Page {
	who, _ := server.Caller(c)
	p := Page{
		Title: title, Active: active, User: who, CSRF: server.CSRFToken(c),
		Login: e.Sessions != nil && e.Sessions.LoginNeeded(),
		Seq:   e.Manager.Events().Seq(), Boot: e.Boot,
	}
	if live != nil {
		p.Live = live.Encode()
	}
	if err := e.Manager.StoreHealth(c.UserContext()); err != nil {
		p.StoreFault = storeFaultText(err)
	}
	return p
}

// Render writes a component as the HTML reply.
func Render(c *fiber.Ctx, comp templ.Component) error {
	c.Type("html", "utf-8")
	c.Set("Cache-Control", "no-store")
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// RenderStatus is Render with a status code.
func RenderStatus(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	return Render(c, comp)
}

// CheckCSRF is server.CheckCSRF for the pages' forms. A refused request
// is answered here, and ok is false: a form posted without JavaScript gets
// a page that says why, htmx gets the message (app.js shows it).
func (e *Env) CheckCSRF(c *fiber.Ctx) (ok bool, err error) {
	refused := server.CheckCSRF(c)
	if refused == nil {
		return true, nil
	}
	msg := refused.Error()
	var fe *fiber.Error
	if errors.As(refused, &fe) {
		msg = fe.Message
	}
	if IsHTMX(c) {
		return false, RenderStatus(c, fiber.StatusForbidden, Message("error", "Refused: "+msg+"."))
	}
	return false, RenderStatus(c, fiber.StatusForbidden, ErrorPage(e.Page(c, "Refused", "", nil), "Refused", "This request was refused: "+msg+"."))
}

// IsHTMX reports whether htmx made the request (it then wants a fragment).
func IsHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// headersJSON is the hx-headers value that makes htmx send the CSRF token.
func headersJSON(csrf string) string {
	b, _ := json.Marshal(map[string]string{server.CSRFHeader: csrf})
	return string(b)
}

// liveURL is the page's WebSocket address.
func liveURL(p Page) string { return "/ui/live?" + p.Live }

// JobURL is the page of a job.
func JobURL(id string) templ.SafeURL { return templ.SafeURL("/ui/jobs/" + url.PathEscape(id)) }

// JobLogURL is the raw log of a job's attempt.
func JobLogURL(id string, attempt int, stream string) templ.SafeURL {
	return templ.SafeURL("/jobs/" + url.PathEscape(id) + "/log?stream=" + stream + "&attempt=" + itoa(attempt))
}

// OOB returns the attribute that makes a live fragment replace the element
// with its id, or nothing for the first render.
func OOB(oob bool) templ.Attributes {
	if oob {
		return templ.Attributes{"hx-swap-oob": "true"}
	}
	return templ.Attributes{}
}

// MayChange reports whether who may cancel, re-prioritise or resubmit a
// job: its owner or an admin (SPEC section 6).
// The rule is the engine's (engine.Actor.MayChange); this only decides
// whether to show the buttons.
func MayChange(who server.Identity, j engine.Job) bool {
	return engine.Actor{Name: who.Name, Admin: who.Admin()}.MayChangeJob(j)
}

// ConfigUserCounts reports whether a submission's user field decides who
// owns it: only without authentication (engine.Actor.Authenticated false),
// so the form shows the field only then. Who owns a submission is the
// engine's rule, from the actor of the request's context.
func (e *Env) ConfigUserCounts() bool {
	return e.AuthMode == "" || e.AuthMode == "none"
}

// Router is where a page registers its routes: the dashboard wraps the
// fiber app so that every page route demands a signed-in caller.
type Router interface {
	Get(path string, handlers ...fiber.Handler) fiber.Router
	Post(path string, handlers ...fiber.Handler) fiber.Router
}

// Invalid marks an input whose value was refused (aria-invalid="true").
func Invalid(err string) templ.Attributes {
	if err != "" {
		return templ.Attributes{"aria-invalid": "true"}
	}
	return templ.Attributes{}
}

// storeFaultText is the banner's text for a store that cannot write.
func storeFaultText(err error) string {
	var sf *engine.StoreFault
	cause := "the database is not available"
	if errors.As(err, &sf) {
		cause = sf.Error()
	}
	return "New jobs cannot be saved: " + cause + ". Submissions are refused until then; running jobs keep running and their ends are recorded once it clears."
}
