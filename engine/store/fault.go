package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"modernc.org/sqlite"

	"github.com/simjobs/simjobs/engine"
)

// SQLite's primary result codes (stable across versions; the extended code
// carries the primary one in its low byte).
const (
	sqlitePerm     = 3
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteNotADB   = 26
)

// sqliteCode is err's primary SQLite result code, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() & 0xff
	}
	return 0
}

// classify turns a write error caused by where the database lives (a full
// or read-only volume, an I/O error) into an *engine.StoreFault naming the
// cause; other errors are returned as they are. The data dir is probed
// to tell a full volume from a read-only one, which SQLite reports alike
// (an I/O error) when the write that failed is the WAL's.
func (s *SQLite) classify(err error) error {
	if err == nil || errors.Is(err, engine.ErrStoreUnavailable) {
		return err
	}
	switch sqliteCode(err) {
	case sqliteFull, sqliteReadOnly, sqliteIOErr, sqliteCantOpen, sqlitePerm:
	case sqliteCorrupt, sqliteNotADB:
		return &engine.StoreFault{Cause: fmt.Sprintf("the database %s is corrupted: stop the server and restore a backup (see the README, Durability)", s.path), Err: err}
	default:
		if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EROFS) {
			return err
		}
	}
	return &engine.StoreFault{Cause: diagnose(filepath.Dir(s.path), err), Err: err}
}

// probeBytes is how much a probe writes to the data dir: room for a few
// submissions with their transitions and index entries.
const probeBytes = 256 << 10

// tryWrite writes probeBytes to a new file in dir, syncs and removes it.
func tryWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".simjobs-probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writable reports whether dir takes a write, and if not, why.
func writable(dir string) (string, bool) {
	err := tryWrite(dir)
	if err == nil {
		return "", true
	}
	return diagnose(dir, err), false
}

// diagnose says in one line why the directory cannot be written, by trying
// to: SQLite's own error rarely tells a full disk from a read-only one.
func diagnose(dir string, cause error) string {
	err := tryWrite(dir)
	switch {
	case errors.Is(err, syscall.ENOSPC) || sqliteCode(cause) == sqliteFull:
		return fmt.Sprintf("the data volume is full (%s): free some space; writes resume by themselves", dir)
	case errors.Is(err, syscall.EROFS):
		return fmt.Sprintf("the data volume is read-only (%s): remount it read-write; writes resume by themselves", dir)
	case errors.Is(err, os.ErrPermission):
		return fmt.Sprintf("the data dir %s is not writable by this user: fix its permissions", dir)
	case err != nil:
		return fmt.Sprintf("the data dir %s cannot be written (%v)", dir, err)
	}
	return fmt.Sprintf("I/O error on the database in %s (%v)", dir, cause)
}

// noteResult records whether the writer can write: a fault is kept until a
// later write succeeds, for Health.
func (s *SQLite) noteResult(err error) {
	var f *engine.StoreFault
	switch {
	case err == nil:
		if s.fault.Load() != nil {
			s.fault.Store(nil)
		}
	case errors.As(err, &f):
		s.fault.Store(f)
	}
}

// probeEvery limits how often Health tries a write while the store is
// failing (each probe is a commit with an fsync).
const probeEvery = time.Second

// Health implements engine.StoreHealth: nil while writes succeed. After a
// failed write it tries a write of its own (at most once a second) so that
// the fault clears once the volume can be written again, even when nothing
// else writes.
func (s *SQLite) Health(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	f := s.fault.Load()
	if f == nil {
		return nil
	}
	now := time.Now()
	last := s.lastProbe.Load()
	if now.UnixNano()-last < int64(probeEvery) || !s.lastProbe.CompareAndSwap(last, now.UnixNano()) {
		return f
	}
	if err := s.probe(ctx); err != nil {
		return err
	}
	return nil
}

// probe checks that the data dir takes a write the size of a few
// submissions (a small database write can fit in WAL space already
// allocated on a full volume), then commits a database write that changes
// nothing, through the writer.
func (s *SQLite) probe(ctx context.Context) error {
	if cause, ok := writable(filepath.Dir(s.path)); !ok {
		f := &engine.StoreFault{Cause: cause, Err: errors.New(cause)}
		s.fault.Store(f)
		return f
	}
	r := &writeReq{ctx: ctx, done: make(chan struct{})}
	var perr error
	r.fn = func() {
		_, err := s.wconn.ExecContext(context.Background(), "UPDATE meta SET value = value WHERE key = 'next_seq'")
		perr = s.classify(err)
		s.noteResult(perr)
	}
	if err := s.write(ctx, r); err != nil {
		return err
	}
	return perr
}
