// Package jobpage is the page of one job: its configuration, the timeline
// of its status changes, return code and error, a live tail of its log that
// follows while it runs and resumes from its byte offset after a
// reconnection, and the buttons to cancel, re-prioritise and resubmit it.
package jobpage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"
	"unicode/utf8"

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
	if md.Log, err = tail(m, job, "stdout"); err != nil {
		return md, err
	}
	md.Stderr, err = tail(m, job, "stderr")
	return md, err
}

// tail reads the last TailBytes of a log, starting at a line.
func tail(m *engine.Manager, job engine.Job, stream string) (Log, error) {
	path, err := m.LogPath(job.ID, job.Attempt, stream)
	if err != nil {
		return Log{}, err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Log{}, nil
	}
	if err != nil {
		return Log{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Log{}, err
	}
	size := fi.Size()
	start := max(size-TailBytes, 0)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return Log{}, err
	}
	if start > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 && i < len(buf)-1 {
			buf, start = buf[i+1:], start+int64(i)+1
		}
	}
	text, n := complete(buf)
	return Log{Text: text, Offset: start + int64(n), Skipped: start}, nil
}

// ReadLog reads what a log holds from offset on, at most ChunkBytes, up to
// the last whole UTF-8 character. It returns the text and the offset after
// it; a missing file is empty.
func ReadLog(path string, offset int64) (string, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", offset, nil
	}
	if err != nil {
		return "", offset, err
	}
	defer f.Close()
	buf := make([]byte, ChunkBytes)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", offset, err
	}
	text, used := complete(buf[:n])
	return text, offset + int64(used), nil
}

// complete returns b without a trailing partial UTF-8 character (it comes
// with the next read) as valid text, and how many bytes of b that used.
func complete(b []byte) (string, int) {
	n := len(b)
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				n = len(b) - i
			}
			break
		}
	}
	return string(bytes.ToValidUTF8(b[:n], []byte("\uFFFD"))), n
}
