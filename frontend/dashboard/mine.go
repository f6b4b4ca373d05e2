package dashboard

import (
	"bytes"
	"context"
	"strconv"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/frontend"
)

// mine follows the viewer's own jobs for one open page: how many run (the
// page title shows the count) and which end (a desktop notification each,
// frontend/js/notify.js). Only the viewer's jobs reach the page: it is told
// nothing of anyone else's.
type mine struct {
	d    *Dashboard
	user string
	// active holds the viewer's jobs not yet ended; true once running.
	active map[string]bool
	ended  []frontend.MineEnd
	dirty  bool
}

// mineActiveMax bounds how many of the viewer's waiting jobs are followed.
const mineActiveMax = 10000

func newMine(d *Dashboard, user string) *mine {
	if user == "" {
		return nil
	}
	return &mine{d: d, user: user, active: map[string]bool{}}
}

// start learns which of the viewer's jobs are under way and sends the count.
func (m *mine) start(ctx context.Context, out *bytes.Buffer) {
	if m == nil {
		return
	}
	jobs, err := m.d.env.Manager.Jobs(ctx, engine.JobListParams{User: m.user, Limit: mineActiveMax,
		Statuses: []engine.Status{engine.StatusPending, engine.StatusQueued, engine.StatusScheduled, engine.StatusRunning}})
	if err != nil {
		return
	}
	clear(m.active)
	for _, j := range jobs {
		m.active[j.ID] = j.Status == engine.StatusRunning
	}
	m.dirty = true
	m.flush(ctx, out)
}

// event notes what an event changes for the viewer.
func (m *mine) event(ev engine.Event) {
	if m == nil {
		return
	}
	switch d := ev.Data.(type) {
	case engine.SweepEndedData:
		if d.User == m.user {
			m.ended = append(m.ended, frontend.MineEnd{SweepID: d.SweepID})
			m.dirty = true
		}
	case engine.JobQueuedData:
		if d.User == m.user {
			m.active[d.JobID] = false
		}
	case engine.JobStartedData:
		if running, ok := m.active[d.JobID]; ok && !running {
			m.active[d.JobID] = true
			m.dirty = true
		}
	case engine.JobEndedData:
		// Every end comes as job_completed (with its status); failed and
		// cancelled ends come a second time under their own name.
		if ev.Name != engine.EventJobCompleted {
			return
		}
		if _, ok := m.active[d.JobID]; !ok {
			return
		}
		delete(m.active, d.JobID)
		code := ""
		if d.ReturnCode != nil {
			code = strconv.Itoa(*d.ReturnCode)
		}
		m.ended = append(m.ended, frontend.MineEnd{JobID: d.JobID, Status: string(d.Status), ReturnCode: code})
		m.dirty = true
	}
}

// flush sends the count and the ends noted since the last flush.
func (m *mine) flush(ctx context.Context, out *bytes.Buffer) {
	if m == nil || !m.dirty {
		return
	}
	running := 0
	for _, r := range m.active {
		if r {
			running++
		}
	}
	_ = frontend.Mine(running, m.ended, true).Render(ctx, out)
	m.ended, m.dirty = m.ended[:0], false
}
