package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// progressUntil collects the job_progress events of a job until one in
// the final phase want, and says whether job_completed came before it.
func progressUntil(t *testing.T, sub *engine.Subscription, id string, want solverlog.State) (events []solverlog.Progress, endedFirst bool) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	ended := false
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				t.Fatal("subscription dropped")
			}
			if jobOf(ev) != id {
				continue
			}
			switch ev.Name {
			case engine.EventJobCompleted:
				ended = true
			case engine.EventJobProgress:
				p := ev.Data.(engine.JobProgressData).Progress
				events = append(events, p)
				if p.Phase == want {
					return events, ended
				}
			}
		case <-timeout:
			t.Fatalf("job %s: no %s progress (ended: %v, progress so far: %+v)", id, want, ended, events)
		}
	}
}

var phaseOrder = map[solverlog.State]int{
	solverlog.StateStarting: 0, solverlog.StateMeshing: 1, solverlog.StateAdaptive: 2,
	solverlog.StateConverged: 3, solverlog.StateSweeping: 4, solverlog.StateCompleted: 5,
}

// While a job runs, its log is read as it grows: job_progress events
// follow its phases and passes in order, the job record carries the
// latest, and a last event after its end gives the final state.
func TestProgressFollowsTheLog(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 4096)
	defer sub.Close()
	b.submit(t, "hfss", 0, fakesolver.EnvScript+"="+fakesolver.HFSSLog(), fakesolver.EnvLineSleep+"=0.03")
	running, _ := progressUntil(t, sub, "hfss", solverlog.StateCompleted)
	final := running[len(running)-1]

	if len(running) < 3 {
		t.Fatalf("%d job_progress events while the job ran, want several: %+v", len(running), running)
	}
	for i := 1; i < len(running); i++ {
		prev, cur := running[i-1], running[i]
		if phaseOrder[cur.Phase] < phaseOrder[prev.Phase] || cur.Pass < prev.Pass || cur.SweepSolved < prev.SweepSolved {
			t.Errorf("progress went back: %+v after %+v", cur, prev)
		}
		if cmp.Equal(prev, cur) {
			t.Errorf("the same progress announced twice: %+v", cur)
		}
	}
	delta := 0.01187
	want := solverlog.Progress{Solver: "HFSS", Phase: solverlog.StateCompleted, Pass: 5, MaxMagDeltaS: &delta, SolvedElements: 69871,
		Converged: true, SweepSolved: 6, SweepPoints: 6, SweepKind: "discrete", SweepDone: true, Warnings: 3}
	if diff := cmp.Diff(want, final); diff != "" {
		t.Errorf("final progress (-want +got):\n%s", diff)
	}
	j, err := b.m.Job(context.Background(), "hfss")
	if err != nil {
		t.Fatal(err)
	}
	var stored solverlog.Progress
	if err := json.Unmarshal(j.Progress, &stored); err != nil {
		t.Fatalf("stored progress %s: %v", j.Progress, err)
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored progress (-want +got):\n%s", diff)
	}
}

// A job's last progress is settled with how the job ended when its log
// does not say, also for a job that ended before its log was first read.
func TestProgressOfJobsThatEnded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    []string
		every  time.Duration // how often logs are read
		cancel bool          // once the job's progress shows it runs
		want   solverlog.State
	}{
		{"completed before its log was read", nil, time.Hour, false, solverlog.StateCompleted},
		{"failed before its log was read", []string{fakesolver.EnvExit + "=3"}, time.Hour, false, solverlog.StateFailed},
		{"cancelled while running", []string{fakesolver.EnvSleep + "=60"}, 0, true, solverlog.StateCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{progressEvery: tc.every})
			sub := b.m.Events().Subscribe(-1, 4096)
			defer sub.Close()
			b.submit(t, "j", 0, tc.env...)
			if tc.cancel {
				progressUntil(t, sub, "j", solverlog.StateAdaptive)
				if _, err := b.m.Cancel(context.Background(), "j", "alice"); err != nil {
					t.Fatal(err)
				}
			}
			events, endedFirst := progressUntil(t, sub, "j", tc.want)
			if !endedFirst {
				t.Errorf("the %s progress came before the job's end", tc.want)
			}
			if !tc.cancel && len(events) != 1 {
				t.Errorf("progress events %+v, want only the final one", events)
			}
			if p := events[len(events)-1]; p.Pass != 2 || p.SolvedElements != 15600 {
				t.Errorf("final progress %+v, want pass 2 of the fake solver's log", p)
			}
		})
	}
}

