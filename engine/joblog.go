package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"unicode/utf8"
)

// MaxLogChunk bounds one read of a log: a reader of a bigger log goes on
// from LogChunk.Next.
const MaxLogChunk = 8 << 20

// LogChunk is a part of a job attempt's log, read by ReadLog or TailLog.
//
// The UTF-8 rule, the same for every reader: a chunk never ends inside a
// UTF-8 sequence while the log can still grow (its attempt has not ended,
// or the chunk was cut at its size bound); the incomplete sequence is the
// start of the next chunk. A chunk whose start the engine chooses (a tail)
// starts at a character. Bytes that are not UTF-8 are kept as they are in
// Data, so offsets stay byte offsets of the file, and Text shows each run
// of them as U+FFFD.
type LogChunk struct {
	Data   []byte // the log's bytes from Offset to Next
	Offset int64  // where Data starts in the log
	Next   int64  // where the next read goes on: Offset+len(Data)
	Size   int64  // the log's size when it was read; 0 when there is no log yet
	Ended  bool   // the attempt has ended: the log will not grow
}

// Text is Data as valid UTF-8.
func (c LogChunk) Text() string {
	return string(bytes.ToValidUTF8(c.Data, []byte("\uFFFD")))
}

// More reports whether the log held more than the chunk when it was read.
func (c LogChunk) More() bool { return c.Next < c.Size }

// ReadLog reads a job attempt's log ("stdout" or "stderr") from offset on,
// at most limit bytes (0 or more than MaxLogChunk: MaxLogChunk); attempt 0 is
// the latest. An offset past the end reads nothing from the end. A log not
// written yet is an empty chunk; an unknown job is ErrNotFound and an
// attempt it never had a ValidationError.
func (m *Manager) ReadLog(ctx context.Context, id string, attempt int, stream string, offset, limit int64) (LogChunk, error) {
	if offset < 0 {
		return LogChunk{}, &ValidationError{Field: "offset", Message: "must be >= 0"}
	}
	path, ended, err := m.logOf(ctx, id, attempt, stream)
	if err != nil {
		return LogChunk{}, err
	}
	return readLogFile(path, offset, limit, ended)
}

// TailLog reads the end of a job attempt's log: its last lines lines (0:
// any number), reaching back at most limit bytes (0: no bound), from the
// start of a line when the bound cuts one. The chunk holds at most
// MaxLogChunk bytes; the rest is read on with ReadLog from Next.
func (m *Manager) TailLog(ctx context.Context, id string, attempt int, stream string, lines int, limit int64) (LogChunk, error) {
	if lines < 0 {
		return LogChunk{}, &ValidationError{Field: "lines", Message: "must be >= 0"}
	}
	path, ended, err := m.logOf(ctx, id, attempt, stream)
	if err != nil {
		return LogChunk{}, err
	}
	return tailLogFile(path, lines, limit, ended)
}

// logOf is the file of a job attempt's log and whether the attempt ended.
func (m *Manager) logOf(ctx context.Context, id string, attempt int, stream string) (string, bool, error) {
	if !jobIDPattern.MatchString(id) {
		return "", false, &ValidationError{Field: "id", Message: "is not a valid job id"}
	}
	if attempt < 0 {
		return "", false, &ValidationError{Field: "attempt", Message: "must be >= 0"}
	}
	job, err := m.store.JobGet(ctx, id)
	if err != nil {
		return "", false, err
	}
	if attempt == 0 {
		attempt = job.Attempt
	}
	if attempt > job.Attempt {
		return "", false, &ValidationError{Field: "attempt", Message: "no such attempt"}
	}
	path, err := m.LogPath(id, attempt, stream)
	return path, attempt < job.Attempt || job.Status.Terminal(), err
}

// readLogFile is ReadLog on a file: the one reader of logs, also used by
// the progress follower and the CLI's local runs.
func readLogFile(path string, offset, limit int64, ended bool) (LogChunk, error) {
	f, size, err := openLog(path)
	if f == nil {
		return LogChunk{Ended: ended}, err
	}
	defer f.Close()
	return readAt(f, size, min(offset, size), limit, ended)
}

// openLog opens a log and says how long it is; a log not written yet is a
// nil file and no error (an empty chunk to its readers).
func openLog(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// ReadLogFile is ReadLog for a log outside any manager (a job the CLI runs
// itself), with the same UTF-8 rule; ended says the writer is done.
func ReadLogFile(path string, offset, limit int64, ended bool) (LogChunk, error) {
	if offset < 0 {
		return LogChunk{}, &ValidationError{Field: "offset", Message: "must be >= 0"}
	}
	return readLogFile(path, offset, limit, ended)
}

// readAt reads the chunk from start of a file of the given size.
func readAt(f io.ReaderAt, size, start, limit int64, ended bool) (LogChunk, error) {
	if limit <= 0 || limit > MaxLogChunk {
		limit = MaxLogChunk
	}
	// A few bytes more than asked, to see whether the last character is
	// whole.
	buf := make([]byte, min(size-start, limit+utf8.UTFMax-1))
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return LogChunk{}, err
	}
	buf = buf[:n]
	data := buf[:min(int64(n), limit)]
	if cut := len(data) < len(buf); cut || !ended {
		data = wholeRunes(data, buf, ended)
	}
	return LogChunk{Data: data, Offset: start, Next: start + int64(len(data)), Size: size, Ended: ended}, nil
}

