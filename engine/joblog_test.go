package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// sleeper is a job that runs for a minute and writes nothing itself: the
// test writes its log.
func (b *bundle) sleeper(t *testing.T, id string) {
	t.Helper()
	js, _ := json.Marshal(engine.CommandConfig{Command: []string{b.envExe, "sleep", "60"}, JobID: id})
	if _, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: js}); err != nil {
		t.Fatal(err)
	}
}

// writeJobLog replaces (or, with add, appends to) a job attempt's log.
func (b *bundle) writeJobLog(t *testing.T, id string, attempt int, stream, text string, add bool) {
	t.Helper()
	path, err := b.m.LogPath(id, attempt, stream)
	if err != nil {
		t.Fatal(err)
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if add {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestReadLogAndTailLog(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	b.submit(t, "two", 0)
	b.wait(t, "two")
	b.submit(t, "two", 0) // attempt 2
	if j := b.wait(t, "two"); j.Attempt != 2 {
		t.Fatalf("attempt %d, want 2", j.Attempt)
	}
	b.writeJobLog(t, "two", 1, "stdout", "first\nattempt\n", false)
	b.writeJobLog(t, "two", 2, "stdout", "second ab€\nlast line\n", false)
	b.writeJobLog(t, "two", 2, "stderr", "oops\n", false)
	path, _ := b.m.LogPath("two", 1, "stderr")
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}

	var verr *engine.ValidationError
	tests := []struct {
		name    string
		id      string
		attempt int
		stream  string
		offset  int64
		limit   int64
		lines   int // TailLog when > 0
		want    string
		next    int64
		field   string // the ValidationError expected
		missing bool   // ErrNotFound expected
	}{
		{name: "latest attempt", id: "two", stream: "stdout", want: "second ab€\nlast line\n", next: 23},
		{name: "attempt 2 by number", id: "two", attempt: 2, stream: "stdout", offset: 7, want: "ab€\nlast line\n", next: 23},
		{name: "another attempt", id: "two", attempt: 1, stream: "stdout", want: "first\nattempt\n", next: 14},
		{name: "stderr", id: "two", stream: "stderr", want: "oops\n", next: 5},
		{name: "a rune across the bound", id: "two", stream: "stdout", offset: 7, limit: 4, want: "ab", next: 9},
		{name: "the rune whole on the next read", id: "two", stream: "stdout", offset: 9, limit: 4, want: "€\n", next: 13},
		{name: "offset past the end", id: "two", stream: "stdout", offset: 1000, want: "", next: 23},
		{name: "a missing log is empty", id: "two", attempt: 1, stream: "stderr", want: "", next: 0},
		{name: "tail one line", id: "two", stream: "stdout", lines: 1, want: "last line\n", next: 23},
		{name: "tail more lines than there are", id: "two", attempt: 1, stream: "stdout", lines: 5, want: "first\nattempt\n", next: 14},
		{name: "tail bounded in bytes", id: "two", stream: "stdout", lines: 5, limit: 12, want: "last line\n", next: 23},
		{name: "unknown job", id: "nobody", stream: "stdout", missing: true},
		{name: "a job id that is no id", id: "../two", stream: "stdout", field: "id"},
		{name: "an attempt it never had", id: "two", attempt: 3, stream: "stdout", field: "attempt"},
		{name: "a stream that is none", id: "two", stream: "stdin", field: "stream"},
		{name: "a negative offset", id: "two", stream: "stdout", offset: -1, field: "offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var c engine.LogChunk
			var err error
			if tt.lines > 0 {
				c, err = b.m.TailLog(ctx, tt.id, tt.attempt, tt.stream, tt.lines, tt.limit)
			} else {
				c, err = b.m.ReadLog(ctx, tt.id, tt.attempt, tt.stream, tt.offset, tt.limit)
			}
			switch {
			case tt.missing:
				if !errors.Is(err, engine.ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			case tt.field != "":
				if !errors.As(err, &verr) || verr.Field != tt.field {
					t.Errorf("err = %v, want a ValidationError of %s", err, tt.field)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if string(c.Data) != tt.want || c.Next != tt.next || c.Next != c.Offset+int64(len(c.Data)) || !c.Ended {
					t.Errorf("got %q at %d..%d (ended %v), want %q up to %d (ended)", c.Data, c.Offset, c.Next, c.Ended, tt.want, tt.next)
				}
			}
		})
	}
}

// While the attempt runs, a character being written is left for the next
// read; once it ended, what is there is all there will be.
func TestReadLogOfARunningJobKeepsCharactersWhole(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	b.sleeper(t, "run")
	waitFor(t, sub, engine.EventJobStarted, "run")
	b.writeJobLog(t, "run", 1, "stdout", "x\xe2\x82", true)
	c, err := b.m.ReadLog(context.Background(), "run", 0, "stdout", 0, 0)
	if err != nil || string(c.Data) != "x" || c.Ended || c.Size != 3 {
		t.Errorf("running: %q (ended %v, size %d), %v; want \"x\" and the rest held back", c.Data, c.Ended, c.Size, err)
	}
	if _, err := b.m.Cancel(context.Background(), "run", "test"); err != nil {
		t.Fatal(err)
	}
	b.wait(t, "run")
	c, err = b.m.ReadLog(context.Background(), "run", 0, "stdout", 1, 0)
	if err != nil || string(c.Data) != "\xe2\x82" || !c.Ended || c.Text() != "\uFFFD" {
		t.Errorf("ended: %q (ended %v, text %q), %v; want the cut character as it is", c.Data, c.Ended, c.Text(), err)
	}
}

// growth collects what WatchLog announces.
type growth struct {
	mu  sync.Mutex
	got []engine.LogGrowth
	ch  chan struct{}
}

func newGrowth() *growth { return &growth{ch: make(chan struct{}, 1)} }

func (g *growth) grew(lg engine.LogGrowth) {
	g.mu.Lock()
	g.got = append(g.got, lg)
	g.mu.Unlock()
	select {
	case g.ch <- struct{}{}:
	default:
	}
}

// until waits for an announcement of at least size bytes.
func (g *growth) until(t *testing.T, size int64) engine.LogGrowth {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		g.mu.Lock()
		for _, lg := range g.got {
			if lg.Size >= size {
				g.mu.Unlock()
				return lg
			}
		}
		g.mu.Unlock()
		select {
		case <-g.ch:
		case <-timeout:
			t.Fatalf("no announcement of %d bytes; got %+v", size, g.got)
		}
	}
}

// The follower announces a running job's log growing, stdout and stderr,
// to each watcher, while readers read it at the same time (run with -race).
func TestWatchLogAnnouncesGrowth(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	// Watched before it runs: the watch is of an attempt, not of a file.
	out, out2, errs := newGrowth(), newGrowth(), newGrowth()
	b.sleeper(t, "grow")
	stop, ok := b.m.WatchLog("grow", 1, "stdout", out.grew)
	if !ok {
		t.Fatal("WatchLog: not ok with the follower on")
	}
	defer stop()
	stop2, _ := b.m.WatchLog("grow", 1, "stdout", out2.grew)
	stopErr, _ := b.m.WatchLog("grow", 1, "stderr", errs.grew)
	defer stopErr()
	waitFor(t, sub, engine.EventJobStarted, "grow")

	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for ctx.Err() == nil {
				if _, err := b.m.ReadLog(ctx, "grow", 1, "stdout", 0, 0); err != nil && ctx.Err() == nil {
					t.Errorf("ReadLog: %v", err)
					return
				}
				_, _ = b.m.TailLog(ctx, "grow", 1, "stdout", 2, 0)
			}
		}()
	}
	defer func() { cancel(); readers.Wait() }()

	b.writeJobLog(t, "grow", 1, "stdout", "hello\n", true)
	if lg := out.until(t, 6); lg != (engine.LogGrowth{JobID: "grow", Attempt: 1, Stream: "stdout", Size: 6}) {
		t.Errorf("announced %+v", lg)
	}
	out2.until(t, 6)
	stop2()
	b.writeJobLog(t, "grow", 1, "stdout", "world\n", true)
	out.until(t, 12)
	b.writeJobLog(t, "grow", 1, "stderr", "warn\n", true)
	if lg := errs.until(t, 5); lg.Stream != "stderr" {
		t.Errorf("announced %+v for stderr", lg)
	}
	// Each size is announced once, growing.
	out.mu.Lock()
	for i := 1; i < len(out.got); i++ {
		if out.got[i].Size <= out.got[i-1].Size {
			t.Errorf("announcements not growing: %+v", out.got)
		}
	}
	out.mu.Unlock()
	// The stopped watcher heard nothing of the second write; the job's
	// end, which reads the log once more, is the last chance to.
	if _, err := b.m.Cancel(context.Background(), "grow", "test"); err != nil {
		t.Fatal(err)
	}
	b.wait(t, "grow")
	waitFor(t, sub, engine.EventJobCompleted, "grow")
	out2.mu.Lock()
	defer out2.mu.Unlock()
	for _, lg := range out2.got {
		if lg.Size > 6 {
			t.Errorf("a stopped watcher was told %+v", lg)
		}
	}
}

