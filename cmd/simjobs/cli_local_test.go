package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
