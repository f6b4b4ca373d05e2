package dashboard

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/frontend/jobpage"
	"github.com/simjobs/simjobs/frontend/jobs"
	"github.com/simjobs/simjobs/frontend/overview"
	"github.com/simjobs/simjobs/frontend/settings"
	"github.com/simjobs/simjobs/server"
)

// overviewView: job events change the counts, the queue and the running
// jobs; samples change the telemetry.
type overviewView struct {
	d          *Dashboard
	jobs, host bool
	licenses   bool
}

func (v *overviewView) start(ctx context.Context, out *bytes.Buffer, resync bool) error {
	if resync {
		md, err := overview.Load(ctx, v.d.env)
		if err != nil {
			return err
		}
		out.Write(render(ctx, overview.JobsOOB(md)))
		out.Write(render(ctx, overview.HostOOB(md.Host)))
		out.Write(render(ctx, overview.LicensesOOB(md.Licenses)))
	}
	return nil
}

func (v *overviewView) event(_ context.Context, ev engine.Event, _ *bytes.Buffer) {
	if ev.Name == engine.EventResourcesUpdated {
		v.host = true
	} else if ev.Name == engine.EventLicensesUpdated {
		v.licenses = true
	} else {
		v.jobs = true
	}
}

func (v *overviewView) flush(ctx context.Context, seq int64, out *bytes.Buffer) {
	if v.jobs {
		out.Write(v.d.memo.overviewJobs(ctx, seq))
	}
	if v.host {
		out.Write(v.d.memo.host(ctx, seq))
	}
	if v.licenses {
		out.Write(v.d.memo.licenses(ctx, seq))
	}
	v.jobs, v.host, v.licenses = false, false, false
}

func (v *overviewView) tick() <-chan time.Time              { return nil }
func (v *overviewView) poll(context.Context, *bytes.Buffer) {}
func (v *overviewView) stop()                               {}

// settingsView keeps the limits in force and the queue current.
type settingsView struct {
	d     *Dashboard
	dirty bool
}

func (v *settingsView) start(ctx context.Context, out *bytes.Buffer, resync bool) error {
	v.dirty = resync
	v.flush(ctx, 0, out)
	return nil
}

func (v *settingsView) event(_ context.Context, ev engine.Event, _ *bytes.Buffer) {
	v.dirty = v.dirty || ev.Name != engine.EventResourcesUpdated
}

func (v *settingsView) flush(ctx context.Context, _ int64, out *bytes.Buffer) {
	if v.dirty {
		m := v.d.env.Manager
		out.Write(render(ctx, settings.Current(m.Limits(), m.QueueStats(), m.LimitOrigins(), true)))
	}
	v.dirty = false
}

func (v *settingsView) tick() <-chan time.Time              { return nil }
func (v *settingsView) poll(context.Context, *bytes.Buffer) {}
func (v *settingsView) stop()                               {}

// jobsView updates the rows the page shows and, on the newest-first page,
// puts new matching jobs on top.
type jobsView struct {
	d       *Dashboard
	filter  jobs.Filter
	first   bool
	visible map[string]bool
	changed []string // job ids in event order, to render at flush
	seen    map[string]bool
	counts  bool
}

func newJobsView(d *Dashboard, r *liveReq) *jobsView {
	f, _ := jobs.ParseFilter(r.query)
	return &jobsView{d: d, filter: f, first: r.query.Get("first") == "1" && f.FirstPage(), visible: map[string]bool{}, seen: map[string]bool{}}
}

func (v *jobsView) start(ctx context.Context, out *bytes.Buffer, resync bool) error {
	// The rows of the page, as they are now: the same query the page ran.
	md, err := jobs.Load(ctx, v.d.env.Manager, v.filter)
	if err != nil {
		return err
	}
	for _, j := range md.Jobs {
		v.visible[j.ID] = true
		if resync {
			out.Write(render(ctx, jobs.Row(j, time.Now(), true)))
		}
	}
	if resync {
		out.Write(render(ctx, jobs.Counts(md.Counts, true)))
	}
	return nil
}

func (v *jobsView) event(_ context.Context, ev engine.Event, _ *bytes.Buffer) {
	id, _, ok := jobEvent(ev)
	if !ok {
		return
	}
	v.counts = true
	if !v.seen[id] {
		v.seen[id] = true
		v.changed = append(v.changed, id)
	}
}

func (v *jobsView) flush(ctx context.Context, seq int64, out *bytes.Buffer) {
	for _, id := range v.changed {
		j := v.d.memo.job(ctx, seq, id)
		if j.err != nil {
			continue
		}
		switch {
		case v.visible[id]:
			out.Write(j.row)
		case v.first && v.filter.Matches(j.job, j.project):
			v.visible[id] = true
			out.Write(j.insert)
		}
	}
	if v.counts {
		out.Write(v.d.memo.counts(ctx, seq))
	}
	v.changed, v.counts = v.changed[:0], false
	clear(v.seen)
}

func (v *jobsView) tick() <-chan time.Time              { return nil }
func (v *jobsView) poll(context.Context, *bytes.Buffer) {}
func (v *jobsView) stop()                               {}

