// Package overview is the dashboard's home page: jobs by status, the queue
// by priority, running jobs, host telemetry with an hour of history, the
// scheduler mode and the limits, all kept current by the live feed.
package overview

import (
	"context"
	"slices"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/frontend"
)

// maxRunning bounds the running-jobs list; the jobs page has the rest.
const maxRunning = 25

// Model is what the overview shows.
type Model struct {
	Counts     map[engine.Status]int
	Total      int
	Queue      engine.QueueStats
	Priorities []PriorityDepth
	Running    []engine.Job
	MoreRun    bool
	Limits     engine.Limits
	Scheduler  string
	DetectedBy string
	// SchedulerDown is true while the cluster scheduler does not answer:
	// jobs wait pending for it.
	SchedulerDown bool
	// NoSolver is true when the server has no HFSS solver.
	NoSolver bool
	Now      time.Time
	Host     Host
	Licenses Licenses
}

// PriorityDepth is how many jobs wait at one priority.
type PriorityDepth struct {
	Priority int
	Jobs     int
}

// Host is the telemetry part of the overview.
type Host struct {
	OK      bool
	Now     host.Sample
	History []host.Sample
	Limits  engine.Limits
	At      time.Time
}

// LoadJobs reads everything but the telemetry: what job events change.
// It costs a counter read, the queue snapshot and one indexed page of
// running jobs, however many jobs the store holds.
func LoadJobs(ctx context.Context, env *frontend.Env) (Model, error) {
	m := Model{
		Queue: env.Manager.QueueStats(), Limits: env.Manager.Limits(), Now: time.Now(),
		Scheduler: env.Manager.SchedulerType(), DetectedBy: env.Scheduler.DetectedBy,
		SchedulerDown: env.Scheduler.Available != nil && !env.Scheduler.Available(),
		NoSolver:      env.Manager.Policy().Solver == "",
	}
	var err error
	if m.Counts, err = env.Manager.CountByStatus(ctx); err != nil {
		return m, err
	}
	for _, n := range m.Counts {
		m.Total += n
	}
	for p, n := range m.Queue.ByPriority {
		m.Priorities = append(m.Priorities, PriorityDepth{p, n})
	}
	slices.SortFunc(m.Priorities, func(a, b PriorityDepth) int { return b.Priority - a.Priority })
	running, err := env.Manager.Jobs(ctx, engine.JobListParams{Statuses: []engine.Status{engine.StatusRunning}, Limit: maxRunning + 1})
	if err != nil {
		return m, err
	}
	if len(running) > maxRunning {
		running, m.MoreRun = running[:maxRunning], true
	}
	m.Running = running
	return m, nil
}

// LoadHost reads the telemetry part.
func LoadHost(env *frontend.Env) Host {
	h := Host{Limits: env.Manager.Limits(), At: time.Now()}
	h.Now, h.OK = env.Sampler.Latest()
	h.History = env.Sampler.History(h.At.Add(-frontend.ChartWindow))
	return h
}

// Load reads the whole page.
func Load(ctx context.Context, env *frontend.Env) (Model, error) {
	m, err := LoadJobs(ctx, env)
	m.Host = LoadHost(env)
	m.Licenses = LoadLicenses(env)
	return m, err
}
