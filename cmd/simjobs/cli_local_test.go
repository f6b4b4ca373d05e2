package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine"
)

// The local run's log copier copies what is appended, a character cut by
// a write once it is whole, and what is left at the end as it is.
func TestLogCopier(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stdout.log")
	if err := os.WriteFile(path, []byte("old run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := &logCopier{path: path, w: &out, off: fileSize(path)}
	add := func(s string) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		add  string
		end  bool
		want string
	}{
		{"", false, ""},
		{"solving \xe2\x82", false, "solving "},
		{"\xac 1\n", false, "solving € 1\n"},
		{"cut \xf0\x9d", false, "solving € 1\ncut "},
		{"", true, "solving € 1\ncut \xf0\x9d"},
	}
	for i, s := range steps {
		add(s.add)
		if s.end {
			c.copyEnd()
		} else {
			c.copy()
		}
		if out.String() != s.want {
			t.Fatalf("step %d: copied %q, want %q", i, out.String(), s.want)
		}
	}
}

// TestLocalFallbackRefusesWhatTheServerRefuses: the CLI's local fallback
// builds its run spec through the engine's one conversion, so a config the
// server refuses is refused here too, naming the same field.
func TestLocalFallbackRefusesWhatTheServerRefuses(t *testing.T) {
	t.Parallel()
	roots := t.TempDir()
	outside := t.TempDir()
	project := filepath.Join(outside, "board.aedt")
	if err := os.WriteFile(project, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 200<<10)
	tests := []struct {
		name   string
		config string
		field  string // "" for a config that must be accepted
	}{
		{"a plain command", `{"command": ["/bin/echo", "hi"], "jobid": "ok_1"}`, ""},
		{"a NUL byte in an argument", `{"command": ["/bin/echo", "a\u0000b"], "jobid": "nul_1"}`, "command[1]"},
		{"an argv over the size bound", `{"command": ["/bin/echo", "` + long + `"], "jobid": "big_1"}`, "command"},
		{"a job id with a path in it", `{"command": ["/bin/echo", "hi"], "jobid": "../x"}`, "jobid"},
		{"a working directory outside the roots", `{"command": ["/bin/echo", "hi"], "jobid": "wd_1", "working_directory": "` + outside + `"}`, "working_directory"},
		{"a project outside the roots", `{"jobid": "hf_1", "project_path": "` + project + `"}`, "project_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SIMJOBS_PROJECT_ROOTS": roots, "SIMJOBS_ANSYS_EDT_PATH": "/bin/true"}
			if tt.field == "" {
				delete(env, "SIMJOBS_PROJECT_ROOTS")
			}
			cx := &cli{env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
			spec, err := cx.localSpec([]byte(tt.config), "")
			if tt.field == "" {
				if err != nil || len(spec.Argv) == 0 {
					t.Fatalf("refused a good config: %v (argv %q)", err, spec.Argv)
				}
				return
			}
			var ve *engine.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a validation error naming %s", err, tt.field)
			}
			if ve.Field != tt.field {
				t.Errorf("field = %q (%s), want %q", ve.Field, ve.Message, tt.field)
			}
		})
	}
}
