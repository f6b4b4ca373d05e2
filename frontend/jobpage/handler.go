package jobpage

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// Handler serves job pages.
type Handler struct{ Env *frontend.Env }

// Register adds the page's routes.
func (h Handler) Register(r frontend.Router) {
	r.Get("/ui/jobs/:id", h.page)
	r.Post("/ui/jobs/:id/cancel", h.cancel)
	r.Post("/ui/jobs/:id/priority", h.priority)
	r.Post("/ui/jobs/:id/resubmit", h.resubmit)
	r.Get("/ui/jobs/:id/results", h.results)
}

// jobID is the :id parameter, unescaped.
func jobID(c *fiber.Ctx) string {
	id, err := url.PathUnescape(c.Params("id"))
	if err != nil {
		return c.Params("id")
	}
	return id
}

// LiveQuery is the live-feed query of a job's page.
func LiveQuery(id string, attempt int) url.Values {
	return url.Values{"page": {"job"}, "id": {id}, "attempt": {strconv.Itoa(attempt)}}
}

func (h Handler) page(c *fiber.Ctx) error {
	id := jobID(c)
	p := h.Env.Page(c, id, frontend.NavJobs, nil)
	who, _ := server.Caller(c)
	m, err := Load(c.UserContext(), h.Env.Manager, id, who)
	if err == nil {
		p.Live = LiveQuery(id, m.Job.Attempt).Encode()
	}
	if errors.Is(err, engine.ErrNotFound) {
		p.Live = ""
		return frontend.RenderStatus(c, fiber.StatusNotFound, frontend.ErrorPage(p, "No such job", fmt.Sprintf("There is no job %q.", id)))
	}
	if err != nil {
		return err
	}
	// The solver panel is an extra: a log that cannot be read leaves it
	// out, not the page.
	if s, err := LoadSolver(c.UserContext(), h.Env.Manager, m.Job); err == nil {
		m.Solver = s
	}
	m.Results = LoadResults(c.UserContext(), h.Env.Manager, m.Job, who, resultsQuery(c))
	m.Notice = c.Query("notice")
	return frontend.Render(c, Page(p, m))
}

// act runs a change on a job the caller may change, and answers with what
// happened: a message fragment to htmx, else a redirect to the page.
func (h Handler) act(c *fiber.Ctx, do func(job engine.Job, who server.Identity) (string, error)) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	id := jobID(c)
	who, _ := server.Caller(c)
	job, err := h.Env.Manager.Job(c.UserContext(), id)
	if err != nil {
		return err
	}
	var msg, fail string
	if err := engine.ActorOf(c.UserContext()).ChangeJob(job); err != nil {
		fail = err.Error()
	} else {
		msg, err = do(job, who)
		var ce *engine.ConflictError
		var ve *engine.ValidationError
		switch {
		case errors.As(err, &ce):
			fail = ce.Message
		case errors.As(err, &ve):
			fail = ve.Error()
		case errors.Is(err, engine.ErrForbidden):
			fail = err.Error()
		case err != nil:
			return err
		}
	}
	if frontend.IsHTMX(c) {
		if fail != "" {
			return frontend.RenderStatus(c, fiber.StatusOK, frontend.Message("error", fail))
		}
		if strings.HasPrefix(msg, "redirect:") {
			c.Set("HX-Redirect", strings.TrimPrefix(msg, "redirect:"))
			return nil
		}
		return frontend.Render(c, frontend.Message("ok", msg))
	}
	target := "/ui/jobs/" + url.PathEscape(id)
	if fail != "" {
		msg = fail
	}
	if strings.HasPrefix(msg, "redirect:") {
		return c.Redirect(strings.TrimPrefix(msg, "redirect:"), fiber.StatusSeeOther)
	}
	return c.Redirect(target+"?notice="+url.QueryEscape(msg), fiber.StatusSeeOther)
}

func (h Handler) cancel(c *fiber.Ctx) error {
	return h.act(c, func(job engine.Job, who server.Identity) (string, error) {
		res, err := h.Env.Manager.Cancel(c.UserContext(), job.ID, who.Name)
		return res.Message, err
	})
}

func (h Handler) priority(c *fiber.Ctx) error {
	return h.act(c, func(job engine.Job, _ server.Identity) (string, error) {
		p, err := strconv.Atoi(strings.TrimSpace(c.FormValue("priority")))
		if err != nil || p < -1000000 || p > 1000000 {
			return "", &engine.ValidationError{Field: "priority", Message: "must be a whole number"}
		}
		if err := h.Env.Manager.SetPriority(c.UserContext(), job.ID, p); err != nil {
			return "", err
		}
		return fmt.Sprintf("Priority of job %s set to %d.", job.ID, p), nil
	})
}

func (h Handler) resubmit(c *fiber.Ctx) error {
	return h.act(c, func(job engine.Job, who server.Identity) (string, error) {
		res, err := h.Env.Manager.Submit(c.UserContext(), engine.SubmitRequest{Config: job.Config, Priority: job.Priority})
		if err != nil {
			return "", err
		}
		return "redirect:/ui/jobs/" + url.PathEscape(res.JobID) + "?notice=" + url.QueryEscape(res.Message), nil
	})
}
