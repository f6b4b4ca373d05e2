package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine/solverlog"
)

// DefaultProgressEvery is how often the logs of running jobs are read for
// their progress when Options.ProgressEvery is zero.
const DefaultProgressEvery = time.Second

// progressReadMax bounds what one look at a log reads: a log that grew by
// more is read on at the next look.
const progressReadMax = 4 << 20

// follower reads the stdout logs of running jobs as they grow and turns
// what their solvers say into each job's progress: stored with the job
// (not synced: it can be rebuilt from the log) and announced as
// job_progress when it changes. It learns of starts and ends from the
// event stream, reads only new bytes on one shared ticker that runs while
// a job runs, and stays off every path that starts or ends jobs.
type follower struct {
	m     *Manager
	every time.Duration
	loc   *time.Location
	jobs  map[string]*followed // by job id; owned by run's goroutine

	// latest is the summary of each followed job's log as last read, for
	// LogSummary: readers of a running job's summary share this reading
	// instead of parsing the log again.
	mu     sync.Mutex
	latest map[string]followedSummary // by job id

	// watchers are told when a followed log grows (Manager.WatchLog).
	watchers logWatchers

	stop context.CancelFunc // set by start; shutdown calls it
}

type followedSummary struct {
	attempt int
	s       solverlog.Summary
}

// followed is one job attempt whose log is being read.
type followed struct {
	id      string
	attempt int
	path    string
	offset  int64
	parser  *solverlog.Parser
	last    []byte // the progress last stored, as JSON

	// told is the size of each log last announced to its watchers.
	told map[string]int64 // by stream
}

func newFollower(m *Manager, every time.Duration) *follower {
	if every == 0 {
		every = DefaultProgressEvery
	}
	return &follower{m: m, every: every, loc: time.Local, jobs: map[string]*followed{}, latest: map[string]followedSummary{}}
}

// start runs the follower on wg until shutdown (or ctx ends). It
// subscribes to the events before it returns, so no job that starts
// afterwards goes unseen.
func (f *follower) start(ctx context.Context, wg *sync.WaitGroup) {
	ctx, f.stop = context.WithCancel(ctx)
	sub := f.m.bus.subscribeInternal(1024)
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.run(ctx, sub)
	}()
}

// shutdown ends the follower; the Manager's Close waits for it.
func (f *follower) shutdown() { f.stop() }

func (f *follower) run(ctx context.Context, sub *Subscription) {
	ticker := time.NewTicker(f.every)
	ticker.Stop()
	defer ticker.Stop()
	var tick <-chan time.Time
	defer func() { sub.Close() }()
	f.resync(ctx)
	for {
		switch {
		case len(f.jobs) > 0 && tick == nil:
			ticker.Reset(f.every)
			tick = ticker.C
		case len(f.jobs) == 0 && tick != nil:
			ticker.Stop()
			tick = nil
		}
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				// Too slow for the stream (a burst of events): subscribe
				// again and catch up from the manager's own state.
				sub = f.m.bus.subscribeInternal(1024)
				f.resync(ctx)
				continue
			}
			switch d := ev.Data.(type) {
			case JobStartedData:
				f.follow(d.JobID, d.Attempt)
			case JobEndedData:
				if ev.Name == EventJobCompleted { // sent for every end
					f.finish(ctx, d.JobID, d.Attempt, d.Status)
				}
			}
		case <-tick:
			for _, j := range f.jobs {
				if _, err := f.readNew(j, false); err != nil {
					f.m.log.Debug("read job log for progress", "job", j.id, "err", err)
				}
				f.record(ctx, j, "")
				f.announceStderr(j)
			}
		}
	}
}

// resync follows every job the manager runs, and finishes the followed
// jobs it no longer runs.
func (f *follower) resync(ctx context.Context) {
	type run struct {
		id      string
		attempt int
	}
	var running []run
	f.m.mu.Lock()
	for _, a := range f.m.active {
		if a.status == StatusRunning && a.phase != phaseReserved {
			running = append(running, run{a.id, a.attempt})
		}
	}
	f.m.mu.Unlock()
	still := map[string]bool{}
	for _, r := range running {
		still[r.id] = true
		f.follow(r.id, r.attempt)
	}
	for id, j := range f.jobs {
		if still[id] {
			continue
		}
		job, err := f.m.store.JobGet(ctx, id)
		if err != nil || job.Attempt != j.attempt || !job.Status.Terminal() {
			f.forget(id)
			continue
		}
		f.finish(ctx, id, j.attempt, job.Status)
	}
}

func (f *follower) follow(id string, attempt int) {
	if j, ok := f.jobs[id]; ok && j.attempt >= attempt {
		return
	}
	path, err := f.m.LogPath(id, attempt, "stdout")
	if err != nil {
		return
	}
	f.jobs[id] = &followed{id: id, attempt: attempt, path: path, parser: solverlog.NewParser(f.loc)}
}

// finish reads the rest of an ended job's log (all of it, for a job that
// ended before it was seen running) and records its final progress.
func (f *follower) finish(ctx context.Context, id string, attempt int, st Status) {
	j, ok := f.jobs[id]
	if ok && j.attempt != attempt {
		ok = false
	}
	f.forget(id)
	if !ok {
		path, err := f.m.LogPath(id, attempt, "stdout")
		if err != nil {
			return
		}
		j = &followed{id: id, attempt: attempt, path: path, parser: solverlog.NewParser(f.loc)}
	}
	for {
		n, err := f.readNew(j, true)
		if err != nil {
			f.m.log.Debug("read job log for progress", "job", j.id, "err", err)
		}
		if n == 0 || err != nil || ctx.Err() != nil {
			break
		}
	}
	j.parser.Flush()
	f.record(ctx, j, st)
	f.announceStderr(j)
}

