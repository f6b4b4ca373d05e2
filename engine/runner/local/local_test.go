//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/simjobs/simjobs/engine/enginetest"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/runnertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

const testGrace = 300 * time.Millisecond

func newRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	if opts.KillGrace == 0 {
		opts.KillGrace = testGrace
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	r := New(opts)
	t.Cleanup(func() { r.Close() })
	return r
}

// fakeSpec runs the fake solver in a fresh directory, with env added.
func fakeSpec(t *testing.T, id string, env ...string) runner.Spec {
	dir := t.TempDir()
	return runner.Spec{
		JobID:   id,
		Attempt: 1,
		Argv:    []string{fakesolver.Path()},
		Dir:     dir,
		Env:     env,
		Stdout:  filepath.Join(dir, "logs", "stdout.log"),
		Stderr:  filepath.Join(dir, "logs", "stderr.log"),
	}
}

// next returns the next Update, failing the test after a timeout.
func next(t *testing.T, r *Runner) runner.Update {
	t.Helper()
	select {
	case u, ok := <-r.Updates():
		if !ok {
			t.Fatal("Updates closed")
		}
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("no update within 30s")
	}
	panic("unreachable")
}

func intp(i int) *int { return &i }

// ignoreTime drops Update.Time from comparisons.
var ignoreTime = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Time" }, cmp.Ignore())

func TestConformance(t *testing.T) {
	runnertest.RunConformance(t,
		func(t *testing.T) runner.Runner {
			return New(Options{KillGrace: testGrace, PollInterval: 20 * time.Millisecond})
		},
		func(t *testing.T, job runnertest.Job) runner.Spec {
			spec := fakeSpec(t, job.JobID,
				fmt.Sprintf("%s=%d", fakesolver.EnvExit, job.ExitCode),
				fmt.Sprintf("%s=%g", fakesolver.EnvSleep, job.Duration.Seconds()),
			)
			spec.Attempt = job.Attempt
			return spec
		})
}

func TestExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want runner.Update
	}{
		{"zero", nil, runner.Update{JobID: "zero", Attempt: 1, State: runner.StateCompleted, ExitCode: intp(0)}},
		{"three", []string{"FAKE_SOLVER_EXIT=3"},
			runner.Update{JobID: "three", Attempt: 1, State: runner.StateFailed, ExitCode: intp(3), Message: "exit code 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, Options{})
			h, err := r.Start(t.Context(), fakeSpec(t, tt.name, tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			if h.PID <= 0 || h.PIDStart == 0 {
				t.Errorf("handle = %+v, want a pid and its start time", h)
			}
			if diff := cmp.Diff(tt.want, next(t, r), ignoreTime); diff != "" {
				t.Errorf("update (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKilledBySignal(t *testing.T) {
	t.Parallel()
	r := newRunner(t, Options{})
	h, err := r.Start(t.Context(), fakeSpec(t, "sig", "FAKE_SOLVER_SLEEP=60"))
	if err != nil {
		t.Fatal(err)
	}
	// Someone else kills it: not a cancel, so a failure with no exit code.
	if err := syscall.Kill(-h.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	want := runner.Update{JobID: "sig", Attempt: 1, State: runner.StateFailed, Message: "killed by signal SIGKILL"}
	if diff := cmp.Diff(want, next(t, r), ignoreTime); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
}

func TestStartError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		argv    []string
		stdout  string
		wantErr string // a substring
	}{
		{"missing", []string{filepath.Join(dir, "no-such-solver")}, "", "no-such-solver"},
		{"not on PATH", []string{"no-such-solver-on-path"}, "", "no-such-solver-on-path"},
		{"not executable", []string{notExec}, "", "not-executable"},
		{"empty", nil, "", "empty command"},
		{"log dir blocked", []string{fakesolver.Path()}, filepath.Join(blocker, "x", "stdout.log"), "log directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := New(Options{})
			_, err := r.Start(t.Context(), runner.Spec{JobID: "bad", Attempt: 1, Argv: tt.argv, Dir: dir, Stdout: tt.stdout})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Start error = %v, want one containing %q", err, tt.wantErr)
			}
			r.Close()
			for u := range r.Updates() {
				t.Errorf("unexpected update %+v", u)
			}
		})
	}
}

func TestLogFiles(t *testing.T) {
	t.Parallel()
	r := newRunner(t, Options{})
	spec := fakeSpec(t, "logs")
	if err := os.MkdirAll(filepath.Dir(spec.Stdout), 0o755); err != nil {
		t.Fatal(err)
	}
	// A retry appends to what an earlier attempt wrote.
	if err := os.WriteFile(spec.Stdout, []byte("earlier attempt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if u := next(t, r); u.State != runner.StateCompleted {
		t.Fatalf("update = %+v", u)
	}
	for _, c := range []struct{ path, want string }{
		{spec.Stdout, "earlier attempt\n"},
		{spec.Stdout, "[CONVERGE] Pass Number: 1"},
		{spec.Stderr, "[warning] fake solver"},
	} {
		b, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s = %q, want it to contain %q", filepath.Base(c.path), b, c.want)
		}
	}
	if strings.Contains(mustRead(t, spec.Stdout), "[warning]") {
		t.Error("stderr went to the stdout file")
	}
	fi, err := os.Stat(spec.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("stderr file mode %v, want 0644", fi.Mode().Perm())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestArgvIsLiteral(t *testing.T) {
	t.Parallel()
	r := newRunner(t, Options{})
	spec := fakeSpec(t, "args")
	args := []string{
		"-batchoptions", `"HFSS/HPCLicenseType"='Pool' 'HFSS/MPIVendor'='Intel'`,
		"has space", "$(touch pwned)", "`touch pwned`", "a;touch pwned", "*", "$HOME", "", "x|y&z>out",
	}
	spec.Argv = append(spec.Argv, args...)
	// A relative record path lands in the working directory.
	spec.Env = []string{"FAKE_SOLVER_RECORD=record"}
	if _, err := r.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if u := next(t, r); u.State != runner.StateCompleted {
		t.Fatalf("update = %+v", u)
	}
	runs, err := fakesolver.ReadRecord(filepath.Join(spec.Dir, "record"))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("%d runs recorded, want 1", len(runs))
	}
	if diff := cmp.Diff(args, runs[0].Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	for _, name := range []string{"pwned", "out"} {
		if _, err := os.Stat(filepath.Join(spec.Dir, name)); err == nil {
			t.Errorf("%s exists: an argument was interpreted by a shell", name)
		}
	}
}

// startWithChild starts a fake solver that leaves a child in its group and
// waits until the child is recorded.
func startWithChild(t *testing.T, r *Runner, id string, env ...string) (runner.Ref, fakesolver.Run) {
	t.Helper()
	spec := fakeSpec(t, id, append(env, "FAKE_SOLVER_SLEEP=60", "FAKE_SOLVER_CHILD=1", "FAKE_SOLVER_RECORD=record")...)
	h, err := r.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	var run fakesolver.Run
	enginetest.WaitFor(t, "the child to be recorded", func() bool {
		runs, err := fakesolver.ReadRecord(filepath.Join(spec.Dir, "record"))
		if err != nil || len(runs) == 0 || runs[0].Child == 0 {
			return false
		}
		run = runs[0]
		return true
	})
	if run.PID != h.PID {
		t.Fatalf("recorded pid %d, handle pid %d", run.PID, h.PID)
	}
	return runner.Ref{JobID: id, Attempt: 1, Handle: h}, run
}

func checkGroupGone(t *testing.T, run fakesolver.Run) {
	t.Helper()
	for _, pid := range []int{run.PID, run.Child} {
		if processAlive(pid, 0) {
			t.Errorf("process %d still alive", pid)
		}
	}
	if groupAlive(run.PID) {
		t.Errorf("process group %d still has live members", run.PID)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       []string
		want      runner.Update
		notBefore time.Duration
	}{
		{
			name: "TERM ends it",
			want: runner.Update{JobID: "TERM ends it", Attempt: 1, State: runner.StateCancelled, Message: "cancelled"},
		},
		{
			name:      "TERM ignored",
			env:       []string{"FAKE_SOLVER_TRAP_TERM=1"},
			want:      runner.Update{JobID: "TERM ignored", Attempt: 1, State: runner.StateCancelled, Message: "cancelled (killed after the 300ms grace period)"},
			notBefore: testGrace,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, Options{})
			ref, run := startWithChild(t, r, tt.name, tt.env...)
			began := time.Now()
			if err := r.Cancel(t.Context(), ref); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took > 250*time.Millisecond {
				t.Errorf("Cancel took %v: it must not wait for the end", took)
			}
			if err := r.Cancel(t.Context(), ref); err != nil {
				t.Errorf("second Cancel: %v", err)
			}
			if diff := cmp.Diff(tt.want, next(t, r), ignoreTime); diff != "" {
				t.Errorf("update (-want +got):\n%s", diff)
			}
			if took := time.Since(began); took < tt.notBefore {
				t.Errorf("ended after %v, before the grace period %v", took, tt.notBefore)
			}
			checkGroupGone(t, run)
			if err := r.Cancel(t.Context(), ref); !errors.Is(err, runner.ErrUnknownJob) {
				t.Errorf("Cancel after the end = %v, want ErrUnknownJob", err)
			}
		})
	}
}

func TestWallTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"TERM ends it", nil, "wall-time limit 200ms exceeded"},
		{"TERM ignored", []string{"FAKE_SOLVER_TRAP_TERM=1"}, "wall-time limit 200ms exceeded (killed after the 300ms grace period)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, Options{})
			spec := fakeSpec(t, tt.name, append(tt.env, "FAKE_SOLVER_SLEEP=60")...)
			spec.WallTime = 200 * time.Millisecond
			if _, err := r.Start(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			want := runner.Update{JobID: tt.name, Attempt: 1, State: runner.StateFailed, Message: tt.want}
			if diff := cmp.Diff(want, next(t, r), ignoreTime); diff != "" {
				t.Errorf("update (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWallTimeNotReachedAfterExit(t *testing.T) {
	t.Parallel()
	r := newRunner(t, Options{})
	spec := fakeSpec(t, "quick")
	spec.WallTime = time.Hour
	if _, err := r.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if u := next(t, r); u.State != runner.StateCompleted {
		t.Errorf("update = %+v, want completed", u)
	}
}

// startSleep starts a process group the way an earlier server would have.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func TestAdopt(t *testing.T) {
	t.Parallel()
	lost := runner.Update{JobID: "adopted", Attempt: 2, State: runner.StateFailed, Message: MsgProcessLost}
	tests := []struct {
		name   string
		handle func(t *testing.T, cmd *exec.Cmd) runner.Handle
		// end ends the process after Adopt, when it was adopted.
		end  func(t *testing.T, cmd *exec.Cmd)
		want runner.Update
	}{
		{
			name: "live, then killed",
			handle: func(t *testing.T, cmd *exec.Cmd) runner.Handle {
				return runner.Handle{PID: cmd.Process.Pid, PIDStart: startTime(cmd.Process.Pid)}
			},
			end: func(t *testing.T, cmd *exec.Cmd) {
				cmd.Process.Kill()
				cmd.Wait()
			},
			want: runner.Update{JobID: "adopted", Attempt: 2, State: runner.StateFailed, Message: MsgAdoptedExit},
		},
		{
			name: "dead",
			handle: func(t *testing.T, cmd *exec.Cmd) runner.Handle {
				h := runner.Handle{PID: cmd.Process.Pid, PIDStart: startTime(cmd.Process.Pid)}
				cmd.Process.Kill()
				cmd.Wait()
				return h
			},
			want: lost,
		},
		{
			name: "pid reused",
			handle: func(t *testing.T, cmd *exec.Cmd) runner.Handle {
				return runner.Handle{PID: cmd.Process.Pid, PIDStart: startTime(cmd.Process.Pid) + 1}
			},
			want: lost,
		},
		{
			name:   "no pid",
			handle: func(t *testing.T, cmd *exec.Cmd) runner.Handle { return runner.Handle{} },
			want:   lost,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := startSleep(t)
			r := newRunner(t, Options{})
			ref := runner.Ref{JobID: "adopted", Attempt: 2, Handle: tt.handle(t, cmd)}
			if err := r.Adopt(t.Context(), ref); err != nil {
				t.Fatal(err)
			}
			if err := r.Adopt(t.Context(), ref); err != nil {
				t.Errorf("second Adopt: %v", err)
			}
			if tt.end != nil {
				tt.end(t, cmd)
			}
			if diff := cmp.Diff(tt.want, next(t, r), ignoreTime); diff != "" {
				t.Errorf("update (-want +got):\n%s", diff)
			}
			if tt.want == lost && cmd.ProcessState == nil && !processAlive(cmd.Process.Pid, 0) {
				t.Error("a process that was not adopted was harmed")
			}
		})
	}
}

func TestCancelAdoptedIgnoringTERM(t *testing.T) {
	t.Parallel()
	first := newRunner(t, Options{})
	ref, run := startWithChild(t, first, "stubborn", "FAKE_SOLVER_TRAP_TERM=1")
	first.Close()

	second := newRunner(t, Options{})
	if err := second.Adopt(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if err := second.Cancel(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	want := runner.Update{JobID: "stubborn", Attempt: 1, State: runner.StateCancelled, Message: "cancelled (killed after the 300ms grace period)"}
	if diff := cmp.Diff(want, next(t, second), ignoreTime); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
	checkGroupGone(t, run)
}

func TestCloseLeavesJobsRunning(t *testing.T) {
	t.Parallel()
	r := New(Options{KillGrace: testGrace})
	var refs []runner.Ref
	for i := range 3 {
		spec := fakeSpec(t, fmt.Sprint("job", i), "FAKE_SOLVER_SLEEP=60")
		h, err := r.Start(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(-h.PID, syscall.SIGKILL) })
		refs = append(refs, runner.Ref{JobID: spec.JobID, Attempt: 1, Handle: h})
	}
	// Cancel one and close at once: the cancel runs to its end, the update
	// may or may not make it out, and nothing races.
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Cancel(context.Background(), refs[0])
	}()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	for u := range r.Updates() {
		if u.JobID != refs[0].JobID {
			t.Errorf("update for a job that was not cancelled: %+v", u)
		}
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, ref := range refs[1:] {
		if !processAlive(ref.Handle.PID, ref.Handle.PIDStart) {
			t.Errorf("%s was killed by Close", ref.JobID)
		}
	}
	if _, err := r.Start(t.Context(), fakeSpec(t, "late")); !errors.Is(err, errClosed) {
		t.Errorf("Start after Close = %v, want errClosed", err)
	}
	if err := r.Cancel(t.Context(), refs[1]); !errors.Is(err, errClosed) {
		t.Errorf("Cancel after Close = %v, want errClosed", err)
	}
}

func TestStartTwice(t *testing.T) {
	t.Parallel()
	r := newRunner(t, Options{})
	spec := fakeSpec(t, "twice", "FAKE_SOLVER_SLEEP=60")
	h, err := r.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(t.Context(), spec); err == nil {
		t.Error("second Start of a running attempt succeeded")
	}
	r.Cancel(t.Context(), runner.Ref{JobID: spec.JobID, Attempt: 1, Handle: h})
	next(t, r)
}

func TestClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	r := newRunner(t, Options{Clock: func() time.Time { return at }})
	if _, err := r.Start(t.Context(), fakeSpec(t, "clock")); err != nil {
		t.Fatal(err)
	}
	if u := next(t, r); !u.Time.Equal(at) {
		t.Errorf("Time = %v, want %v", u.Time, at)
	}
}

func TestReadStat(t *testing.T) {
	t.Parallel()
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.state == 'Z' || st.start == 0 || st.pgrp != syscall.Getpgrp() {
		t.Errorf("readStat(self) = %+v, pgrp want %d", st, syscall.Getpgrp())
	}
}

// With a reaper's exit records, an adopted job ends with its real status,
// whether it ended before the adoption or while watched.
func TestAdoptWithExitRecords(t *testing.T) {
	t.Parallel()
	code3 := 3
	tests := []struct {
		name   string
		rec    ExitRecord
		before bool // the process ended before Adopt
		want   runner.Update
	}{
		{"ended while watched", ExitRecord{Code: 3}, false, runner.Update{JobID: "reaped", Attempt: 1, State: runner.StateFailed, ExitCode: &code3, Message: "exit code 3"}},
		{"ended before adoption", ExitRecord{Code: 0}, true, runner.Update{JobID: "reaped", Attempt: 1, State: runner.StateCompleted, ExitCode: new(int)}},
		{"killed", ExitRecord{Signal: int(syscall.SIGKILL)}, false, runner.Update{JobID: "reaped", Attempt: 1, State: runner.StateFailed, Message: "killed by signal SIGKILL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := startSleep(t)
			h := runner.Handle{PID: cmd.Process.Pid, PIDStart: startTime(cmd.Process.Pid)}
			// The reaper writes the record before it reaps the process.
			if err := WriteExitRecord(dir, h.PID, h.PIDStart, tt.rec); err != nil {
				t.Fatal(err)
			}
			end := func() { cmd.Process.Kill(); cmd.Wait() }
			if tt.before {
				end()
			}
			r := newRunner(t, Options{ExitRecords: dir, PollInterval: 10 * time.Millisecond})
			if err := r.Adopt(t.Context(), runner.Ref{JobID: "reaped", Attempt: 1, Handle: h}); err != nil {
				t.Fatal(err)
			}
			if !tt.before {
				end()
			}
			if diff := cmp.Diff(tt.want, next(t, r), ignoreTime); diff != "" {
				t.Errorf("update (-want +got):\n%s", diff)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the record was not consumed: %v", entries)
			}
		})
	}
}

// A server that died before recording the pid leaves a Ref without one:
// the job's process is found by the job's name in its environment.
func TestAdoptFindsProcessWithoutPID(t *testing.T) {
	t.Parallel()
	first := New(Options{KillGrace: testGrace})
	spec := fakeSpec(t, "nameless", "FAKE_SOLVER_SLEEP=60")
	h, err := first.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-h.PID, syscall.SIGKILL) })
	first.Close()

	second := newRunner(t, Options{})
	ref := runner.Ref{JobID: "nameless", Attempt: spec.Attempt}
	if err := second.Adopt(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if err := second.Cancel(t.Context(), ref); err != nil {
		t.Fatalf("cancel the found process: %v", err)
	}
	u := next(t, second)
	if u.State != runner.StateCancelled {
		t.Fatalf("update %+v, want cancelled: the process was not found", u)
	}
	if processAlive(h.PID, 0) {
		t.Error("the found process still runs")
	}
}
