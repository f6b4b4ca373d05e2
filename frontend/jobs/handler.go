package jobs

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// Handler serves the job table.
type Handler struct{ Env *frontend.Env }

// Register adds the page's routes.
func (h Handler) Register(r frontend.Router) {
	r.Get("/ui/jobs", h.page)
	r.Post("/ui/jobs/cancel", h.cancel)
}

// maxBulk bounds one bulk cancel.
const maxBulk = 500

func (h Handler) page(c *fiber.Ctx) error {
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	f, ferr := ParseFilter(q)
	live := f.Query()
	live.Set("page", "jobs")
	if f.FirstPage() {
		live.Set("first", "1")
	}
	p := h.Env.Page(c, "Jobs", frontend.NavJobs, live)
	who, _ := server.Caller(c)
	if ferr != nil {
		m := Model{Filter: Filter{}, Error: ferr.Error()}
		return frontend.RenderStatus(c, fiber.StatusBadRequest, Page(p, m, who))
	}
	m, err := Load(c.UserContext(), h.Env.Manager, f)
	if err != nil {
		return err
	}
	m.Notice = c.Query("notice")
	return frontend.Render(c, Page(p, m, who))
}

func (h Handler) cancel(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	args := c.Request().PostArgs()
	ids := args.PeekMulti("id")
	var done, failed []string
	if len(ids) == 0 {
		failed = append(failed, "No job selected.")
	}
	if len(ids) > maxBulk {
		failed = append(failed, fmt.Sprintf("At most %d jobs at once.", maxBulk))
		ids = nil
	}
	ctx := c.UserContext()
	for _, raw := range ids {
		id := string(raw)
		_, err := h.Env.Manager.Job(ctx, id)
		if errors.Is(err, engine.ErrNotFound) {
			failed = append(failed, fmt.Sprintf("%s: no such job", id))
			continue
		}
		if err != nil {
			return err
		}
		res, err := h.Env.Manager.Cancel(ctx, id, "")
		if err != nil {
			var ce *engine.ConflictError
			if errors.As(err, &ce) {
				failed = append(failed, ce.Message)
				continue
			}
			if errors.Is(err, engine.ErrForbidden) {
				failed = append(failed, err.Error())
				continue
			}
			return err
		}
		if res.Cancelled {
			done = append(done, res.Message)
		} else {
			failed = append(failed, res.Message)
		}
	}
	if frontend.IsHTMX(c) {
		return frontend.Render(c, BulkResult(done, failed))
	}
	msg := fmt.Sprintf("%d cancelled, %d not", len(done), len(failed))
	return c.Redirect("/ui/jobs?notice="+url.QueryEscape(msg), fiber.StatusSeeOther)
}
