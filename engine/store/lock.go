package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the name of the lock file in a data dir.
const LockFile = "simjobs.lock"

// DirLock is a data dir held by this process: while it is held no other
// simjobs server (and no offline backup or restore) uses the dir. The lock
// is an OS file lock (flock on Unix, LockFileEx on Windows), so it goes
// away with the process however it ends — a server killed with kill -9
// leaves nothing to clean up, and the reaper's next server takes it. The
// file also holds the holder's pid, for the message another server gives.
type DirLock struct {
	f *os.File
}

// ErrLocked is wrapped by the error LockDir returns when another process
// holds the dir.
var ErrLocked = errors.New("data dir in use")

// LockedError says which process holds a data dir.
type LockedError struct {
	Dir string
	PID int // 0 when the lock file names none
}

func (e *LockedError) Error() string {
	who := "another simjobs process"
	if e.PID > 0 {
		who = fmt.Sprintf("another simjobs process (pid %d)", e.PID)
	}
	return fmt.Sprintf("data dir %s is in use by %s: stop it first, or give this server its own --data-dir", e.Dir, who)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// LockDir takes dir's lock, or returns a *LockedError naming the holder.
func LockDir(dir string) (*DirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	switch {
	case errors.Is(err, syscall.EROFS):
		return nil, fmt.Errorf("data dir %s is on a read-only volume: remount it read-write, or give --data-dir a writable folder", dir)
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("data dir %s is not writable by this user: fix its permissions, or give --data-dir a writable folder", dir)
	case err != nil:
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := lockFile(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DirLock{f: f}, nil
}

// Release gives the lock up. The file stays: removing it would race with
// the next process opening it.
func (l *DirLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}
