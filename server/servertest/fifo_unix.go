//go:build unix

package servertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// FIFOJob submits a command job whose standard output is what the test
// writes to the returned pipe, line by line as it is written, and waits for
// it to run; closing the pipe ends the job (with FAKE_SOLVER_EXIT in
// fakeEnv, if given). Tests of log followers use it to make a log grow on
// demand. It skips the test where named pipes cannot be made.
func (s *Server) FIFOJob(t testing.TB, id string, fakeEnv ...string) *os.File {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "lines")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes:", err)
	}
	// Read-write: opening does not wait for the job to open its end.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	env := append([]string{fakesolver.EnvScript + "=" + fifo, "FAKE_SOLVER_RESULTS=0"}, fakeEnv...)
	config, err := json.Marshal(s.Command(id, env...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Manager.Submit(t.Context(), engine.SubmitRequest{Config: config}); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, id+" running", func() bool {
		j, err := s.Manager.Job(t.Context(), id)
		return err == nil && j.Status == engine.StatusRunning
	})
	return w
}
