// Package settings is the limits page: the four limits that decide when a
// queued job may start, editable by admins, applied at once.
package settings

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// Form is the limits form as typed.
type Form struct {
	Values map[string]string
	Errors map[string]string
	Notice string
	Admin  bool
}

// Fields of the form, in order, with their labels and help.
var Fields = []struct{ Name, Label, Help string }{
	{"max_concurrent_jobs", "Jobs at once", "How many jobs may run on this host at the same time."},
	{"max_cpu_percent", "Max CPU %", "No job starts while host CPU use is above this."},
	{"min_memory_gb", "Min free memory (GB)", "No job starts while free memory is below this."},
	{"min_disk_gb", "Min free disk (GB)", "No job starts while the data volume has less free space."},
}

func formOf(l engine.Limits) Form {
	return Form{Values: map[string]string{
		"max_concurrent_jobs": strconv.Itoa(l.MaxConcurrentJobs),
		"max_cpu_percent":     frontend.Num(l.MaxCPUPercent),
		"min_memory_gb":       frontend.Num(l.MinMemoryGB),
		"min_disk_gb":         frontend.Num(l.MinDiskGB),
	}, Errors: map[string]string{}}
}

// Patch reads the form into a change of limits; unparsable numbers are
// field errors.
func (f *Form) Patch() engine.LimitsPatch {
	var p engine.LimitsPatch
	if n, err := strconv.Atoi(strings.TrimSpace(f.Values["max_concurrent_jobs"])); err != nil {
		f.Errors["max_concurrent_jobs"] = "must be a whole number"
	} else {
		p.MaxConcurrentJobs = &n
	}
	for name, dst := range map[string]**float64{"max_cpu_percent": &p.MaxCPUPercent, "min_memory_gb": &p.MinMemoryGB, "min_disk_gb": &p.MinDiskGB} {
		v, err := strconv.ParseFloat(strings.TrimSpace(f.Values[name]), 64)
		if err != nil {
			f.Errors[name] = "must be a number"
			continue
		}
		*dst = &v
	}
	return p
}

// Handler serves the settings page.
type Handler struct{ Env *frontend.Env }

// Register adds the page's routes.
func (h Handler) Register(r frontend.Router) {
	r.Get("/ui/settings", h.page)
	r.Post("/ui/settings", h.save)
}

func (h Handler) page(c *fiber.Ctx) error {
	who, _ := server.Caller(c)
	f := formOf(h.Env.Manager.Limits())
	f.Admin = who.Admin()
	f.Notice = c.Query("notice")
	p := h.Env.Page(c, "Settings", frontend.NavSettings, url.Values{"page": {"settings"}})
	audit, err := h.audit(c, f.Admin)
	if err != nil {
		return err
	}
	return frontend.Render(c, Page(p, f, h.Env.Manager.Limits(), h.Env.Manager.QueueStats(), h.Env.Manager.LimitOrigins(), audit))
}

// auditShown is how many audit entries the page lists.
const auditShown = 20

// audit is the recent audit trail, for admins only (as GET /api/audit).
func (h Handler) audit(c *fiber.Ctx, admin bool) ([]engine.AuditEntry, error) {
	if !admin {
		return nil, nil
	}
	return h.Env.Manager.AuditLog(c.UserContext(), engine.AuditListParams{Limit: auditShown})
}

func (h Handler) save(c *fiber.Ctx) error {
	if ok, err := h.Env.CheckCSRF(c); !ok {
		return err
	}
	if err := engine.ActorOf(c.UserContext()).AdminOnly("changing the limits"); err != nil {
		return fiber.NewError(fiber.StatusForbidden, err.Error())
	}
	f := Form{Values: map[string]string{}, Errors: map[string]string{}, Admin: true}
	for _, fl := range Fields {
		f.Values[fl.Name] = c.FormValue(fl.Name)
	}
	p := f.Patch()
	status := fiber.StatusOK
	if len(f.Errors) == 0 {
		_, _, err := h.Env.Manager.ChangeLimits(c.UserContext(), p)
		var ve *engine.ValidationError
		switch {
		case errors.As(err, &ve):
			f.Errors[ve.Field] = ve.Message
		case err != nil:
			return err
		default:
			f.Notice = "Limits saved; they apply now."
		}
	}
	if len(f.Errors) > 0 {
		status = fiber.StatusBadRequest
	}
	audit, err := h.audit(c, true)
	if err != nil {
		return err
	}
	if frontend.IsHTMX(c) {
		// The form swaps itself; the trail below it, out of band.
		if err := frontend.Render(c, LimitsForm(server.CSRFToken(c), f)); err != nil {
			return err
		}
		return Audit(audit, true).Render(c.UserContext(), c.Response().BodyWriter())
	}
	if status == fiber.StatusOK {
		return c.Redirect("/ui/settings?notice="+url.QueryEscape(f.Notice), fiber.StatusSeeOther)
	}
	p2 := h.Env.Page(c, "Settings", frontend.NavSettings, url.Values{"page": {"settings"}})
	return frontend.RenderStatus(c, status, Page(p2, f, h.Env.Manager.Limits(), h.Env.Manager.QueueStats(), h.Env.Manager.LimitOrigins(), audit))
}

// startFlags are the serve flags that set each limit at start-up.
var startFlags = map[string]string{
	"max_concurrent_jobs": "--max-concurrent",
	"max_cpu_percent":     "--max-cpu-percent",
	"min_memory_gb":       "--min-memory-gb",
	"min_disk_gb":         "--min-disk-gb",
}

// Origin says in words where a limit's value came from.
func Origin(name string, o engine.LimitOrigin) string {
	flag := startFlags[name]
	if o.RunTime {
		return "changed at run time " + frontend.Time(o.At) + " and kept across restarts (" + flag + " at start-up: " + frontend.Num(o.StartUp) + ")"
	}
	return "from start-up: " + flag + ", its SIMJOBS_ variable, .env or the default"
}
