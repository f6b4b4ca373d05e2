package dashboard

import (
	"bytes"
	"context"
	"strings"
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

// sweepsView keeps the sweeps list current: events of sweeps' jobs mark it
// stale, and it is rendered again at most once a second (a big sweep moves
// many jobs at once).
type sweepsView struct {
	d      *Dashboard
	dirty  bool
	ticker *time.Ticker
}

func (v *sweepsView) start(ctx context.Context, out *bytes.Buffer, resync bool) error {
	v.ticker = time.NewTicker(time.Second)
	v.dirty = resync
	v.poll(ctx, out)
	return nil
}

func (v *sweepsView) event(_ context.Context, ev engine.Event, _ *bytes.Buffer) {
	if id, _, ok := jobEvent(ev); ok && strings.HasPrefix(id, "SWEEP_") {
		v.dirty = true
	}
}

func (v *sweepsView) flush(context.Context, int64, *bytes.Buffer) {}
func (v *sweepsView) tick() <-chan time.Time                      { return v.ticker.C }

func (v *sweepsView) poll(ctx context.Context, out *bytes.Buffer) {
	if !v.dirty {
		return
	}
	if m, err := sweeps.LoadList(ctx, v.d.env.Manager); err == nil {
		out.Write(render(ctx, sweeps.ListBody(m, true)))
		v.dirty = false
	}
}

func (v *sweepsView) stop() {
	if v.ticker != nil {
		v.ticker.Stop()
	}
}
