// Package cluster is the cluster page: the scheduler's partitions (or
// queues) with their use, and the jobs handed to the scheduler.
package cluster

import (
	"context"
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/frontend"
)

// maxJobs bounds the scheduler jobs listed; the jobs page has them all.
const maxJobs = 100

// Model is what the page shows.
type Model struct {
	Scheduler  string
	Local      bool // no scheduler: jobs run on this host
	Partitions []runner.Partition
	Error      string // the scheduler could not be asked
	Jobs       []engine.Job
}

// Load asks the scheduler for its partitions and the store for the jobs
// at the scheduler.
func Load(ctx context.Context, m *engine.Manager) (Model, error) {
	md := Model{Scheduler: m.SchedulerType()}
	parts, err := m.Partitions(ctx)
	switch {
	case errors.Is(err, engine.ErrNoScheduler):
		md.Local = m.SchedulerType() == "none"
		if !md.Local {
			md.Error = err.Error()
		}
	case err != nil:
		md.Error = "The scheduler did not answer: " + err.Error()
	default:
		md.Partitions = parts
	}
	if md.Local {
		return md, nil
	}
	md.Jobs, err = m.Jobs(ctx, engine.JobListParams{Statuses: []engine.Status{engine.StatusPending, engine.StatusScheduled, engine.StatusRunning}, Limit: maxJobs, Descending: true})
	return md, err
}

// Handler serves the cluster page.
type Handler struct{ Env *frontend.Env }

// Register adds the page's routes.
func (h Handler) Register(r frontend.Router) { r.Get("/ui/cluster", h.page) }

func (h Handler) page(c *fiber.Ctx) error {
	p := h.Env.Page(c, "Cluster", frontend.NavCluster, url.Values{"page": {"cluster"}})
	m, err := Load(c.UserContext(), h.Env.Manager)
	if err != nil {
		return err
	}
	return frontend.Render(c, Page(p, m))
}
