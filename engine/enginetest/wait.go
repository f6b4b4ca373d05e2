// Package enginetest is the kit engine, server and frontend tests share:
// WaitFor in place of hand-rolled polling loops, with one timeout that
// knows CI and the race detector are slower, and FakeRunner, a
// runner.Runner a test scripts (a failing or blocking start, updates on
// demand) to hit the engine's races when it chooses. It imports no engine
// package but runner, so the engine's own tests can use it.
package enginetest

import (
	"os"
	"testing"
	"time"
)

// Timeout bounds every wait of the kit: 60 s, twice that under CI=true or
// the race detector, which make the same work several times slower. A wait
// ends as soon as its condition holds, so a long bound costs a failing
// test only.
func Timeout() time.Duration {
	d := 60 * time.Second
	if os.Getenv("CI") == "true" || raceEnabled {
		d *= 2
	}
	return d
}

// WaitFor polls cond until it holds, failing the test with what when
// Timeout passes first. It is for state that nothing announces (a file
// another process writes, a count behind a lock); where an event says so,
// wait for the event. cond runs on the test's goroutine.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := Poll(Timeout(), func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("timed out after %v waiting for %s", Timeout(), what)
	}
}

// WaitForNil polls cond until it returns nil, failing the test with the
// last error when Timeout passes first: the error says what was seen
// instead.
func WaitForNil(t testing.TB, cond func() error) {
	t.Helper()
	if err := Poll(Timeout(), cond); err != nil {
		t.Fatalf("timed out after %v: %v", Timeout(), err)
	}
}

type notYet struct{}

func (notYet) Error() string { return "not yet" }

var errNotYet error = notYet{}

// Poll calls cond until it returns nil or within passes, and returns
// cond's last error, failing nothing: it is the wait for a goroutine that
// is not the test's (where t.Fatal may not be called) and for a real
// scheduler, whose queue and accounting have a bound of their own. It
// sleeps 1 ms after the first try and doubles up to 50 ms: quick for what
// is nearly there, cheap for what takes seconds (a scheduler's poll, a
// process).
func Poll(within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	pause := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// WaitOn checks cond now and again each time wake delivers (an event
// subscription's channel, taken before the call so nothing is missed),
// until cond returns nil; it fails the test with cond's last error when
// Timeout passes first. It is WaitFor for state an event announces. It
// also looks every 50 ms, for the part of the state that announces
// nothing (a gate's hold) and for a subscription the bus closed because
// the test read it too slowly.
func WaitOn[T any](t testing.TB, wake <-chan T, cond func() error) {
	t.Helper()
	timeout := time.NewTimer(Timeout())
	defer timeout.Stop()
	look := time.NewTicker(50 * time.Millisecond)
	defer look.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case _, ok := <-wake:
			if !ok {
				wake = nil // closed: the ticker alone wakes us now
			}
		case <-look.C:
		case <-timeout.C:
			t.Fatalf("timed out after %v: %v", Timeout(), err)
		}
	}
}
