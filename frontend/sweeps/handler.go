package sweeps

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// Handler serves the sweeps pages.
type Handler struct{ Env *frontend.Env }

// Register adds the pages' routes.
func (h Handler) Register(r frontend.Router) {
	r.Get("/ui/sweeps", h.list)
	r.Get("/ui/sweeps/new", h.form)
	r.Post("/ui/sweeps/new", h.submit)
	r.Post("/ui/sweeps/preview", h.preview)
	r.Get("/ui/sweeps/:id", h.page)
	r.Post("/ui/sweeps/:id/cancel", h.cancel)
	r.Post("/ui/sweeps/:id/resubmit", h.resubmit)
}

func (h Handler) list(c *fiber.Ctx) error {
	p := h.Env.Page(c, "Sweeps", frontend.NavSweeps, url.Values{"page": {"sweeps"}})
	m, err := LoadList(c.UserContext(), h.Env.Manager)
	if err != nil {
		return err
	}
	return frontend.Render(c, ListPage(p, m))
}

func (h Handler) page(c *fiber.Ctx) error {
	id, _ := url.PathUnescape(c.Params("id"))
	p := h.Env.Page(c, "Sweep "+id, frontend.NavSweeps, url.Values{"page": {"sweep"}, "id": {id}})
	m, err := LoadSweep(c.UserContext(), h.Env.Manager, id)
	if errors.Is(err, engine.ErrNotFound) {
		p.Live = ""
		return frontend.RenderStatus(c, fiber.StatusNotFound, frontend.ErrorPage(p, "No such sweep", fmt.Sprintf("There is no sweep %q.", id)))
	}
	if err != nil {
		return err
	}
	m.MayChange = mayChange(p.User, m.Sweep)
	m.Notice = c.Query("notice")
	return frontend.Render(c, Page(p, m))
}

func mayChange(who server.Identity, sw engine.Sweep) bool {
	return engine.Actor{Name: who.Name, Admin: who.Admin()}.MayChange(sw.User)
}

// act runs a change on a sweep the caller may change and answers with a
// message (htmx) or a redirect back to the page.
func (h Handler) act(c *fiber.Ctx, do func(sw engine.Sweep, who server.Identity) (string, error)) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	id, _ := url.PathUnescape(c.Params("id"))
	who, _ := server.Caller(c)
	sw, err := h.Env.Manager.Sweep(c.UserContext(), id)
	if err != nil {
		return err
	}
	var msg, fail string
	if err := engine.ActorOf(c.UserContext()).ChangeSweep(sw); err != nil {
		fail = err.Error()
	} else if msg, err = do(sw, who); err != nil {
		var ce *engine.ConflictError
		var ve *engine.ValidationError
		switch {
		case errors.As(err, &ce):
			fail = ce.Message
		case errors.As(err, &ve):
			fail = ve.Error()
		case errors.Is(err, engine.ErrForbidden):
			fail = err.Error()
		default:
			return err
		}
	}
	if frontend.IsHTMX(c) {
		if fail != "" {
			return frontend.Render(c, frontend.Message("error", fail))
		}
		return frontend.Render(c, frontend.Message("ok", msg))
	}
	if fail != "" {
		msg = fail
	}
	return c.Redirect(string(URL(id))+"?notice="+url.QueryEscape(msg), fiber.StatusSeeOther)
}

func (h Handler) cancel(c *fiber.Ctx) error {
	return h.act(c, func(sw engine.Sweep, who server.Identity) (string, error) {
		n, err := h.Env.Manager.CancelSweep(c.UserContext(), sw.ID, "")
		return fmt.Sprintf("%d jobs of sweep %s cancelled.", n, sw.ID), err
	})
}

func (h Handler) resubmit(c *fiber.Ctx) error {
	return h.act(c, func(sw engine.Sweep, who server.Identity) (string, error) {
		ids, err := h.Env.Manager.ResubmitSweep(c.UserContext(), sw.ID, "")
		return fmt.Sprintf("%d failed or cancelled jobs of sweep %s submitted again.", len(ids), sw.ID), err
	})
}

func formOf(c *fiber.Ctx) Form {
	f := Form{
		Name: c.FormValue("name"), Project: c.FormValue("project_path"), Design: c.FormValue("design_name"),
		Setup: c.FormValue("setup_name"), Command: c.FormValue("command"), WorkDir: c.FormValue("working_directory"),
		Mode: c.FormValue("mode"), MaxParallel: c.FormValue("max_parallel"), Priority: c.FormValue("priority"),
	}
	for i := range paramRows {
		f.Names[i] = c.FormValue(fmt.Sprintf("param_name_%d", i))
		f.Values[i] = c.FormValue(fmt.Sprintf("param_values_%d", i))
	}
	return f
}

func (h Handler) form(c *fiber.Ctx) error {
	p := h.Env.Page(c, "Submit a sweep", frontend.NavSubmit, nil)
	return frontend.Render(c, NewPage(p, Form{Mode: expand.ModeProduct, MaxParallel: "0", Priority: "0"}, Preview{}))
}

// preview shows what the form expands to, without submitting anything.
func (h Handler) preview(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	return frontend.Render(c, PreviewTable(previewOf(formOf(c))))
}

func previewOf(f Form) Preview {
	req, err := f.Request()
	if err != nil {
		return Preview{Error: err.Error()}
	}
	vars, err := expand.Combine(req.Parameters, req.Mode)
	if err != nil {
		return Preview{Error: err.Error()}
	}
	return Preview{Params: req.Parameters, Variations: vars}
}

func (h Handler) submit(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	f := formOf(c)
	req, err := f.Request()
	if err == nil {
		var res engine.SweepResult
		res, err = h.Env.Manager.SubmitSweep(c.UserContext(), req)
		if err == nil {
			target := string(URL(res.SweepID)) + "?notice=" + url.QueryEscape(fmt.Sprintf("Sweep %s submitted: %d jobs.", res.SweepID, len(res.JobIDs)))
			if frontend.IsHTMX(c) {
				c.Set("HX-Redirect", target)
				return nil
			}
			return c.Redirect(target, fiber.StatusSeeOther)
		}
	}
	var ve *engine.ValidationError
	var ce *engine.ConflictError
	switch {
	case errors.As(err, &ve):
		f.Error = ve.Error()
	case errors.As(err, &ce):
		f.Error = ce.Message
	default:
		return err
	}
	if frontend.IsHTMX(c) {
		return frontend.Render(c, frontend.Message("error", f.Error))
	}
	p := h.Env.Page(c, "Submit a sweep", frontend.NavSubmit, nil)
	return frontend.RenderStatus(c, fiber.StatusBadRequest, NewPage(p, f, previewOf(f)))
}
