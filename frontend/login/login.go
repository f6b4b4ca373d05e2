// Package login is the sign-in page of token authentication: a browser
// gives its token once and then holds a session cookie (server.Sessions).
package login

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// Handler serves /ui/login and /ui/logout.
type Handler struct{ Env *frontend.Env }

// Register adds the routes; they are open to everyone.
func (h Handler) Register(r frontend.Router) {
	r.Get("/ui/login", h.page)
	r.Post("/ui/login", h.login)
	r.Post("/ui/logout", h.logout)
}

// safeNext keeps the redirect after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) {
		return "/"
	}
	return next
}

func (h Handler) page(c *fiber.Ctx) error {
	if h.Env.Sessions == nil || !h.Env.Sessions.LoginNeeded() {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	p := h.Env.Page(c, "Log in", "", nil)
	return frontend.Render(c, Page(p, safeNext(c.Query("next")), ""))
}

func (h Handler) login(c *fiber.Ctx) error {
	if h.Env.Sessions == nil || !h.Env.Sessions.LoginNeeded() {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	next := safeNext(c.FormValue("next"))
	if !server.SameOrigin(c) {
		return fiber.NewError(fiber.StatusForbidden, "cross-site login refused")
	}
	_, err := h.Env.Sessions.Login(c, strings.TrimSpace(c.FormValue("token")))
	if errors.Is(err, server.ErrBadToken) {
		p := h.Env.Page(c, "Log in", "", nil)
		return frontend.RenderStatus(c, fiber.StatusUnauthorized, Page(p, next, "That token is not valid here."))
	}
	if err != nil {
		return err
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

func (h Handler) logout(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	if h.Env.Sessions != nil {
		h.Env.Sessions.Logout(c)
	}
	return c.Redirect("/ui/login?"+url.Values{"next": {"/"}}.Encode(), fiber.StatusSeeOther)
}
