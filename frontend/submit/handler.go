package submit

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// Handler serves the submission page.
type Handler struct{ Env *frontend.Env }

// Register adds the page's routes.
func (h Handler) Register(r frontend.Router) {
	r.Get("/ui/submit", h.page)
	r.Post("/ui/submit", h.hfss)
	r.Post("/ui/submit/command", h.command)
	r.Post("/ui/submit/batch", h.batch)
	r.Get("/ui/submit/browse", h.browse)
}

// maxNodes bounds the machine list of the form.
const maxNodes = 64

func (h Handler) view(c *fiber.Ctx, tab string) View {
	showUser := h.Env.ConfigUserCounts()
	return View{
		Tab: tab, HFSS: NewForm(), Groups: Groups(1, showUser), ShowUser: showUser,
		Command: CommandForm{Priority: "0", Errors: map[string]string{}},
		Batch:   BatchForm{Priority: "0"},
		Solver:  h.Env.Manager.Policy().Solver, Roots: h.Env.Manager.Policy().ProjectRoots,
	}
}

func (h Handler) page(c *fiber.Ctx) error {
	tab := c.Query("tab")
	if tab != TabCommand && tab != TabBatch {
		tab = TabHFSS
	}
	p := h.Env.Page(c, "Submit", frontend.NavSubmit, url.Values{"page": {"submit"}})
	return frontend.Render(c, Page(p, h.view(c, tab)))
}

// answer shows a form again (with its errors): the fragment to htmx, the
// whole page otherwise.
func (h Handler) answer(c *fiber.Ctx, v View, fragment templ.Component, status int) error {
	if frontend.IsHTMX(c) {
		return frontend.Render(c, fragment)
	}
	p := h.Env.Page(c, "Submit", frontend.NavSubmit, url.Values{"page": {"submit"}})
	return frontend.RenderStatus(c, status, Page(p, v))
}

