package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// heldGate holds the jobs named in held, and records what it is told.
type heldGate struct {
	mu       sync.Mutex
	held     map[string]string // job id -> reason
	admitted []string
	released []string
}

func (g *heldGate) Hold(j engine.GateJob) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held[j.ID]
}

func (g *heldGate) Admitted(j engine.GateJob) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.admitted = append(g.admitted, j.ID)
}

func (g *heldGate) Released(j engine.GateJob) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.released = append(g.released, j.ID)
}

func (g *heldGate) release(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.held, id)
}

func (g *heldGate) seen() (admitted, released []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.admitted...), append([]string(nil), g.released...)
}

func TestGateHoldsOneJobNotTheQueue(t *testing.T) {
	t.Parallel()
	g := &heldGate{held: map[string]string{"first": "waiting for the moon"}}
	b := setup(t, setupOpts{gates: []engine.Gate{g}})

	// first is ahead (higher priority) but held: second runs past it.
	b.submit(t, "first", 5)
	b.submit(t, "second", 0)
	if j := b.wait(t, "second"); j.Status != engine.StatusCompleted {
		t.Fatalf("second: %s %s", j.Status, j.Error)
	}
	j, err := b.m.Job(context.Background(), "first")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != engine.StatusQueued || j.WaitingReason != "waiting for the moon" {
		t.Fatalf("first = %s, waiting %q; want queued, waiting for the moon", j.Status, j.WaitingReason)
	}
	jobs, err := b.m.Jobs(context.Background(), engine.JobListParams{Statuses: []engine.Status{engine.StatusQueued}})
	if err != nil || len(jobs) != 1 || jobs[0].WaitingReason != "waiting for the moon" {
		t.Fatalf("Jobs = %+v, %v", jobs, err)
	}

	g.release("first")
	b.m.Recheck()
	if j := b.wait(t, "first"); j.Status != engine.StatusCompleted || j.WaitingReason != "" {
		t.Fatalf("first: %s %s waiting %q", j.Status, j.Error, j.WaitingReason)
	}
	admitted, released := g.seen()
	want := []string{"second", "first"}
	if d := cmp.Diff(want, admitted); d != "" {
		t.Errorf("admitted (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, released); d != "" {
		t.Errorf("released (-want +got):\n%s", d)
	}
}

func TestGateHeldJobCanBeCancelled(t *testing.T) {
	t.Parallel()
	g := &heldGate{held: map[string]string{"held": "never"}}
	b := setup(t, setupOpts{gates: []engine.Gate{g}})
	b.submit(t, "held", 0)
	res, err := b.m.Cancel(context.Background(), "held", "alice")
	if err != nil || !res.Cancelled {
		t.Fatalf("cancel = %+v, %v", res, err)
	}
	if j := b.wait(t, "held"); j.Status != engine.StatusCancelled || j.WaitingReason != "" {
		t.Fatalf("held: %s waiting %q", j.Status, j.WaitingReason)
	}
	if admitted, released := g.seen(); len(admitted)+len(released) != 0 {
		t.Fatalf("a job that never left the queue was admitted %v, released %v", admitted, released)
	}
}

func TestWaitingReasonNamesTheLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 80, MinMemoryGB: 2, MinDiskGB: 2}})
	b.submit(t, "long", 0, "FAKE_SOLVER_SLEEP=30")
	b.waitRecord(t, func(runs []fakesolver.Run) bool { return len(runs) == 1 })
	sub := b.m.Events().Subscribe(-1, 64)
	defer sub.Close()
	b.submit(t, "next", 0)
	waitFor(t, sub, engine.EventJobQueued, "next")
	// The dispatcher looks at the queue after the submission's event; the
	// reason is there once it has.
	enginetest.WaitForNil(t, func() error {
		j, err := b.m.Job(context.Background(), "next")
		if err != nil {
			return err
		}
		if j.WaitingReason != "1 of 1 job slots in use" {
			return fmt.Errorf("waiting_reason = %q", j.WaitingReason)
		}
		return nil
	})
	b.m.Cancel(context.Background(), "long", "")
	b.m.Cancel(context.Background(), "next", "")
}

func TestGateHoldsClusterJobBeforeSubmission(t *testing.T) {
	t.Parallel()
	c := newFakePBS(t)
	g := &heldGate{held: map[string]string{"gated": "licence short"}}
	b := clusterSetup(t, c, t.TempDir(), 50*time.Millisecond, nil, func(o *engine.Options) { o.Gates = []engine.Gate{g} })
	sub := b.m.Events().Subscribe(-1, 256)
	defer sub.Close()

	b.submit(t, "gated", 0)
	b.submit(t, "free", 0)
	waitScheduled(t, sub, "free")
	j, err := b.m.Job(context.Background(), "gated")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != engine.StatusPending || j.WaitingReason != "licence short" {
		t.Fatalf("gated = %s waiting %q; want pending, licence short", j.Status, j.WaitingReason)
	}
	if n := c.calls(t, "qsub"); n != 1 {
		t.Fatalf("qsub ran %d times; the held job must not reach the scheduler", n)
	}
	g.release("gated")
	b.m.Recheck()
	waitScheduled(t, sub, "gated")
	if j := b.wait(t, "gated"); j.Status != engine.StatusCompleted {
		t.Fatalf("gated: %s %s", j.Status, j.Error)
	}
	b.wait(t, "free")
	admitted, released := g.seen()
	if len(admitted) != 2 || len(released) != 2 {
		t.Fatalf("admitted %v released %v; want both jobs in each", admitted, released)
	}
}
