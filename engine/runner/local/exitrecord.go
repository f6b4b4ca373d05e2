package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A job process outlives a server that crashes; the next server adopts it
// but, not being its parent, cannot learn its exit status. On Linux the
// server runs under a small reaper process (simjobs serve sets it up) that
// becomes the parent of such orphans, reaps them and writes their exit status
// here: one file per process, named by pid and start time so that a reused
// pid cannot be confused with the job's, holding "exit N" or "signal N".

// ExitRecord is how an orphaned job process ended.
type ExitRecord struct {
	Code   int // exit code, when Signal is 0
	Signal int // the signal that killed it, 0 if it exited
}

func exitRecordPath(dir string, pid int, start uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%d-%d", pid, start))
}

// WriteExitRecord records how process pid (started at start, in clock ticks
// since boot) ended. The file appears atomically.
func WriteExitRecord(dir string, pid int, start uint64, rec ExitRecord) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	text := fmt.Sprintf("exit %d\n", rec.Code)
	if rec.Signal != 0 {
		text = fmt.Sprintf("signal %d\n", rec.Signal)
	}
	path := exitRecordPath(dir, pid, start)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readExitRecord reads and removes the record of process pid, reporting
// false when there is none.
func readExitRecord(dir string, pid int, start uint64) (ExitRecord, bool, error) {
	if dir == "" {
		return ExitRecord{}, false, nil
	}
	path := exitRecordPath(dir, pid, start)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ExitRecord{}, false, nil
	}
	if err != nil {
		return ExitRecord{}, false, err
	}
	kind, num, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || (kind != "exit" && kind != "signal") {
		return ExitRecord{}, false, fmt.Errorf("exit record %s: unreadable %q", path, b)
	}
	os.Remove(path)
	if kind == "signal" {
		return ExitRecord{Signal: n}, true, nil
	}
	return ExitRecord{Code: n}, true, nil
}
