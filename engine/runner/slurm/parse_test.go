package slurm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
	if err != nil {
		panic(err)
	}
	return t
}

func ip(n int) *int { return &n }

func TestParseSbatch(t *testing.T) {
	tests := []struct {
		out     string
		want    string
		wantErr bool
	}{
		{"2\n", "2", false},
		{"17;lab\n", "17", false},
		{"  42  \n", "42", false},
		{"Submitted batch job 1\n", "", true},
		{"", "", true},
		{"sbatch: error: Batch job submission failed\n", "", true},
		{"-1\n", "", true},
	}
	for _, tt := range tests {
		got, err := parseSbatch([]byte(tt.out))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSbatch(%q) = %q, %v; want %q, error %v", tt.out, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseSbatch(%q): %v does not wrap ErrOutput", tt.out, err)
		}
	}
}

func TestParseSqueue(t *testing.T) {
	got, err := parseSqueue(readTestdata(t, "squeue.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.Status{
		"1":        {State: runner.StateScheduled, Detail: "PENDING"},
		"2":        {State: runner.StateScheduled, Detail: "PENDING, Priority"},
		"3":        {State: runner.StateScheduled, Detail: "PENDING, Priority"},
		"4":        {State: runner.StateRunning, Detail: "RUNNING", Time: at("2026-11-25T11:27:58")},
		"5":        {State: runner.StateFailed, Detail: "FAILED, NonZeroExitCode"},
		"7":        {State: runner.StateRunning, Detail: "COMPLETING", Time: at("2026-11-25T11:28:05")},
		"8":        {State: runner.StateCancelled, Detail: "CANCELLED, JobHeldUser"},
		"9":        {State: runner.StateFailed, Detail: "TIMEOUT, TimeLimit"},
		"12_[1-4]": {State: runner.StateScheduled, Detail: "PENDING, Resources"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseSqueue (-want +got):\n%s", diff)
	}
}

func TestParseSacct(t *testing.T) {
	got, err := parseSacct(readTestdata(t, "sacct.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.End{
		"2": {State: runner.StateCompleted, ExitCode: ip(0), Start: at("2026-11-25T11:27:52"), Time: at("2026-11-25T11:27:57")},
		"5": {State: runner.StateFailed, ExitCode: ip(3), Message: "exit code 3", Start: at("2026-11-25T11:28:04"), Time: at("2026-11-25T11:28:04")},
		"7": {State: runner.StateCancelled, Start: at("2026-11-25T11:28:05"), Time: at("2026-11-25T11:28:06")},
		"8": {State: runner.StateCancelled, Time: at("2026-11-25T11:28:07")},
		"4": {State: runner.StateFailed, Message: "wall-time limit exceeded (SLURM state TIMEOUT)", Start: at("2026-11-25T11:27:58"), Time: at("2026-11-25T11:29:19")},
		"10": {State: runner.StateFailed, Message: "killed by signal 9 (SLURM state FAILED)", Start: at("2026-11-25T11:30:00"),
			Time: at("2026-11-25T11:30:01")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseSacct (-want +got):\n%s", diff)
	}
}

func TestParseScontrol(t *testing.T) {
	got, err := parseScontrol(readTestdata(t, "scontrol.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.End{
		"2": {State: runner.StateCompleted, ExitCode: ip(0), Start: at("2026-11-25T11:27:52"), Time: at("2026-11-25T11:27:57")},
		"5": {State: runner.StateFailed, ExitCode: ip(3), Message: "exit code 3", Start: at("2026-11-25T11:28:04"), Time: at("2026-11-25T11:28:04")},
		"7": {State: runner.StateCancelled, Start: at("2026-11-25T11:28:05"), Time: at("2026-11-25T11:28:06")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseScontrol (-want +got):\n%s", diff)
	}
}

func TestParseSinfo(t *testing.T) {
	got, err := parseSinfo(readTestdata(t, "sinfo.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []runner.Partition{
		{Name: "debug", NodesTotal: 1, CoresTotal: 2, MemoryTotalGB: 20},
		{Name: "long", NodesTotal: 2, NodesUsed: 1, CoresTotal: 10, CoresUsed: 3, MemoryTotalGB: 84, MemoryUsedGB: 16},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseSinfo (-want +got):\n%s", diff)
	}
}

// TestParsersRejectGarbage: output that is not what was asked for is an
// error wrapping ErrOutput, never a guess.
func TestParsersRejectGarbage(t *testing.T) {
	garbage := []string{
		"slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n",
		"<html>proxy error</html>\n",
		"1|RUNNING\n",
		"1|DANCING|N/A|None\n",
		"x|y|z|w|v|u\n",
	}
	parsers := map[string]func([]byte) error{
		"squeue":   func(b []byte) error { _, err := parseSqueue(b); return err },
		"sacct":    func(b []byte) error { _, err := parseSacct(b); return err },
		"scontrol": func(b []byte) error { _, err := parseScontrol(b); return err },
		"sinfo":    func(b []byte) error { _, err := parseSinfo(b); return err },
	}
	for name, parse := range parsers {
		for _, g := range garbage {
			if err := parse([]byte(g)); !errors.Is(err, cluster.ErrOutput) {
				t.Errorf("%s(%q) = %v, want an error wrapping ErrOutput", name, g, err)
			}
		}
	}
}

func FuzzParseSqueue(f *testing.F) {
	f.Add(readTestdata(f, "squeue.txt"))
	f.Add([]byte("1|RUNNING|N/A|None\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseSqueue(b)
		if err != nil {
			return
		}
		for id, s := range st {
			if id == "" || s.State == "" {
				t.Fatalf("parsed %q into %q: %+v", b, id, s)
			}
		}
	})
}

func FuzzParseSacct(f *testing.F) {
	f.Add(readTestdata(f, "sacct.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ends, err := parseSacct(b)
		if err != nil {
			return
		}
		for id, e := range ends {
			if !e.State.Terminal() {
				t.Fatalf("parsed %q: job %s ends in %q", b, id, e.State)
			}
			if e.State == runner.StateCompleted && (e.ExitCode == nil || *e.ExitCode != 0) {
				t.Fatalf("parsed %q: job %s completed with exit code %v", b, id, e.ExitCode)
			}
		}
	})
}

func FuzzParseScontrol(f *testing.F) {
	f.Add(readTestdata(f, "scontrol.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ends, err := parseScontrol(b)
		if err != nil {
			return
		}
		for id, e := range ends {
			if !e.State.Terminal() {
				t.Fatalf("parsed %q: job %s ends in %q", b, id, e.State)
			}
		}
	})
}

func FuzzParseSinfo(f *testing.F) {
	f.Add(readTestdata(f, "sinfo.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := parseSinfo(b)
		if err != nil {
			return
		}
		for _, p := range parts {
			if p.Name == "" || p.NodesUsed > p.NodesTotal {
				t.Fatalf("parsed %q into %+v", b, p)
			}
		}
	})
}

func FuzzParseSbatch(f *testing.F) {
	f.Add([]byte("42\n"))
	f.Add([]byte("42;lab\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseSbatch(b)
		if err == nil && !isJobID(id) {
			t.Fatalf("parsed %q into job id %q", b, id)
		}
	})
}

func FuzzParseSacctNamed(f *testing.F) {
	f.Add([]byte("1|FAILED|simjobs.k3.a.1\n2|COMPLETED|other|name\n"), "simjobs.k3.a.1")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		ids, err := parseSacctNamed(b, name)
		if err != nil {
			return
		}
		for _, id := range ids {
			if !isJobID(id) {
				t.Fatalf("parsed %q into %q", b, id)
			}
		}
	})
}
