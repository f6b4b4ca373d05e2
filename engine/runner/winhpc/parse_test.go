package winhpc

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ip(n int) *int { return &n }

func TestParseSubmit(t *testing.T) {
	if id, err := parseSubmit([]byte("Job has been submitted. ID: 1234.\r\n")); err != nil || id != "1234" {
		t.Errorf("parseSubmit = %q, %v", id, err)
	}
	for _, bad := range []string{"", "The node group X was not found.\n", "Job has been submitted.\n"} {
		if _, err := parseSubmit([]byte(bad)); !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseSubmit(%q) = %v, want ErrOutput", bad, err)
		}
	}
}

func TestParseJobs(t *testing.T) {
	got, names, err := parseJobs(readTestdata(t, "job-list.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.Status{
		"41": {State: runner.StateRunning, Detail: "Running"},
		"42": {State: runner.StateScheduled, Detail: "Queued"},
		"43": {State: runner.StateFailed, Detail: "Failed"},
		"44": {State: runner.StateCompleted, Detail: "Finished"},
		"45": {State: runner.StateCancelled, Detail: "Canceled"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseJobs (-want +got):\n%s", diff)
	}
	if names["42"] != "simjobs.k3x9.board_2.1" {
		t.Errorf("names = %v", names)
	}
}

func TestParseTasks(t *testing.T) {
	e, ended, err := parseTasks(readTestdata(t, "listtasks-failed.txt"))
	want := cluster.End{State: runner.StateFailed, ExitCode: ip(3), Message: "Task failed during execution with exit code 3. Please check task's output for error details."}
	if err != nil || !ended {
		t.Fatalf("parseTasks: %v, ended %v", err, ended)
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("parseTasks (-want +got):\n%s", diff)
	}
	e, ended, err = parseTasks([]byte("Task Id : 9.1\nState : Finished\nExit Code : 7\n"))
	if err != nil || !ended || e.State != runner.StateFailed || *e.ExitCode != 7 {
		t.Errorf("a finished task with exit code 7: %+v %v %v", e, ended, err)
	}
	if _, ended, err := parseTasks([]byte("Task Id : 9.1\nState : Running\n")); err != nil || ended {
		t.Errorf("a running task: ended %v, %v", ended, err)
	}
}

func TestParseNodes(t *testing.T) {
	got, err := parseNodes(readTestdata(t, "node-list.txt"), "ComputeNodes")
	if err != nil {
		t.Fatal(err)
	}
	want := runner.Partition{Name: "ComputeNodes", NodesTotal: 2, NodesUsed: 1, CoresTotal: 24, CoresUsed: 8}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseNodes (-want +got):\n%s", diff)
	}
}

func TestParsersRejectGarbage(t *testing.T) {
	tests := []struct {
		name    string
		parse   func([]byte) error
		garbage []string
	}{
		{"job list", func(b []byte) error { _, _, err := parseJobs(b); return err },
			[]string{"Id : x\nState : Running\n", "Id : 3\nState : Dancing\n", "State : Running\n"}},
		{"job listtasks", func(b []byte) error { _, _, err := parseTasks(b); return err },
			[]string{"", "Access is denied.\n", "Task Id : 3.1\nState : Dancing\n", "Task Id : 3.1\nState : Failed\nExit Code : three\n"}},
		{"node list", func(b []byte) error { _, err := parseNodes(b, "g"); return err },
			[]string{"Node Name : N1\nMax : many\nRun : 0\n", "Max : 8\nRun : 0\n"}},
	}
	for _, tt := range tests {
		for _, g := range tt.garbage {
			if err := tt.parse([]byte(g)); !errors.Is(err, cluster.ErrOutput) {
				t.Errorf("%s(%q) = %v, want ErrOutput", tt.name, g, err)
			}
		}
	}
}

func FuzzParseJobs(f *testing.F) {
	f.Add(readTestdata(f, "job-list.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _, err := parseJobs(b)
		if err != nil {
			return
		}
		for id, s := range st {
			if !cluster.Digits(id) || s.State == "" {
				t.Fatalf("parsed %q into %q %+v", b, id, s)
			}
		}
	})
}

func FuzzParseTasks(f *testing.F) {
	f.Add(readTestdata(f, "listtasks-failed.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ended, err := parseTasks(b)
		if err != nil || !ended {
			return
		}
		if !e.State.Terminal() || (e.State == runner.StateCompleted && (e.ExitCode == nil || *e.ExitCode != 0)) {
			t.Fatalf("parsed %q into %+v", b, e)
		}
	})
}

func FuzzParseNodes(f *testing.F) {
	f.Add(readTestdata(f, "node-list.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseNodes(b, "g")
		if err == nil && (p.NodesUsed > p.NodesTotal || p.CoresUsed > p.CoresTotal) {
			t.Fatalf("parsed %q into %+v", b, p)
		}
	})
}

func FuzzParseSubmit(f *testing.F) {
	f.Add([]byte("Job has been submitted. ID: 1234.\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if id, err := parseSubmit(b); err == nil && !cluster.Digits(id) {
			t.Fatalf("parsed %q into %q", b, id)
		}
	})
}