func TestWatchLogWithTheFollowerOff(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{progressEvery: -1})
	stop, ok := b.m.WatchLog("any", 1, "stdout", func(engine.LogGrowth) {})
	defer stop()
	if ok {
		t.Error("WatchLog ok with progress following off: nothing would announce")
	}
}

// A cluster job's log is written by the scheduler's job on the shared
// disk, not by a process of this server: it is announced and read the
// same way.
func TestClusterJobLogIsWatchedAndRead(t *testing.T) {
	t.Parallel()
	c := newFakePBS(t)
	b := clusterSetup(t, c, t.TempDir(), 50*time.Millisecond, nil, func(o *engine.Options) { o.ProgressEvery = 50 * time.Millisecond })
	sub := b.m.Events().Subscribe(0, 1024)
	defer sub.Close()
	g := newGrowth()
	b.submit(t, "pbs_log", 0, fakesolver.EnvScript+"="+fakesolver.HFSSLog(), fakesolver.EnvLineSleep+"=0.01")
	stop, ok := b.m.WatchLog("pbs_log", 1, "stdout", g.grew)
	if !ok {
		t.Fatal("WatchLog not ok")
	}
	defer stop()
	waitFor(t, sub, engine.EventJobStarted, "pbs_log")
	lg := g.until(t, 1)
	c0, err := b.m.ReadLog(context.Background(), "pbs_log", 1, "stdout", 0, 0)
	if err != nil || c0.Size < lg.Size || len(c0.Data) == 0 {
		t.Errorf("ReadLog after %+v: %d bytes of %d, %v", lg, len(c0.Data), c0.Size, err)
	}
	b.wait(t, "pbs_log")
	end, err := b.m.TailLog(context.Background(), "pbs_log", 1, "stdout", 1, 0)
	if err != nil || !end.Ended || !strings.HasPrefix(string(end.Data), "Stopping Batch Run") {
		t.Errorf("the ended cluster job's last line: %q (ended %v), %v", end.Data, end.Ended, err)
	}
}