// jobView keeps one job's page current and tails its log. It reads the
// log when the engine says it grew (Manager.WatchLog), not on a clock; on
// TailEvery only when the engine announces nothing (progress following
// off).
type jobView struct {
	d       *Dashboard
	id      string
	attempt int
	who     server.Identity
	csrf    string
	offset  int64
	dirty   bool
	ended   bool // the end of the log was shown
	// wake has a value when the log has something new to read.
	wake    chan time.Time
	unwatch func()
	ticker  *time.Ticker // the clock when nothing is announced
}

func newJobView(d *Dashboard, r *liveReq) *jobView {
	a, _ := strconv.Atoi(r.query.Get("attempt"))
	return &jobView{d: d, id: r.query.Get("id"), attempt: a, who: r.who, csrf: r.csrf, offset: r.logOffset, wake: make(chan time.Time, 1)}
}

func (v *jobView) start(ctx context.Context, out *bytes.Buffer, resync bool) error {
	job, err := v.d.env.Manager.Job(ctx, v.id)
	if err != nil {
		return err
	}
	if v.attempt != 0 && job.Attempt != v.attempt {
		return errNewAttempt
	}
	v.attempt = job.Attempt
	v.dirty = resync
	if !job.Status.Terminal() {
		// Watched before the first read, so that no growth after that read
		// goes unannounced.
		var ok bool
		if v.unwatch, ok = v.d.env.Manager.WatchLog(v.id, v.attempt, "stdout", v.grew); !ok {
			v.ticker = time.NewTicker(v.d.opts.TailEvery)
		}
	}
	// Output written since the page was rendered, and the page's state
	// if it may be stale.
	v.poll(ctx, out)
	v.flush(ctx, 0, out)
	if job.Status.Terminal() {
		v.finish(ctx, job, out)
	}
	return nil
}

// errNewAttempt: the job was submitted again; the page reloads to show
// the new attempt.
var errNewAttempt = &engine.ConflictError{Message: "a new attempt started"}

func (v *jobView) event(_ context.Context, ev engine.Event, _ *bytes.Buffer) {
	if id, _, ok := jobEvent(ev); ok && id == v.id {
		v.dirty = true
	}
	// A job waiting for a license: the wait's text changes with each poll.
	if ev.Name == engine.EventLicensesUpdated && !v.ended {
		v.dirty = true
	}
}

func (v *jobView) flush(ctx context.Context, _ int64, out *bytes.Buffer) {
	if !v.dirty {
		return
	}
	// The job's own events: its output may have moved on too.
	v.poll(ctx, out)
	v.dirty = false
	md, err := jobpage.Load(ctx, v.d.env.Manager, v.id, v.who)
	if err != nil {
		return
	}
	if md.Job.Attempt != v.attempt {
		frontend.LiveSeqOOB(0, v.d.env.Boot, true).Render(ctx, out)
		return
	}
	out.Write(render(ctx, jobpage.Head(md, v.csrf, true)))
	out.Write(render(ctx, jobpage.Facts(md, true)))
	out.Write(render(ctx, jobpage.Timeline(md, true)))
	if md.Job.Status.Terminal() {
		if !v.ended {
			// It ended while the page watched: a notice of a request
			// (cancel) is stale now.
			out.Write(render(ctx, jobpage.MsgClear()))
		}
		out.Write(render(ctx, jobpage.Stderr(md, true)))
		v.finish(ctx, md.Job, out)
	}
	// The solver panel changes with the job's progress events and its
	// end; the engine's reading of the log is shared, not redone here.
	if s, err := jobpage.LoadSolver(ctx, v.d.env.Manager, md.Job); err == nil {
		out.Write(render(ctx, jobpage.Solver(md.Job, s, true)))
	}
}

// finish shows the rest of the log and its end.
func (v *jobView) finish(ctx context.Context, job engine.Job, out *bytes.Buffer) {
	if v.ended {
		return
	}
	for {
		before := v.offset
		v.poll(ctx, out)
		if v.offset == before {
			break
		}
	}
	v.ended = true
	v.stop()
	v.ticker = nil
	out.Write(render(ctx, jobpage.LogEnd(job, true, true)))
}

// grew is told by the engine that the log grew; it runs on the engine's
// goroutine, so it only notes it.
func (v *jobView) grew(engine.LogGrowth) { v.wakeUp() }

func (v *jobView) wakeUp() {
	select {
	case v.wake <- time.Now():
	default: // already noted
	}
}

func (v *jobView) tick() <-chan time.Time {
	switch {
	case v.ended:
		return nil
	case v.ticker != nil:
		return v.ticker.C
	}
	return v.wake
}

// poll sends the log's new output, a chunk at a time: when more is
// waiting, the view wakes itself to send the next one.
func (v *jobView) poll(ctx context.Context, out *bytes.Buffer) {
	c, err := v.d.env.Manager.ReadLog(ctx, v.id, v.attempt, "stdout", v.offset, jobpage.ChunkBytes)
	if err != nil || c.Next == v.offset {
		return
	}
	v.offset = c.Next
	out.Write(render(ctx, jobpage.LogChunk(c.Text())))
	out.Write(render(ctx, jobpage.LogOffset(c.Next, true)))
	if c.More() {
		v.wakeUp()
	}
}

func (v *jobView) stop() {
	if v.ticker != nil {
		v.ticker.Stop()
	}
	if v.unwatch != nil {
		v.unwatch()
		v.unwatch = nil
	}
}
