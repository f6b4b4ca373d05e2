package enginetest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	if err := Poll(10*time.Second, func() error {
		if n.Load() < 3 {
			return errNotYet
		}
		return nil
	}); err != nil {
		t.Fatalf("poll = %v, want nil", err)
	}
}

func TestPollReturnsTheLastErrorAtTheDeadline(t *testing.T) {
	t.Parallel()
	last := errors.New("still 2 of 3")
	start := time.Now()
	err := Poll(30*time.Millisecond, func() error { return last })
	if !errors.Is(err, last) {
		t.Errorf("poll = %v, want %v", err, last)
	}
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("poll gave up after %v, before its 30ms", took)
	}
}

func TestTimeoutIsLongerUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	local := Timeout()
	t.Setenv("CI", "true")
	if ci := Timeout(); ci <= local && !raceEnabled {
		t.Errorf("Timeout under CI = %v, want more than the local %v", ci, local)
	}
}

func TestWaitOnLooksAgainAtEachWake(t *testing.T) {
	t.Parallel()
	wake := make(chan struct{})
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
			wake <- struct{}{}
		}
		close(wake)
	}()
	WaitOn(t, wake, func() error {
		if n.Load() < 3 {
			return errNotYet
		}
		return nil
	})
}

func TestWaitOnSurvivesAClosedChannel(t *testing.T) {
	t.Parallel()
	wake := make(chan int)
	close(wake)
	start := time.Now()
	WaitOn(t, wake, func() error {
		if time.Since(start) < 120*time.Millisecond {
			return errNotYet
		}
		return nil
	})
}