// submitted sends the browser to the new job's page.
func submitted(c *fiber.Ctx, res engine.SubmitResult) error {
	to := "/ui/jobs/" + url.PathEscape(res.JobID) + "?notice=" + url.QueryEscape(res.Message)
	if frontend.IsHTMX(c) {
		c.Set("HX-Redirect", to)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

func (h Handler) hfss(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	v := h.view(c, TabHFSS)
	nodes, err := strconv.Atoi(c.FormValue("nodes", "1"))
	if err != nil || nodes < 1 || nodes > maxNodes {
		nodes = 1
	}
	switch c.FormValue("action") {
	case "add_node":
		nodes = min(nodes+1, maxNodes)
	case "remove_node":
		nodes = max(nodes-1, 1)
	}
	v.Groups = Groups(nodes, v.ShowUser)
	f := Form{Values: map[string]string{}, Checks: map[string]bool{}, Errors: map[string]string{}, Nodes: nodes}
	def := Defaults(nodes)
	for _, g := range v.Groups {
		for _, fl := range g.Fields {
			if fl.Kind == "bool" {
				f.Checks[fl.Name] = c.FormValue(fl.Name) != ""
				continue
			}
			val := c.FormValue(fl.Name)
			if _, sent := formHas(c, fl.Name); !sent {
				// A machine added just now starts with the defaults.
				switch d := def[fl.Name].(type) {
				case float64:
					val = strconv.Itoa(int(d))
				case string:
					val = d
				}
			}
			f.Values[fl.Name] = val
		}
	}
	f.Values[NotifyWebhookField] = c.FormValue(NotifyWebhookField)
	v.HFSS = f
	if a := c.FormValue("action"); a == "add_node" || a == "remove_node" {
		return h.answer(c, v, HFSSForm(server.CSRFToken(c), v), fiber.StatusOK)
	}
	cfg, prio, ok := v.HFSS.Config(v.Groups)
	if !ok {
		// Fields that did not parse are marked; the engine judges the rest.
		var ve *engine.ValidationError
		if err := h.Env.Manager.Validate(c.UserContext(), engine.SubmitRequest{Config: cfg, Priority: prio}); errors.As(err, &ve) {
			v.HFSS.Fail(ve, v.Groups)
		}
	}
	if ok {
		res, err := h.Env.Manager.Submit(c.UserContext(), engine.SubmitRequest{Config: cfg, Priority: prio,
			Notify: notifySpec(v.HFSS.Values[NotifyWebhookField])})
		var ve *engine.ValidationError
		switch {
		case errors.As(err, &ve) && notifyFailed(ve, v.HFSS.Errors):
		case errors.As(err, &ve):
			v.HFSS.Fail(ve, v.Groups)
		case err != nil:
			return err
		default:
			return submitted(c, res)
		}
	}
	return h.answer(c, v, HFSSForm(server.CSRFToken(c), v), fiber.StatusBadRequest)
}

func formHas(c *fiber.Ctx, name string) (string, bool) {
	if mf, err := c.MultipartForm(); err == nil && mf != nil {
		v, ok := mf.Value[name]
		if ok && len(v) > 0 {
			return v[0], true
		}
	}
	v := c.Request().PostArgs().Peek(name)
	return string(v), v != nil
}

func (h Handler) command(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	v := h.view(c, TabCommand)
	v.Command = CommandForm{
		Command: c.FormValue("command"), JobID: c.FormValue("jobid"), WorkingDirectory: c.FormValue("working_directory"),
		Time: c.FormValue("time"), User: c.FormValue("user"), Priority: c.FormValue("priority"), Errors: map[string]string{},
		NotifyWebhook: c.FormValue(NotifyWebhookField),
	}
	if !v.ShowUser {
		v.Command.User = ""
	}
	cfg, prio, ok := v.Command.Config()
	if ok {
		res, err := h.Env.Manager.Submit(c.UserContext(), engine.SubmitRequest{Config: cfg, Priority: prio,
			Notify: notifySpec(v.Command.NotifyWebhook)})
		var ve *engine.ValidationError
		switch {
		case errors.As(err, &ve) && notifyFailed(ve, v.Command.Errors):
		case errors.As(err, &ve):
			v.Command.Fail(ve)
		case err != nil:
			return err
		default:
			return submitted(c, res)
		}
	}
	return h.answer(c, v, CommandTab(server.CSRFToken(c), v), fiber.StatusBadRequest)
}

// maxBatch bounds one batch submission.
const maxBatch = 1000

func (h Handler) batch(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	v := h.view(c, TabBatch)
	b := &v.Batch
	b.Folder = strings.TrimSpace(c.FormValue("folder"))
	b.Recursive = c.FormValue("recursive") != ""
	b.Priority = c.FormValue("priority", "0")
	b.Cores, b.Design, b.Setup, b.Time = strings.TrimSpace(c.FormValue("cores")), strings.TrimSpace(c.FormValue("design_name")),
		strings.TrimSpace(c.FormValue("setup_name")), strings.TrimSpace(c.FormValue("time"))
	prio, err := strconv.Atoi(strings.TrimSpace(orZero(b.Priority)))
	cores, coresErr := strconv.Atoi(orZero(b.Cores))
	status := fiber.StatusOK
	switch {
	case err != nil:
		b.Error = "Priority must be a whole number."
	case coresErr != nil || cores < 0:
		b.Error = "Cores must be a whole number (empty: all)."
	case b.Folder == "":
		b.Error = "Give the folder to look in."
	default:
		found, err := discover(b.Folder, b.Recursive, h.Env.Manager.Policy())
		if err != nil {
			b.Error = err.Error()
			break
		}
		if len(found) > maxBatch {
			b.Error = fmt.Sprintf("%d projects found; at most %d can be submitted at once.", len(found), maxBatch)
			break
		}
		b.Projects = found
		if c.FormValue("action") != "submit" {
			break
		}
		// Only projects that were previewed, found again now and still
		// checked are submitted.
		chosen := map[string]bool{}
		for _, p := range c.Request().PostArgs().PeekMulti("project") {
			chosen[string(p)] = true
		}
		b.Selected = chosen
		for _, p := range found {
			if !chosen[p] {
				continue
			}
			cfg := b.Config(p, cores)
			res, err := h.Env.Manager.Submit(c.UserContext(), engine.SubmitRequest{Config: cfg, Priority: prio})
			var ve *engine.ValidationError
			switch {
			case errors.As(err, &ve):
				b.Results = append(b.Results, BatchResult{Project: p, Error: ve.Error()})
			case err != nil:
				return err
			default:
				b.Results = append(b.Results, BatchResult{Project: p, JobID: res.JobID})
			}
		}
		if len(b.Results) == 0 {
			b.Error = "No project was checked."
		}
		b.Projects = nil
	}
	if b.Error != "" {
		status = fiber.StatusBadRequest
	}
	return h.answer(c, v, BatchTab(server.CSRFToken(c), v), status)
}

func (h Handler) browse(c *fiber.Ctx) error {
	target := c.Query("target")
	if target != "folder" {
		target = "project_path"
	}
	if c.Query("close") != "" {
		return frontend.Render(c, Picker(Listing{}, target))
	}
	l := browse(c.Query("dir"), h.Env.Manager.Policy())
	return frontend.Render(c, Picker(l, target))
}
