package cluster

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Available says what the last listing said, and nothing when there was
// no listing to go by.
func TestAvailableFollowsTheListing(t *testing.T) {
	b := newScripted()
	r := newTestRunner(t, b, Options{})
	if _, known := r.Available(time.Minute); known {
		t.Fatal("known before any listing")
	}
	b.set(func(s *scripted) { s.listErr = errors.New("slurm_load_jobs error: Unable to contact slurm controller") })
	if err := r.Adopt(context.Background(), ref("e", "5")); err != nil {
		t.Fatal(err)
	}
	b.waitLists(t, 2)
	if ok, known := r.Available(time.Minute); ok || !known {
		t.Errorf("after failed listings: Available = %v, %v; want false, true", ok, known)
	}
	b.set(func(s *scripted) { s.listErr = nil })
	b.drain()
	b.waitLists(t, 2)
	if ok, known := r.Available(time.Minute); !ok || !known {
		t.Errorf("after clean listings: Available = %v, %v; want true, true", ok, known)
	}
	if _, known := r.Available(0); known {
		t.Error("a listing older than the window counts")
	}
}
