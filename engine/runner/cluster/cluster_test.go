package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/runner"
)

// scripted is a Backend whose scheduler is a map the test edits: what the
// tracker does with listings, accounting and failures, without a CLI.
type scripted struct {
	mu       sync.Mutex
	listing  map[string]Status // what List returns
	acct     map[string]End    // what Final returns
	listErr  error
	names    map[string]string // name -> id, what Find finds
	submit   func(name string) (string, error)
	findErr  error
	lists    int
	finals   [][]string // the ids each Final call asked for
	submits  int
	cancels  []string
	listedCh chan int // receives the count after every List
}

func newScripted() *scripted {
	return &scripted{listing: map[string]Status{}, acct: map[string]End{}, names: map[string]string{}, listedCh: make(chan int, 1024)}
}

func (s *scripted) Name() string    { return "scripted" }
func (s *scripted) MaxNameLen() int { return 0 }

func (s *scripted) Submit(ctx context.Context, spec runner.Spec, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.submits++
	if s.submit != nil {
		return s.submit(name)
	}
	id := fmt.Sprint(100 + s.submits)
	s.names[name] = id
	s.listing[id] = Status{State: runner.StateScheduled}
	return id, nil
}

func (s *scripted) Find(ctx context.Context, name string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findErr != nil {
		return "", false, s.findErr
	}
	id, ok := s.names[name]
	return id, ok, nil
}