// Output that is not a solver's gives no progress, and LogSummary says so.
func TestNoProgressForOtherOutput(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 4096)
	defer sub.Close()
	cfg, _ := json.Marshal(engine.CommandConfig{Command: []string{b.envExe, "echo", "hello"}, JobID: "echo"})
	if _, err := b.m.Submit(context.Background(), engine.SubmitRequest{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	b.wait(t, "echo")
	// The follower handles events in order: once the next job's final
	// progress is out, the echo job's end was handled too.
	b.submit(t, "after", 0)
	b.wait(t, "after")
	for {
		ev := <-sub.C
		if jobOf(ev) == "echo" && ev.Name == engine.EventJobProgress {
			t.Fatalf("progress for plain output: %+v", ev.Data)
		}
		if jobOf(ev) == "after" && ev.Name == engine.EventJobProgress && ev.Data.(engine.JobProgressData).Progress.Phase == solverlog.StateCompleted {
			break
		}
	}
	j, err := b.m.Job(context.Background(), "echo")
	if err != nil || j.Progress != nil {
		t.Errorf("echo progress %s (%v), want none", j.Progress, err)
	}
	if _, ok, err := b.m.LogSummary(context.Background(), "echo", 0); ok || err != nil {
		t.Errorf("LogSummary(echo) = %v, %v; want not ok", ok, err)
	}
}

func TestLogSummary(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := context.Background()
	b.submit(t, "s", 0, fakesolver.EnvScript+"="+fakesolver.HFSSLog())
	b.wait(t, "s")
	b.submit(t, "s", 0, fakesolver.EnvExit+"=2") // attempt 2: the short log, failed
	b.wait(t, "s")
	b.tel.Set(busyHost())
	b.m.TelemetryUpdated()
	b.submit(t, "queued", 0)

	for _, tc := range []struct {
		name     string
		id       string
		attempt  int
		ok       bool
		state    solverlog.State
		passes   int
		errCheck func(error) bool
	}{
		{"latest attempt, failed", "s", 0, true, solverlog.StateFailed, 2, nil},
		{"attempt 1, the whole HFSS log", "s", 1, true, solverlog.StateCompleted, 5, nil},
		{"attempt 2 by number", "s", 2, true, solverlog.StateFailed, 2, nil},
		{"no such attempt", "s", 3, false, "", 0, func(err error) bool { var ve *engine.ValidationError; return errors.As(err, &ve) }},
		{"no log yet", "queued", 0, false, "", 0, nil},
		{"unknown job", "nope", 0, false, "", 0, func(err error) bool { return errors.Is(err, engine.ErrNotFound) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok, err := b.m.LogSummary(ctx, tc.id, tc.attempt)
			if tc.errCheck != nil {
				if !tc.errCheck(err) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err != nil || ok != tc.ok {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, tc.ok)
			}
			if !ok {
				return
			}
			if s.State != tc.state || s.Adaptive == nil || len(s.Adaptive.Passes) != tc.passes {
				t.Errorf("state %s, adaptive %+v; want %s with %d passes", s.State, s.Adaptive, tc.state, tc.passes)
			}
		})
	}
}

func busyHost() host.Sample {
	h := host.IdleSample()
	h.CPUPercent = 99
	return h
}

// A running job's summary is the follower's reading of its log, shared by
// every reader, not a new parse of the file per request: it answers even
// when the file can no longer be opened by name.
func TestLogSummaryOfARunningJobIsTheFollowersReading(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	sub := b.m.Events().Subscribe(-1, 4096)
	defer sub.Close()
	b.submit(t, "long", 0, fakesolver.EnvScript+"="+fakesolver.HFSSLog(), fakesolver.EnvSleep+"=60")
	progressUntil(t, sub, "long", solverlog.StateCompleted) // the log says so; the process sleeps on
	path, err := b.m.LogPath("long", 1, "stdout")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	s, ok, err := b.m.LogSummary(context.Background(), "long", 0)
	if err != nil || !ok || s.Project != "filter_bank" || s.Adaptive == nil || len(s.Adaptive.Passes) != 5 {
		t.Errorf("LogSummary of the running job = ok %v, %v, %+v; want the follower's reading", ok, err, s.Adaptive)
	}
	if _, err := b.m.Cancel(context.Background(), "long", "test"); err != nil {
		t.Fatal(err)
	}
	b.wait(t, "long")
	// Once it ended, the summary is read from the log again: gone here.
	if _, ok, err := b.m.LogSummary(context.Background(), "long", 0); ok || err != nil {
		t.Errorf("LogSummary after the end with the log moved = %v, %v; want not ok", ok, err)
	}
}
