package overview

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/frontend"
)

// Handler serves the overview.
type Handler struct{ Env *frontend.Env }

// Register adds the page's routes.
func (h Handler) Register(r frontend.Router) {
	r.Get("/", h.page)
}

func (h Handler) page(c *fiber.Ctx) error {
	p := h.Env.Page(c, "Overview", frontend.NavOverview, url.Values{"page": {"overview"}})
	m, err := Load(c.UserContext(), h.Env)
	if err != nil {
		return err
	}
	return frontend.Render(c, Page(p, m))
}
