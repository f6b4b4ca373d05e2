//go:build linux

package local

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

const benchWorkers = 4

// parallel runs op b.N times over benchWorkers goroutines.
func parallel(b *testing.B, op func(i int) error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchWorkers)
	b.ResetTimer()
	for range benchWorkers {
		wg.Go(func() {
			for i := n.Add(1); i <= int64(b.N); i = n.Add(1) {
				if err := op(int(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkStartWait runs no-op fake-solver jobs through the runner, each
// with its own log files, and waits for each one's terminal Update.
func BenchmarkStartWait(b *testing.B) {
	r := New(Options{})
	defer r.Close()
	dir := b.TempDir()

	var mu sync.Mutex
	waiting := map[string]chan runner.Update{}
	go func() {
		for u := range r.Updates() {
			mu.Lock()
			ch := waiting[u.JobID]
			delete(waiting, u.JobID)
			mu.Unlock()
			ch <- u
		}
	}()

	parallel(b, func(i int) error {
		id := fmt.Sprint("bench", i)
		ch := make(chan runner.Update, 1)
		mu.Lock()
		waiting[id] = ch
		mu.Unlock()
		spec := runner.Spec{
			JobID: id, Attempt: 1, Argv: []string{fakesolver.Path()}, Dir: dir,
			Stdout: filepath.Join(dir, id, "stdout.log"),
			Stderr: filepath.Join(dir, id, "stderr.log"),
		}
		if _, err := r.Start(b.Context(), spec); err != nil {
			return err
		}
		if u := <-ch; u.State != runner.StateCompleted {
			return fmt.Errorf("job %s: %+v", id, u)
		}
		return nil
	})
}

// BenchmarkBareExec is the floor for BenchmarkStartWait: the same fake
// solver, fork/exec'd and waited for, output discarded.
func BenchmarkBareExec(b *testing.B) {
	path := fakesolver.Path()
	parallel(b, func(int) error {
		return exec.Command(path).Run()
	})
}