// record records the job's progress if it changed. end is the job's final
// status once it ended.
func (f *follower) record(ctx context.Context, j *followed, end Status) {
	if !j.parser.Recognised() {
		return
	}
	s := j.parser.Summary()
	if end != "" {
		s.Settle(string(end))
	} else {
		f.mu.Lock()
		f.latest[j.id] = followedSummary{attempt: j.attempt, s: s}
		f.mu.Unlock()
	}
	p := s.Progress()
	js, err := json.Marshal(p)
	if err != nil || bytes.Equal(js, j.last) {
		return
	}
	if f.m.recordProgress(ctx, j.id, j.attempt, p, js, end != "") {
		j.last = js
	}
}

// forget stops following a job.
func (f *follower) forget(id string) {
	delete(f.jobs, id)
	f.mu.Lock()
	delete(f.latest, id)
	f.mu.Unlock()
}

// summary is the summary of a running job attempt's log as last read.
func (f *follower) summary(id string, attempt int) (solverlog.Summary, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.latest[id]
	if !ok || l.attempt != attempt {
		return solverlog.Summary{}, false
	}
	return l.s, true
}

// readNew reads what was written to the stdout log since the last read,
// at most progressReadMax bytes, says how much, and tells the log's
// watchers when it grew. ended is true once the job ended.
func (f *follower) readNew(j *followed, ended bool) (int64, error) {
	c, err := readLogFile(j.path, j.offset, progressReadMax, ended)
	if err != nil {
		return 0, err
	}
	n, err := j.parser.Write(c.Data)
	j.offset += int64(n)
	f.announce(j, "stdout", c.Size)
	return int64(n), err
}

// announceStderr tells the watchers of a followed job's stderr log, if it
// has any, that it grew. Nothing reads stderr for progress: it is looked at
// only while watched.
func (f *follower) announceStderr(j *followed) {
	if !f.watchers.watched(logKey{j.id, j.attempt, "stderr"}) {
		return
	}
	path, err := f.m.LogPath(j.id, j.attempt, "stderr")
	if err != nil {
		return
	}
	if fi, err := os.Stat(path); err == nil {
		f.announce(j, "stderr", fi.Size())
	}
}

// announce tells a log's watchers its size when it grew since last told.
func (f *follower) announce(j *followed, stream string, size int64) {
	if size <= j.told[stream] {
		return
	}
	if j.told == nil {
		j.told = map[string]int64{}
	}
	j.told[stream] = size
	f.watchers.announce(logKey{j.id, j.attempt, stream}, size)
}

// recordProgress stores a job attempt's progress and announces it, and
// reports whether it did both. An attempt whose end is being recorded is
// not announced (its progress is never announced after its end) until the
// final progress, which follows job_completed.
func (m *Manager) recordProgress(ctx context.Context, id string, attempt int, p solverlog.Progress, js []byte, final bool) bool {
	// NoSync: the progress can be rebuilt from the log.
	err := m.store.JobUpdate(ctx, JobUpdateParams{ID: id, Attempt: attempt, Progress: js, Time: m.now().UTC(), NoSync: true})
	if err != nil {
		if !errors.Is(err, ErrStale) && !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
			m.log.Error("persist job progress", "job", id, "err", err)
		}
		return false
	}
	data := JobProgressData{JobID: id, Attempt: attempt, Progress: p}
	if final {
		m.bus.Publish(EventJobProgress, data)
		return true
	}
	// Announced under the manager's lock, so that no end is recorded
	// between the check and the announcement.
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.active[id]; ok && a.attempt == attempt && a.phase != phaseEnding {
		m.bus.Publish(EventJobProgress, data)
		return true
	}
	return false
}

// LogSummary reads what the solver log (stdout) of a job's attempt says;
// attempt 0 is the latest. ok is false when the attempt has no log yet or
// nothing in it came from a solver. A log of an attempt that ended is
// settled with the attempt's status. A running attempt's summary is the
// progress follower's last reading (at most Options.ProgressEvery old);
// others are read from the log.
func (m *Manager) LogSummary(ctx context.Context, id string, attempt int) (s solverlog.Summary, ok bool, err error) {
	job, err := m.store.JobGet(ctx, id)
	if err != nil {
		return s, false, err
	}
	if attempt != 0 && attempt != job.Attempt {
		attempts, err := m.store.AttemptList(ctx, id)
		if err != nil {
			return s, false, err
		}
		i := slices.IndexFunc(attempts, func(a Job) bool { return a.Attempt == attempt })
		if i < 0 {
			return s, false, &ValidationError{Field: "attempt", Message: "no such attempt"}
		}
		job = attempts[i]
	}
	if job.Status == StatusRunning && m.follower != nil {
		if s, ok := m.follower.summary(id, job.Attempt); ok {
			return s, true, nil
		}
	}
	path, err := m.LogPath(id, job.Attempt, "stdout")
	if err != nil {
		return s, false, err
	}
	s, ok, err = solverlog.ParseFile(path, time.Local)
	if err != nil || !ok {
		return s, ok, err
	}
	if job.Status.Terminal() {
		s.Settle(string(job.Status))
	}
	return s, true, nil
}
