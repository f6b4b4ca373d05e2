//go:build linux || darwin

package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
)

// script writes an executable shell script named name into dir.
func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestCLIFailures(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "ok", `printf 'out\n'; printf 'warning\n' >&2`)
	script(t, dir, "fails", `printf 'squeue: error: Unable to contact slurm controller (connect failure)\n' >&2; exit 1`)
	script(t, dir, "hangs", `sleep 30 & sleep 30; echo never`)
	script(t, dir, "args", `printf '%s\n' "$@"`)
	cli := &Exec{Dir: dir, Timeout: 300 * time.Millisecond}
	ctx := context.Background()

	tests := []struct {
		name     string
		cmd      string
		args     []string
		wantErr  error
		wantText string
	}{
		{"missing", "sbatch", nil, ErrCommandNotFound, "sbatch: command not found in " + dir},
		{"non-zero exit", "fails", nil, ErrExit, "fails: exit status 1: squeue: error: Unable to contact slurm controller"},
		{"hang", "hangs", nil, ErrTimeout, "hangs: timed out after 300ms (killed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := cli.Run(ctx, nil, tt.cmd, tt.args...)
			var ce *CommandError
			if !errors.As(err, &ce) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want a *CommandError wrapping %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v: the hung command's children kept it waiting", d)
			}
		})
	}

	out, err := cli.Run(ctx, nil, "ok")
	if err != nil || string(out.Stdout) != "out\n" || string(out.Stderr) != "warning\n" {
		t.Errorf("ok: %q %q %v", out.Stdout, out.Stderr, err)
	}
	weird := []string{"a b", "$(touch x)", `"`, "", "--x"}
	out, err = cli.Run(ctx, nil, "args", weird...)
	if err != nil || string(out.Stdout) != strings.Join(weird, "\n")+"\n" {
		t.Errorf("arguments did not arrive as given: %q %v", out.Stdout, err)
	}
	if got := cli.Calls(); got["ok"] != 1 || got["args"] != 1 || got["sbatch"] != 1 {
		t.Errorf("Calls = %v", got)
	}
}

func TestJobName(t *testing.T) {
	tests := []struct {
		instance, id string
		attempt, max int
		want         string
	}{
		{"", "board_1", 1, 0, "simjobs.board_1.1"},
		{"k3x9", "board_1", 12, 0, "simjobs.k3x9.board_1.12"},
		{"k3x9", "JOB_20251110_174607_01f4bf99", 1, 40, "simjobs.k3x9.JOB_20251110_174~67af3fdb.1"},
	}
	for _, tt := range tests {
		got, err := JobName(tt.instance, tt.id, tt.attempt, tt.max)
		if err != nil || got != tt.want {
			t.Errorf("JobName(%q, %q, %d, %d) = %q, %v; want %q", tt.instance, tt.id, tt.attempt, tt.max, got, err, tt.want)
		}
		if tt.max > 0 && len(got) > tt.max {
			t.Errorf("%q is longer than %d", got, tt.max)
		}
		if !IsOurName(got) {
			t.Errorf("IsOurName(%q) = false", got)
		}
	}
	for _, bad := range []struct {
		instance, id string
		attempt      int
	}{{"", "a.b", 1}, {"", "a b", 1}, {"", "ok", 0}, {"UPPER", "ok", 1}, {"a.b", "ok", 1}, {"", "", 1}} {
		if _, err := JobName(bad.instance, bad.id, bad.attempt, 0); err == nil {
			t.Errorf("JobName(%q, %q, %d) accepted", bad.instance, bad.id, bad.attempt)
		}
	}
}

// Submit feeds the script on stdin, keeps a copy beside the job's log,
// and returns the parsed id; a failed command or an answer it cannot
// parse is an error naming the job.
func TestCLISubmit(t *testing.T) {
	dir, logs := t.TempDir(), t.TempDir()
	script(t, dir, "submit", `cat >"$0.stdin"; printf 'Submitted batch job 42\n'`)
	script(t, dir, "refuse", `printf 'sbatch: error: invalid partition specified: nope\n' >&2; exit 1`)
	cli := &Exec{Dir: dir}
	spec := runner.Spec{JobID: "j1", Attempt: 1, Stdout: filepath.Join(logs, "stdout.log")}
	parse := func(out []byte) (string, error) {
		id, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "Submitted batch job ")
		if !ok {
			return "", ErrOutput
		}
		return id, nil
	}
	const body = "#!/bin/sh\n#SBATCH --job-name=x\ntrue\n"
	id, err := cli.Submit(context.Background(), spec, Submission{Command: "submit", Script: body, Copy: "job.sbatch", Parse: parse})
	if err != nil || id != "42" {
		t.Fatalf("Submit = %q, %v; want 42", id, err)
	}
	for _, p := range []string{filepath.Join(dir, "submit.stdin"), filepath.Join(logs, "job.sbatch")} {
		if b, err := os.ReadFile(p); err != nil || string(b) != body {
			t.Errorf("%s = %q, %v; want the script", p, b, err)
		}
	}
	_, err = cli.Submit(context.Background(), spec, Submission{Command: "refuse", Script: body, Parse: parse})
	if !errors.Is(err, ErrExit) || !strings.Contains(err.Error(), "submit job j1: refuse: exit status 1: sbatch: error: invalid partition") {
		t.Errorf("refused: %v", err)
	}
	_, err = cli.Submit(context.Background(), spec, Submission{Command: "submit", Parse: func([]byte) (string, error) { return "", ErrOutput }})
	if !errors.Is(err, ErrOutput) || !strings.Contains(err.Error(), "submit job j1") {
		t.Errorf("unparsable answer: %v", err)
	}
}
