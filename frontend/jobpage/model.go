// Package jobpage is the page of one job: its configuration, the timeline
// of its status changes, return code and error, a live tail of its log that
// follows while it runs and resumes from its byte offset after a
// reconnection, and the buttons to cancel, re-prioritise and resubmit it.
package jobpage

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server"
)

// TailBytes is how much of a log the page shows at first; the whole log
// is a link away.
const TailBytes = 64 << 10

// ChunkBytes bounds one live log message.
const ChunkBytes = 64 << 10

// Model is what the page shows.
type Model struct {
	Job         engine.Job
	Attempts    []engine.Job
	Transitions []engine.Transition
	Config      string // indented JSON
	Log         Log
	Stderr      Log
	// Solver is what the solver's log says; nil when it says nothing a
	// solver wrote. Load leaves it nil: LoadSolver reads it.
	Solver    *solverlog.Summary
	Results   Results // the Results panel; the handler fills it
	MayChange bool
	Now       time.Time
	Notice    string
	Error     string

	// Deliveries are the notifications owed or sent for the job.
	Deliveries []engine.Delivery
}

// Log is the shown part of one log stream.
type Log struct {
	Text    string
	Offset  int64 // where the shown text ends: the live tail goes on from here
	Skipped int64 // bytes before the shown text
}

// Load reads the page of job id for who.
func Load(ctx context.Context, m *engine.Manager, id string, who server.Identity) (Model, error) {
	job, err := m.Job(ctx, id)
	if err != nil {
		return Model{}, err
	}
	md := Model{Job: job, Now: time.Now(), MayChange: frontend.MayChange(who, job)}
	if md.Attempts, err = m.Attempts(ctx, id); err != nil {
		return md, err
	}
	if md.Transitions, err = m.Transitions(ctx, id); err != nil {
		return md, err
	}
	if md.Deliveries, err = m.Deliveries(ctx, id); err != nil {
		return md, err
	}
	var buf bytes.Buffer
	if json.Indent(&buf, job.Config, "", "  ") == nil {
		md.Config = buf.String()
	} else {
		md.Config = string(job.Config)
	}
	if md.Log, err = tail(ctx, m, job, "stdout"); err != nil {
		return md, err
	}
	md.Stderr, err = tail(ctx, m, job, "stderr")
	return md, err
}

// tail reads the last TailBytes of a log, starting at a line.
func tail(ctx context.Context, m *engine.Manager, job engine.Job, stream string) (Log, error) {
	c, err := m.TailLog(ctx, job.ID, job.Attempt, stream, 0, TailBytes)
	if err != nil {
		return Log{}, err
	}
	return Log{Text: c.Text(), Offset: c.Next, Skipped: c.Offset}, nil
}
