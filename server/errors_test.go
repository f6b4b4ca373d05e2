package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/server/servertest"
)

// failingScheduler is a cluster runner whose partitions query fails the
// way sinfo does when it cannot reach its controller.
type failingScheduler struct {
	updates chan runner.Update
	err     error
}

func (f *failingScheduler) Name() string { return "slurm" }
func (f *failingScheduler) Start(context.Context, runner.Spec) (runner.Handle, error) {
	return runner.Handle{}, runner.ErrUnavailable
}
func (f *failingScheduler) Cancel(context.Context, runner.Ref) error { return nil }
func (f *failingScheduler) Adopt(context.Context, runner.Ref) error  { return nil }
func (f *failingScheduler) Updates() <-chan runner.Update            { return f.updates }
func (f *failingScheduler) Close() error                             { close(f.updates); return nil }
func (f *failingScheduler) Partitions(context.Context) ([]runner.Partition, error) {
	return nil, f.err
}

// syncBuffer is a log the server writes from its handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type errStack struct {
	st  *store.SQLite
	url string
	log *syncBuffer
}

// errorSetup is a stack with sched as its scheduler and the server's log
// kept for the test to read.
func errorSetup(t *testing.T, sched runner.Runner) *errStack {
	t.Helper()
	log := &syncBuffer{}
	s := servertest.Start(t, servertest.Options{Cluster: sched, ServerLog: log})
	return &errStack{st: s.Store, url: s.URL, log: log}
}

func (e *errStack) get(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	// Over the listener Start serves on: fiber's App.Test beside a running
	// Serve leaves Serve unable to shut down.
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The partitions endpoints say which scheduler command failed and how,
// never what it printed: its stderr goes to the server's log.
func TestSchedulerStderrIsLoggedNotShown(t *testing.T) {
	t.Parallel()
	const secret = "sinfo: error: slurmctld.corp.example:6817: Connection refused (user alice)"
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"command", &cluster.CommandError{Command: "sinfo -h -o", ExitCode: 1, Stderr: secret, Err: cluster.ErrExit},
			"scheduler: sinfo -h -o: exit status 1 (the server log has the details)"},
		{"wrapped", &wrapped{&cluster.CommandError{Command: "sinfo -h -o", ExitCode: -1, Stderr: secret, Err: cluster.ErrTimeout}},
			"scheduler: sinfo -h -o: timed out (the server log has the details)"},
		{"other", &wrapped{io.ErrUnexpectedEOF}, "scheduler: the query failed (the server log has the details)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := errorSetup(t, &failingScheduler{updates: make(chan runner.Update), err: tc.err})
			for _, path := range []string{"/scheduler/partitions", "/api/cluster_partitions"} {
				status, body := e.get(t, "GET", path, "")
				var reply struct {
					Success bool   `json:"success"`
					Error   string `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &reply); err != nil {
					t.Fatalf("%s: %d %q: %v", path, status, body, err)
				}
				if status != 502 || reply.Success || reply.Error != tc.want {
					t.Errorf("%s: %d %q, want 502 %q", path, status, reply.Error, tc.want)
				}
				if strings.Contains(body, "corp.example") || strings.Contains(body, "alice") {
					t.Errorf("%s shows the scheduler's stderr: %s", path, body)
				}
			}
			if tc.name != "other" && !strings.Contains(e.log.String(), "corp.example") {
				t.Errorf("the server log does not have the stderr:\n%s", e.log)
			}
		})
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "slurm: partitions: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// A store closed under a running manager (the server is stopping) answers
// 503, as a closed manager does, not 500.
func TestClosedStoreIsUnavailable(t *testing.T) {
	t.Parallel()
	e := errorSetup(t, &failingScheduler{updates: make(chan runner.Update), err: io.EOF})
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/jobs", ""},
		{"GET", "/jobs/nope", ""},
		{"GET", "/api/audit", ""},
	} {
		status, body := e.get(t, r.method, r.path, r.body)
		if status != 503 || !strings.Contains(body, "shutting down") {
			t.Errorf("%s %s on a closed store: %d %s, want 503 saying the server is shutting down", r.method, r.path, status, body)
		}
	}
	if strings.Contains(e.log.String(), "request failed") {
		t.Errorf("a closed store was logged as an internal error:\n%s", e.log)
	}
}
