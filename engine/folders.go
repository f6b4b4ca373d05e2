package engine

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// folders keeps a few job folders made ahead of need, so that starting a
// job renames one into place instead of creating it. A job's start creates
// four inodes (DataDir/jobs/ID/, its attempt's folder N/, stdout.log and
// stderr.log), and on the ext4 of the VM this was measured on each costs
// about half a millisecond of kernel CPU (a rename, 20 µs): more than the
// fork/exec of the job itself, on the path from the queue to the process
// running. The pool moves that work off the path onto a goroutine of its
// own, between starts; when it is empty a start makes its folder itself,
// as before.
//
// A spare is DataDir/.spare/K/1/ holding an empty stdout.log and
// stderr.log, the layout of a first attempt (Manager.jobDir). rename(2)
// never replaces a folder that holds anything, so a claim cannot clobber
// an attempt's logs; a spare it cannot place is kept for the next job.
//
// newFolders makes it, start runs the refill on the caller's WaitGroup,
// shutdown ends it; the spares left stay for the next server to adopt.
type folders struct {
	dir   string      // DataDir/.spare
	jobs  string      // DataDir/jobs
	ready chan string // spares made, each a path under dir
	kick  chan struct{}
	stop  chan struct{}
	once  sync.Once
	log   *slog.Logger
	// prefix names the spares this process makes, after the ones it
	// adopts; next counts them.
	prefix string
	next   int
}

// spareFolders is how many spares the pool keeps: a burst of that many
// starts finds its folders made.
const spareFolders = 8

// The names of an attempt's logs in its folder.
const (
	stdoutLog = "stdout.log"
	stderrLog = "stderr.log"
)

func newFolders(dataDir string, log *slog.Logger) *folders {
	return &folders{
		dir:    filepath.Join(dataDir, ".spare"),
		jobs:   filepath.Join(dataDir, "jobs"),
		ready:  make(chan string, spareFolders),
		kick:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		log:    log,
		prefix: strconv.FormatInt(time.Now().UnixNano(), 36) + "-",
	}
}

func (f *folders) start(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.adopt()
		for {
			f.fill()
			select {
			case <-f.stop:
				return
			case <-f.kick:
			}
		}
	}()
}

func (f *folders) shutdown() { f.once.Do(func() { close(f.stop) }) }

// claim puts a spare in place as dir, the folder of a job's attempt
// (Manager.jobDir), and reports whether it did; false leaves the folder to
// be made by whoever starts the job. It never blocks. It does not ask for
// a new spare: the caller does (refill) once its process runs, so that
// making the spare does not compete for the CPU with the start it was made
// for.
func (f *folders) claim(dir string) bool {
	var spare string
	select {
	case spare = <-f.ready:
	default:
		return false
	}
	// A first attempt of a new job takes the whole spare as the job's
	// folder; otherwise (a later attempt, or a first attempt started again)
	// only the spare's attempt folder moves, and its shell goes.
	if filepath.Base(dir) == "1" && os.Rename(spare, filepath.Dir(dir)) == nil {
		return true
	}
	if os.Rename(filepath.Join(spare, "1"), dir) == nil {
		if err := os.Remove(spare); err != nil {
			f.log.Debug("remove an emptied spare folder", "dir", spare, "err", err)
		}
		return true
	}
	// The attempt's folder holds something already, or the job's folder
	// is not there: keep the spare for another job, unless it is gone.
	if _, err := os.Lstat(spare); err != nil {
		return false
	}
	select {
	case f.ready <- spare:
	default: // the refill filled the pool meanwhile: the next server adopts it
	}
	return false
}

// refill asks for the pool to be topped up; it never blocks.
func (f *folders) refill() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// fill makes spares until the pool is full or the disk refuses; a refusal
// waits for the next claim to try again.
func (f *folders) fill() {
	for len(f.ready) < cap(f.ready) {
		select {
		case <-f.stop:
			return
		default:
		}
		spare := filepath.Join(f.dir, f.prefix+strconv.Itoa(f.next))
		f.next++
		if err := makeSpare(spare); err != nil {
			f.log.Debug("make a spare job folder", "dir", spare, "err", err)
			_ = os.RemoveAll(spare)
			return
		}
		// A claim's give-back may have filled the pool meanwhile.
		select {
		case f.ready <- spare:
		case <-f.stop:
			return
		}
	}
}

func makeSpare(spare string) error {
	if err := os.MkdirAll(filepath.Dir(spare), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(spare, 0o755); err != nil {
		return err
	}
	attempt := filepath.Join(spare, "1")
	if err := os.Mkdir(attempt, 0o755); err != nil {
		return err
	}
	for _, name := range []string{stdoutLog, stderrLog} {
		fh, err := os.OpenFile(filepath.Join(attempt, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
	}
	return nil
}

// adopt takes the spares a previous server left, as they are, and removes
// anything else under .spare (a spare half made when it stopped). It also
// makes sure DataDir/jobs exists, which a claim renames into.
func (f *folders) adopt() {
	if err := os.MkdirAll(f.jobs, 0o755); err != nil {
		f.log.Debug("make the jobs folder", "dir", f.jobs, "err", err)
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			f.log.Debug("read the spare job folders", "dir", f.dir, "err", err)
		}
		return
	}
	for _, e := range entries {
		spare := filepath.Join(f.dir, e.Name())
		if len(f.ready) < cap(f.ready) && isSpare(spare) {
			f.ready <- spare
			continue
		}
		if err := os.RemoveAll(spare); err != nil {
			f.log.Debug("remove a spare job folder", "dir", spare, "err", err)
		}
	}
}

// isSpare reports whether dir is exactly what makeSpare makes: a folder 1
// holding the two logs, empty.
func isSpare(dir string) bool {
	top, err := os.ReadDir(dir)
	if err != nil || len(top) != 1 || top[0].Name() != "1" || !top[0].IsDir() {
		return false
	}
	logs, err := os.ReadDir(filepath.Join(dir, "1"))
	if err != nil || len(logs) != 2 {
		return false
	}
	for _, l := range logs {
		fi, err := l.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 || (l.Name() != stdoutLog && l.Name() != stderrLog) {
			return false
		}
	}
	return true
}
