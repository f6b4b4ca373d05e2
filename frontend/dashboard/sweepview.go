package dashboard

import (
	"bytes"
	"context"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend/sweeps"
)

// sweepView keeps a sweep's page current: the rows of the variations that
// changed, and the summary.
type sweepView struct {
	d       *Dashboard
	id      string
	model   sweeps.Model
	shown   map[string]bool
	changed []string
	seen    map[string]bool
}

func newSweepView(d *Dashboard, r *liveReq) *sweepView {
	return &sweepView{d: d, id: r.query.Get("id"), shown: map[string]bool{}, seen: map[string]bool{}}
}

func (v *sweepView) start(ctx context.Context, out *bytes.Buffer, resync bool) error {
	m, err := sweeps.LoadSweep(ctx, v.d.env.Manager, v.id)
	if err != nil {
		return err
	}
	v.model = m
	for _, j := range m.Jobs {
		v.shown[j.ID] = true
		if resync {
			out.Write(render(ctx, sweeps.Row(m, j, true)))
		}
	}
	if resync {
		out.Write(render(ctx, sweeps.Summary(m.Sweep, true)))
	}
	return nil
}

func (v *sweepView) event(_ context.Context, ev engine.Event, _ *bytes.Buffer) {
	id, _, ok := jobEvent(ev)
	if !ok || !v.shown[id] || v.seen[id] {
		return
	}
	v.seen[id] = true
	v.changed = append(v.changed, id)
}

func (v *sweepView) flush(ctx context.Context, _ int64, out *bytes.Buffer) {
	if len(v.changed) == 0 {
		return
	}
	m := v.d.env.Manager
	for _, id := range v.changed {
		j, err := m.Job(ctx, id)
		if err != nil {
			continue
		}
		out.Write(render(ctx, sweeps.Row(v.model, j, true)))
	}
	if sw, err := m.Sweep(ctx, v.id); err == nil {
		v.model.Sweep.Counts, v.model.Sweep.EndTime = sw.Counts, sw.EndTime
		out.Write(render(ctx, sweeps.Summary(sw, true)))
	}
	v.changed = v.changed[:0]
	clear(v.seen)
}

func (v *sweepView) tick() <-chan time.Time              { return nil }
func (v *sweepView) poll(context.Context, *bytes.Buffer) {}
func (v *sweepView) stop()                               {}