// wholeRunes shortens data (a prefix of buf, which holds what follows it:
// a few bytes, or up to the end of the file) so that it does not end
// inside a UTF-8 sequence. When that would leave it empty, the first
// character is taken whole from buf instead, so that a reader always moves
// on. A sequence the end of the file leaves incomplete waits for more,
// unless the log ended: then it will never be whole and is taken as it
// is. Bytes that are not UTF-8 stay.
func wholeRunes(data, buf []byte, ended bool) []byte {
	at := -1
	for i := 1; i <= utf8.UTFMax-1 && i <= len(data); i++ {
		if utf8.RuneStart(data[len(data)-i]) {
			at = len(data) - i
			break
		}
	}
	if at < 0 || utf8.FullRune(data[at:]) {
		return data
	}
	if utf8.FullRune(buf[at:]) {
		r, size := utf8.DecodeRune(buf[at:])
		switch {
		case r == utf8.RuneError && size == 1:
			return data // not UTF-8: no character to keep whole
		case at > 0:
			return data[:at]
		}
		return buf[:size]
	}
	// The file ends inside the sequence.
	switch {
	case ended:
		return buf
	case at > 0:
		return data[:at]
	}
	return data[:0]
}

// tailLogFile is TailLog on a file.
func tailLogFile(path string, lines int, limit int64, ended bool) (LogChunk, error) {
	f, size, err := openLog(path)
	if f == nil {
		return LogChunk{Ended: ended}, err
	}
	defer f.Close()
	floor := int64(0)
	if limit > 0 {
		floor = max(size-limit, 0)
	}
	start, found := floor, false
	if lines > 0 {
		if start, found, err = linesStart(f, size, lines, floor); err != nil {
			return LogChunk{}, err
		}
	}
	if !found && floor > 0 {
		if start, err = lineAfter(f, floor, size); err != nil {
			return LogChunk{}, err
		}
	}
	return readAt(f, size, start, 0, ended)
}

// linesStart finds where the last n lines of a file begin, reading
// backwards in blocks, no further back than floor, so that a huge log
// costs only what is shown. found is false when fewer lines end after
// floor; start is floor then.
func linesStart(f io.ReaderAt, size int64, n int, floor int64) (start int64, found bool, err error) {
	const block = 64 << 10
	pos := size
	count := 0
	buf := make([]byte, block)
	// A final newline ends the last line; it does not start another.
	if size > 0 {
		one := make([]byte, 1)
		if _, err := f.ReadAt(one, size-1); err == nil && one[0] == '\n' {
			count = -1
		}
	}
	for pos > floor {
		step := min(int64(block), pos-floor)
		pos -= step
		chunk := buf[:step]
		if _, err := f.ReadAt(chunk, pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, false, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] == '\n' {
				count++
				if count == n {
					return pos + int64(i) + 1, true, nil
				}
			}
		}
	}
	return floor, floor == 0, nil
}

// lineAfter is where the first line that starts at or after floor begins,
// within what is left before size; with none, the first character after
// floor.
func lineAfter(f io.ReaderAt, floor, size int64) (int64, error) {
	buf := make([]byte, size-floor)
	n, err := f.ReadAt(buf, floor)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	buf = buf[:n]
	if floor > 0 {
		// floor itself starts a line when the byte before it ends one.
		one := make([]byte, 1)
		if _, err := f.ReadAt(one, floor-1); err == nil && one[0] == '\n' {
			return floor, nil
		}
	}
	if i := bytes.IndexByte(buf, '\n'); i >= 0 && i < len(buf)-1 {
		return floor + int64(i) + 1, nil
	}
	i := 0
	for i < len(buf) && i < utf8.UTFMax-1 && !utf8.RuneStart(buf[i]) {
		i++
	}
	return floor + int64(i), nil
}

// LogGrowth says that a job attempt's log grew.
type LogGrowth struct {
	JobID   string
	Attempt int
	Stream  string
	Size    int64 // the log's size now
}

// WatchLog calls grew each time the progress follower sees a job attempt's
// log ("stdout" or "stderr") grow, until stop is called: a reader reads
// only when there is something new. grew runs on the follower's goroutine
// and must neither block nor call stop. The follower looks at the logs of
// running jobs every Options.ProgressEvery; ok is false when it is off
// (nothing will be announced: read on a clock of your own). Watch before
// the first read, so that no growth after it goes unannounced.
func (m *Manager) WatchLog(id string, attempt int, stream string, grew func(LogGrowth)) (stop func(), ok bool) {
	if m.follower == nil {
		return func() {}, false
	}
	return m.follower.watchers.add(logKey{id, attempt, stream}, grew), true
}

type logKey struct {
	id      string
	attempt int
	stream  string
}

// logWatchers are the WatchLog callbacks, by log.
type logWatchers struct {
	mu   sync.Mutex
	next int
	by   map[logKey]map[int]func(LogGrowth)
}

func (w *logWatchers) add(k logKey, grew func(LogGrowth)) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.by == nil {
		w.by = map[logKey]map[int]func(LogGrowth){}
	}
	if w.by[k] == nil {
		w.by[k] = map[int]func(LogGrowth){}
	}
	w.next++
	n := w.next
	w.by[k][n] = grew
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			delete(w.by[k], n)
			if len(w.by[k]) == 0 {
				delete(w.by, k)
			}
		})
	}
}

// watched reports whether anyone watches a log.
func (w *logWatchers) watched(k logKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.by[k]) > 0
}

// announce tells a log's watchers its new size.
func (w *logWatchers) announce(k logKey, size int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := LogGrowth{JobID: k.id, Attempt: k.attempt, Stream: k.stream, Size: size}
	for _, grew := range w.by[k] {
		grew(g)
	}
}
