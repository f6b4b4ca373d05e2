package dashboard

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/frontend/jobs"
	"github.com/simjobs/simjobs/frontend/overview"
)

// memo renders what an event changes once, however many pages show it: a
// thousand open overviews cost one render per event, not a thousand. It is
// keyed by event number and keeps the most recent ones.
type memo struct {
	env *frontend.Env

	mu      sync.Mutex
	entries map[int64]*rendered
	order   []int64
}

// memoSize is how many events' renders are kept.
const memoSize = 256

func newMemo(env *frontend.Env) *memo {
	return &memo{env: env, entries: make(map[int64]*rendered)}
}

// rendered is what was rendered for one event number. Each part is made
// by the first connection that needs it.
type rendered struct {
	seq int64

	markOnce sync.Once
	mark     []byte // the page's record of this event number

	ovOnce sync.Once
	ov     []byte // overview: counts, queue, mode, running

	hostOnce sync.Once
	host     []byte // overview: telemetry and charts

	licOnce sync.Once
	lic     []byte // overview: the license panel

	countsOnce sync.Once
	counts     []byte // jobs page: per-status counts

	jobMu sync.Mutex
	jobs  map[string]*jobRender // by job id
}

// jobRender is one job as of an event, and its table row.
type jobRender struct {
	once    sync.Once
	job     engine.Job
	err     error
	project string
	row     []byte
	insert  []byte
}

func (m *memo) at(seq int64) *rendered {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.entries[seq]; ok {
		return r
	}
	r := &rendered{seq: seq, jobs: map[string]*jobRender{}}
	m.entries[seq] = r
	m.order = append(m.order, seq)
	if len(m.order) > memoSize {
		delete(m.entries, m.order[0])
		m.order = m.order[1:]
	}
	return r
}

func render(ctx context.Context, c templ.Component) []byte {
	var b bytes.Buffer
	_ = c.Render(ctx, &b) // writes to memory cannot fail
	return b.Bytes()
}

// overviewJobs is the overview's job panels as of event seq.
func (m *memo) overviewJobs(ctx context.Context, seq int64) []byte {
	r := m.at(seq)
	r.ovOnce.Do(func() {
		md, err := overview.LoadJobs(context.WithoutCancel(ctx), m.env)
		if err != nil {
			return
		}
		r.ov = render(ctx, overview.JobsOOB(md))
	})
	return r.ov
}

// host is the overview's telemetry panel as of event seq.
func (m *memo) host(ctx context.Context, seq int64) []byte {
	r := m.at(seq)
	r.hostOnce.Do(func() {
		r.host = render(ctx, overview.HostOOB(overview.LoadHost(m.env)))
	})
	return r.host
}

// licenses is the overview's license panel as of event seq.
func (m *memo) licenses(ctx context.Context, seq int64) []byte {
	r := m.at(seq)
	r.licOnce.Do(func() {
		r.lic = render(ctx, overview.LicensesOOB(overview.LoadLicenses(m.env)))
	})
	return r.lic
}

// counts is the jobs page's status counts as of event seq.
func (m *memo) counts(ctx context.Context, seq int64) []byte {
	r := m.at(seq)
	r.countsOnce.Do(func() {
		c, err := m.env.Manager.CountByStatus(context.WithoutCancel(ctx))
		if err != nil {
			return
		}
		r.counts = render(ctx, jobs.Counts(c, true))
	})
	return r.counts
}

// job is a job as of event seq, with its rows rendered.
func (m *memo) job(ctx context.Context, seq int64, id string) *jobRender {
	r := m.at(seq)
	r.jobMu.Lock()
	j, ok := r.jobs[id]
	if !ok {
		j = &jobRender{}
		r.jobs[id] = j
	}
	r.jobMu.Unlock()
	j.once.Do(func() {
		j.job, j.err = m.env.Manager.Job(context.WithoutCancel(ctx), id)
		if j.err != nil {
			return
		}
		now := time.Now()
		j.project = frontend.Project(j.job)
		j.row = render(ctx, jobs.Row(j.job, now, true))
		j.insert = render(ctx, jobs.Inserted(j.job, now))
	})
	return j
}

// mark is the live-seq marker for event seq, which every message ends with.
func (m *memo) mark(ctx context.Context, seq int64) []byte {
	r := m.at(seq)
	r.markOnce.Do(func() {
		r.mark = render(ctx, frontend.LiveSeqOOB(seq, m.env.Boot, false))
	})
	return r.mark
}
