package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Retention bounds what the data dir keeps. The zero value keeps
// everything.
type Retention struct {
	// KeepFor: jobs that ended longer ago than this are deleted, with their
	// attempts, transitions and files (DataDir/jobs/ID/). Zero keeps them.
	KeepFor time.Duration
	// MaxLogBytes caps each log file of a job (stdout.log, stderr.log):
	// when one grows past it, its start is cut and a line says how much.
	// Zero leaves logs whole.
	MaxLogBytes int64
	// Every is the time between passes (default 10 minutes; the first pass
	// runs a minute after start).
	Every time.Duration
}

// pruneBatch is how many jobs one prune transaction deletes: small enough
// that a submission waiting behind it is not held up noticeably (measured
// in TestRetentionWhileSubmitting), large enough to clear a backlog of a
// hundred thousand jobs in a few minutes.
const pruneBatch = 200

// retainer runs the retention passes: ended jobs past the retention
// period deleted with their files, logs cut to their cap. newRetainer makes
// it, start runs it on the manager's WaitGroup, shutdown ends it.
type retainer struct {
	retainParams
	// ctx ends with shutdown, stopping a pass under way.
	ctx    context.Context
	cancel context.CancelFunc
}

// retainParams are what the retainer needs of the manager.
type retainParams struct {
	store     Store
	dataDir   string
	retention Retention
	log       *slog.Logger
	now       func() time.Time
	// running lists the folders of the attempts running on this host now.
	running func() []string
}

func newRetainer(p retainParams) *retainer {
	ctx, cancel := context.WithCancel(context.Background())
	return &retainer{retainParams: p, ctx: ctx, cancel: cancel}
}

// needed reports whether there is anything to retain by.
func (r *retainer) needed() bool { return r.retention.KeepFor > 0 || r.retention.MaxLogBytes > 0 }

func (r *retainer) start(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.run(r.ctx)
	}()
}

func (r *retainer) shutdown() { r.cancel() }

// run runs the passes until ctx ends.
func (r *retainer) run(ctx context.Context) {
	every := r.retention.Every
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTimer(min(time.Minute, every))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.prune(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("retention: prune", "deleted", n, "err", err)
		} else if n > 0 {
			r.log.Info("retention: deleted ended jobs", "jobs", n, "older_than", r.retention.KeepFor)
		}
		if r.retention.MaxLogBytes > 0 {
			for _, d := range r.running() {
				r.capDir(d)
			}
		}
		t.Reset(every)
	}
}

// PruneNow deletes, in small batches, every job that ended longer ago than
// the retention period, and its files; it returns how many it deleted.
// Nothing happens without a retention period or with a store that cannot
// delete.
func (m *Manager) PruneNow(ctx context.Context) (int, error) { return m.retainer.prune(ctx) }

func (r *retainer) prune(ctx context.Context) (int, error) {
	p, ok := r.store.(Pruner)
	if !ok || r.retention.KeepFor <= 0 {
		return 0, nil
	}
	cutoff := r.now().Add(-r.retention.KeepFor)
	total := 0
	for {
		ids, err := p.JobPrune(ctx, JobPruneParams{EndedBefore: cutoff, Limit: pruneBatch})
		if err != nil {
			return total, err
		}
		for _, id := range ids {
			r.removeJobFiles(id)
		}
		total += len(ids)
		if len(ids) < pruneBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// removeJobFiles deletes a pruned job's folder (every attempt's logs and
// files).
func (r *retainer) removeJobFiles(id string) {
	// Ids are checked at submission; a stored one that could leave the
	// jobs folder is left alone rather than trusted.
	if id == "" || id == "." || id == ".." || filepath.Base(id) != id {
		r.log.Warn("retention: not removing the files of a job with an unusual id", "job", id)
		return
	}
	if err := os.RemoveAll(filepath.Join(r.dataDir, "jobs", id)); err != nil {
		r.log.Warn("retention: remove job files", "job", id, "err", err)
	}
}

// runningDirs are the folders of the local attempts running now.
func (m *Manager) runningDirs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var dirs []string
	for _, a := range m.active {
		if a.started() && !a.cluster {
			dirs = append(dirs, m.jobDir(a.id, a.attempt))
		}
	}
	return dirs
}

// capAttempt caps the logs of one attempt in dir (called when it ends).
func (r *retainer) capAttempt(dir string) {
	if r.retention.MaxLogBytes > 0 {
		r.capDir(dir)
	}
}

func (r *retainer) capDir(dir string) {
	for _, name := range []string{stdoutLog, stderrLog} {
		if _, err := CapLog(filepath.Join(dir, name), r.retention.MaxLogBytes); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.log.Warn("cap job log", "file", filepath.Join(dir, name), "err", err)
		}
	}
}

// CapLog keeps the last part of the log at path when it is larger than
// max bytes: the file is rewritten in place as one line saying how much was
// cut, then the tail from a line start, max bytes in all. In place, so that
// a job still writing to it (its descriptor is in append mode) goes on
// writing at the new end. It reports whether it cut anything.
func CapLog(path string, max int64) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	if size <= max {
		return false, nil
	}
	marker := func(cut int64) []byte {
		return fmt.Appendf(nil, "[simjobs: %d bytes cut from the start of this log (limit %d bytes, --max-log-mb)]\n", cut, max)
	}
	keep := max - int64(len(marker(size)))
	if keep < 0 {
		keep = 0
	}
	tail := make([]byte, keep)
	if _, err := f.ReadAt(tail, size-keep); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	// Start at a line: a half line after the marker reads as garbage.
	for i, b := range tail {
		if b == '\n' && i+1 < len(tail) {
			tail = tail[i+1:]
			break
		}
	}
	cut := size - int64(len(tail))
	out := append(marker(cut), tail...)
	if _, err := f.WriteAt(out, 0); err != nil {
		return false, err
	}
	return true, f.Truncate(int64(len(out)))
}
