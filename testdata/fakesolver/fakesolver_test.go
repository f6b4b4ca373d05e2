package fakesolver

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPathIsExecutable(t *testing.T) {
	fi, err := os.Stat(Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("%s is not executable: %v", Path(), fi.Mode())
	}
}

func TestRecordRoundTrip(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "record")
	args := []string{"-jobid", "a b", `"quoted"`, "$(touch /tmp/pwned)", "x;y", "'single'"}
	cmd := exec.Command(Path(), args...)
	cmd.Env = append(os.Environ(), EnvRecord+"="+rec, EnvExit+"=3")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("run: %v, want exit code 3", err)
	}
	runs, err := ReadRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(runs))
	}
	if diff := cmp.Diff(args, runs[0].Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if runs[0].End.Before(runs[0].Start) || runs[0].PID != cmd.Process.Pid {
		t.Errorf("run = %+v, want pid %d and end after start", runs[0], cmd.Process.Pid)
	}
}

func TestReadRecordMissing(t *testing.T) {
	runs, err := ReadRecord(filepath.Join(t.TempDir(), "none"))
	if err != nil || runs != nil {
		t.Fatalf("ReadRecord(missing) = %v, %v; want nil, nil", runs, err)
	}
}

func TestMaxOverlap(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	tests := []struct {
		name string
		runs []Run
		want int
	}{
		{"none", nil, 0},
		{"one", []Run{{Start: at(0), End: at(1)}}, 1},
		{"back to back", []Run{{Start: at(0), End: at(1)}, {Start: at(1), End: at(2)}}, 1},
		{"nested", []Run{{Start: at(0), End: at(10)}, {Start: at(1), End: at(2)}, {Start: at(3), End: at(4)}}, 2},
		{"three", []Run{{Start: at(0), End: at(5)}, {Start: at(1), End: at(6)}, {Start: at(2), End: at(3)}}, 3},
		{"killed run never ends", []Run{{Start: at(0)}, {Start: at(5), End: at(6)}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaxOverlap(tt.runs); got != tt.want {
				t.Errorf("MaxOverlap = %d, want %d", got, tt.want)
			}
		})
	}
}

// With a script the solver prints it line for line, waiting after each.
func TestScript(t *testing.T) {
	want, err := os.ReadFile(HFSSLog())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Path())
	cmd.Env = append(os.Environ(), EnvScript+"="+HFSSLog(), EnvLineSleep+"=0.001")
	start := time.Now()
	got, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output (-script +printed):\n%s", diff)
	}
	if lines := countLines(want); time.Since(start) < time.Duration(lines)*time.Millisecond {
		t.Errorf("%d lines printed in %v: the line sleep was not applied", lines, time.Since(start))
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