func (s *scripted) List(ctx context.Context, ids []string) (map[string]Status, error) {
	s.mu.Lock()
	s.lists++
	n := s.lists
	out := make(map[string]Status, len(s.listing))
	for k, v := range s.listing {
		out[k] = v
	}
	err := s.listErr
	s.mu.Unlock()
	select {
	case s.listedCh <- n:
	default:
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *scripted) Final(ctx context.Context, ids []string) (map[string]End, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finals = append(s.finals, append([]string(nil), ids...))
	out := map[string]End{}
	for _, id := range ids {
		if e, ok := s.acct[id]; ok {
			out[id] = e
		}
	}
	return out, nil
}

func (s *scripted) Cancel(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancels = append(s.cancels, id)
	return nil
}

func (s *scripted) Partitions(ctx context.Context) ([]runner.Partition, error) { return nil, nil }

func (s *scripted) set(edit func(s *scripted)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(s)
}

// drain forgets the listings signalled so far.
func (s *scripted) drain() {
	for {
		select {
		case <-s.listedCh:
		default:
			return
		}
	}
}

// waitLists waits until n more List calls have happened.
func (s *scripted) waitLists(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := 0; i < n; {
		select {
		case <-s.listedCh:
			i++
		case <-timeout:
			t.Fatalf("only %d of %d listings happened", i, n)
		}
	}
}

func newTestRunner(t *testing.T, b Backend, o Options) *Runner {
	t.Helper()
	if o.PollMin == 0 {
		o.PollMin = 2 * time.Millisecond
	}
	if o.PollMax == 0 {
		o.PollMax = 10 * time.Millisecond
	}
	if o.LostAfter == 0 {
		o.LostAfter = time.Hour
	}
	r := New(b, o)
	t.Cleanup(func() { r.Close() })
	return r
}

func next(t *testing.T, r *Runner) runner.Update {
	t.Helper()
	select {
	case u := <-r.Updates():
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no update within 10s")
	}
	panic("unreachable")
}

func ref(id string, ext string) runner.Ref {
	return runner.Ref{JobID: id, Attempt: 1, Handle: runner.Handle{ExternalID: ext}}
}

func ip(n int) *int { return &n }

// strip keeps what the tests compare.
func strip(u runner.Update) runner.Update { u.Time = time.Time{}; return u }

func TestRunningThenAccountingEnd(t *testing.T) {
	b := newScripted()
	r := newTestRunner(t, b, Options{})
	b.set(func(s *scripted) { s.listing["7"] = Status{State: runner.StateRunning, Detail: "RUNNING"} })
	if err := r.Adopt(context.Background(), ref("a", "7")); err != nil {
		t.Fatal(err)
	}
	if got := strip(next(t, r)); got.State != runner.StateRunning {
		t.Fatalf("first update %+v, want running", got)
	}
	b.set(func(s *scripted) {
		s.listing["7"] = Status{State: runner.StateFailed, Detail: "FAILED"}
		s.acct["7"] = End{State: runner.StateFailed, ExitCode: ip(3), Message: "exit code 3"}
	})
	want := runner.Update{JobID: "a", Attempt: 1, State: runner.StateFailed, ExitCode: ip(3), Message: "exit code 3"}
	if diff := cmp.Diff(want, strip(next(t, r))); diff != "" {
		t.Errorf("end (-want +got):\n%s", diff)
	}
}

// TestVanishedIsNotCompleted: a job that leaves the listing without an
// accounting record stays tracked, and after LostAfter ends as failed.
func TestVanishedIsNotCompleted(t *testing.T) {
	b := newScripted()
	r := newTestRunner(t, b, Options{LostAfter: 100 * time.Millisecond})
	b.set(func(s *scripted) { s.listing["9"] = Status{State: runner.StateRunning} })
	if err := r.Adopt(context.Background(), ref("v", "9")); err != nil {
		t.Fatal(err)
	}
	if u := next(t, r); u.State != runner.StateRunning {
		t.Fatalf("%+v", u)
	}
	start := time.Now()
	b.set(func(s *scripted) { delete(s.listing, "9") })
	u := next(t, r)
	if u.State != runner.StateFailed || u.ExitCode != nil || !strings.Contains(u.Message, "lost") {
		t.Errorf("end of a vanished job = %+v, want failed as lost", u)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("declared lost after %v, before LostAfter", d)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.finals) < 2 {
		t.Errorf("accounting asked %d times; it must be asked every cycle until LostAfter", len(b.finals))
	}
}

// TestListingTerminalWithoutAccounting: the listing's own end state is
// used only when accounting never answers, and without inventing an exit
// code for a failure.
func TestListingTerminalWithoutAccounting(t *testing.T) {
	b := newScripted()
	r := newTestRunner(t, b, Options{LostAfter: 50 * time.Millisecond})
	b.set(func(s *scripted) {
		s.listing["1"] = Status{State: runner.StateCompleted, Detail: "COMPLETED"}
		s.listing["2"] = Status{State: runner.StateFailed, Detail: "FAILED"}
	})
	for _, rf := range []runner.Ref{ref("c", "1"), ref("f", "2")} {
		if err := r.Adopt(context.Background(), rf); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]runner.Update{}
	for len(got) < 2 {
		u := next(t, r)
		got[u.JobID] = strip(u)
	}
	if u := got["c"]; u.State != runner.StateCompleted || u.ExitCode == nil || *u.ExitCode != 0 {
		t.Errorf("completed in the listing: %+v", u)
	}
	if u := got["f"]; u.State != runner.StateFailed || u.ExitCode != nil || u.Message == "" {
		t.Errorf("failed in the listing: %+v", u)
	}
}

// TestListingErrorsChangeNothing: while the listing fails (garbage, hang,
// exit status) no job changes state; when it answers again, tracking goes
// on.
func TestListingErrorsChangeNothing(t *testing.T) {
	b := newScripted()
	r := newTestRunner(t, b, Options{LostAfter: time.Millisecond})
	b.set(func(s *scripted) {
		s.listing["5"] = Status{State: runner.StateScheduled}
		s.listErr = &CommandError{Command: "squeue", Err: fmt.Errorf("%w: line 1 is %q", ErrOutput, "<html>")}
	})
	if err := r.Adopt(context.Background(), ref("e", "5")); err != nil {
		t.Fatal(err)
	}
	b.waitLists(t, 5)
	select {
	case u := <-r.Updates():
		t.Fatalf("update %+v while the listing failed", u)
	default:
	}
	if st := r.Stats(); !strings.Contains(st.LastError, "unexpected output") || st.Tracked != 1 {
		t.Errorf("Stats = %+v", st)
	}
	b.set(func(s *scripted) {
		s.listErr = nil
		s.listing["5"] = Status{State: runner.StateCompleted}
		s.acct["5"] = End{State: runner.StateCompleted, ExitCode: ip(0)}
	})
	if u := next(t, r); u.State != runner.StateCompleted {
		t.Errorf("after recovery: %+v", u)
	}
	if st := r.Stats(); st.LastError != "" {
		t.Errorf("LastError after a clean cycle: %q", st.LastError)
	}
}

func TestCancelTurnsFailureIntoCancelled(t *testing.T) {
	b := newScripted()
	r := newTestRunner(t, b, Options{})
	b.set(func(s *scripted) { s.listing["3"] = Status{State: runner.StateRunning} })
	rf := ref("k", "3")
	if err := r.Adopt(context.Background(), rf); err != nil {
		t.Fatal(err)
	}
	next(t, r) // running
	if err := r.Cancel(context.Background(), rf); err != nil {
		t.Fatal(err)
	}
	b.set(func(s *scripted) {
		delete(s.listing, "3")
		s.acct["3"] = End{State: runner.StateFailed, ExitCode: ip(130), Message: "exit code 130"}
	})
	u := next(t, r)
	if u.State != runner.StateCancelled || u.ExitCode == nil || *u.ExitCode != 130 {
		t.Errorf("end after Cancel = %+v, want cancelled keeping the exit code", u)
	}
	if err := r.Cancel(context.Background(), rf); !errors.Is(err, runner.ErrUnknownJob) {
		t.Errorf("Cancel after the end = %v, want ErrUnknownJob", err)
	}
}

func TestStartFindsBeforeSubmitting(t *testing.T) {
	spec := runner.Spec{JobID: "s", Attempt: 2, Argv: []string{"/bin/true"}}
	name, _ := JobName("inst", "s", 2, 0)
	ctx := context.Background()

	t.Run("found", func(t *testing.T) {
		b := newScripted()
		b.names[name] = "77"
		r := newTestRunner(t, b, Options{Instance: "inst"})
		h, err := r.Start(ctx, spec)
		if err != nil || h.ExternalID != "77" || b.submits != 0 {
			t.Errorf("Start = %+v, %v with %d submissions; want the job found, none submitted", h, err, b.submits)
		}
	})
	t.Run("lookup fails", func(t *testing.T) {
		b := newScripted()
		b.findErr = errors.New("squeue: timed out")
		r := newTestRunner(t, b, Options{Instance: "inst"})
		_, err := r.Start(ctx, spec)
		if err == nil || b.submits != 0 {
			t.Errorf("Start = %v with %d submissions; want an error and no submission", err, b.submits)
		}
		if !errors.Is(err, runner.ErrUnavailable) {
			t.Errorf("Start = %v, want ErrUnavailable: the job may be started again later", err)
		}
	})
	t.Run("lookup command missing", func(t *testing.T) {
		b := newScripted()
		b.findErr = &CommandError{Command: "squeue", Err: ErrCommandNotFound}
		r := newTestRunner(t, b, Options{Instance: "inst"})
		_, err := r.Start(ctx, spec)
		if err == nil || errors.Is(err, runner.ErrUnavailable) || b.submits != 0 {
			t.Errorf("Start = %v with %d submissions; want a lasting error, no submission", err, b.submits)
		}
	})
	t.Run("submit and lookup both fail", func(t *testing.T) {
		b := newScripted()
		down := "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)"
		b.submit = func(string) (string, error) {
			b.findErr = errors.New("squeue: slurm_load_jobs error: Unable to contact slurm controller (connect failure)")
			return "", &CommandError{Command: "sbatch", ExitCode: 1, Stderr: down, Err: ErrExit}
		}
		r := newTestRunner(t, b, Options{Instance: "inst"})
		_, err := r.Start(ctx, spec)
		if !errors.Is(err, runner.ErrUnavailable) || !strings.Contains(err.Error(), "Unable to contact slurm controller") {
			t.Errorf("Start = %v, want ErrUnavailable with sbatch's error", err)
		}
	})
	t.Run("submit errs but the job exists", func(t *testing.T) {
		b := newScripted()
		b.submit = func(name string) (string, error) {
			b.names[name] = "88" // accepted, but the reply was lost
			return "", &CommandError{Command: "sbatch", Err: fmt.Errorf("%w after 30s (killed)", ErrTimeout)}
		}
		r := newTestRunner(t, b, Options{Instance: "inst"})
		if h, err := r.Start(ctx, spec); err != nil || h.ExternalID != "88" {
			t.Errorf("Start = %+v, %v; want the accepted job 88", h, err)
		}
	})
	t.Run("submit errs and no job", func(t *testing.T) {
		b := newScripted()
		b.submit = func(string) (string, error) {
			return "", &CommandError{Command: "sbatch", ExitCode: 1, Stderr: "sbatch: error: invalid partition specified: nope", Err: ErrExit}
		}
		r := newTestRunner(t, b, Options{Instance: "inst"})
		_, err := r.Start(ctx, spec)
		if err == nil || !strings.Contains(err.Error(), "invalid partition specified") || errors.Is(err, runner.ErrUnavailable) {
			t.Errorf("Start = %v, want sbatch's error, which retrying would not cure", err)
		}
		if st := r.Stats(); st.Tracked != 0 {
			t.Errorf("a failed Start left %d jobs tracked", st.Tracked)
		}
	})
}

// TestOneListingPerCycle tracks 10,000 jobs: every cycle costs one List
// call, and the jobs that end in a cycle cost one Final call together.
func TestOneListingPerCycle(t *testing.T) {
	const n = 10000
	b := newScripted()
	for i := range n {
		b.listing[fmt.Sprint(i)] = Status{State: runner.StateScheduled}
	}
	r := newTestRunner(t, b, Options{PollMin: 20 * time.Millisecond, PollMax: 20 * time.Millisecond})
	for i := range n {
		if err := r.Adopt(context.Background(), ref(fmt.Sprint("j", i), fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	b.waitLists(t, 3)
	b.set(func(s *scripted) {
		for i := range 100 {
			id := fmt.Sprint(i)
			s.listing[id] = Status{State: runner.StateCompleted}
			s.acct[id] = End{State: runner.StateCompleted, ExitCode: ip(0)}
		}
	})
	for range 100 {
		if u := next(t, r); u.State != runner.StateCompleted {
			t.Fatalf("%+v", u)
		}
	}
	st := r.Stats()
	b.mu.Lock()
	defer b.mu.Unlock()
	if st.Polls != b.lists {
		t.Errorf("Stats.Polls = %d, backend saw %d listings", st.Polls, b.lists)
	}
	if len(b.finals) != 1 || len(b.finals[0]) != 100 {
		t.Errorf("accounting calls: %d (first for %d jobs); want one for the 100 that ended together", len(b.finals), len(b.finals[0]))
	}
	if st.Tracked != n-100 {
		t.Errorf("tracked %d, want %d", st.Tracked, n-100)
	}
}

func TestAdaptiveInterval(t *testing.T) {
	b := newScripted()
	r := newTestRunner(t, b, Options{PollMin: 2 * time.Millisecond, PollMax: 16 * time.Millisecond})
	b.set(func(s *scripted) { s.listing["1"] = Status{State: runner.StateScheduled} })
	if err := r.Adopt(context.Background(), ref("i", "1")); err != nil {
		t.Fatal(err)
	}
	b.waitLists(t, 6) // nothing changes: 2, 4, 8, 16, 16 ms
	if got := r.Stats().Interval; got != 16*time.Millisecond {
		t.Errorf("idle interval = %v, want PollMax", got)
	}
	b.set(func(s *scripted) { s.listing["1"] = Status{State: runner.StateRunning} })
	next(t, r)
	b.drain()
	b.waitLists(t, 1)
	if got := r.Stats().Interval; got > 4*time.Millisecond {
		t.Errorf("interval right after a change = %v, want back near PollMin", got)
	}
}

func TestCloseStopsAndRefuses(t *testing.T) {
	b := newScripted()
	r := New(b, Options{PollMin: time.Millisecond})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-r.Updates(); ok {
		t.Error("Updates open after Close")
	}
	if _, err := r.Start(context.Background(), runner.Spec{JobID: "late", Attempt: 1}); !errors.Is(err, errClosed) {
		t.Errorf("Start after Close = %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestPrepareNamesTheJobAndMakesItsLogFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jobs", "p", "2")
	spec := runner.Spec{JobID: "p", Attempt: 2, Env: []string{"A=1"}, Stdout: filepath.Join(dir, "stdout.log"), Stderr: filepath.Join(dir, "stderr.log")}
	got, err := prepare(spec)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A=1", runner.EnvJobID + "=p", runner.EnvAttempt + "=2"}, got.Env); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("log folder: %v", err)
	}
	if len(spec.Env) != 1 {
		t.Errorf("prepare changed the caller's environment slice: %v", spec.Env)
	}
}
