//go:build unix

package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveOnce runs `simjobs serve` expecting it to refuse to start, and
// returns its exit code and last line of output.
func serveOnce(t *testing.T, dataDir string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--scheduler", "none")
	cmd.Dir = dataDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve did not stop: %s", out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return cmd.ProcessState.ExitCode(), lines[len(lines)-1]
}

// A server does not start on a data dir another one holds, nor on a
// database it must not touch; each refusal is one line saying what to do,
// and the database is left as it was.
func TestStartRefuses(t *testing.T) {
	t.Parallel()
	t.Run("held by another server", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		p := start(t, dir)
		_, st := p.get(t, "/system/status")
		code, line := serveOnce(t, dir)
		want := fmt.Sprintf("is in use by another simjobs process (pid %d)", int(st["pid"].(float64)))
		if code != 1 || !strings.Contains(line, want) {
			t.Fatalf("second server: exit %d, %q; want exit 1 and %q", code, line, want)
		}
		if code, _ := p.get(t, "/readyz"); code != 200 {
			t.Errorf("the first server suffered: readyz %d", code)
		}
		// Once the first stops, the dir is free again.
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.exited
		start(t, dir)
	})
	for _, tt := range []struct {
		name   string
		damage func(t *testing.T, db string)
		want   string
	}{
		{"corrupted", func(t *testing.T, db string) {
			os.WriteFile(db, bytes.Repeat([]byte("garbage "), 2000), 0o644)
		}, "is corrupted"},
		{"newer schema", func(t *testing.T, db string) {
			d, err := sql.Open("sqlite", db)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.Exec("PRAGMA user_version = 999"); err != nil {
				t.Fatal(err)
			}
		}, "was written by a newer simjobs (schema version 999"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := start(t, dir)
			p.cmd.Process.Signal(syscall.SIGTERM)
			<-p.exited
			db := filepath.Join(dir, "simjobs.db")
			tt.damage(t, db)
			before, _ := os.ReadFile(db)
			code, line := serveOnce(t, dir)
			if code != 1 || !strings.Contains(line, tt.want) || !strings.HasPrefix(line, "simjobs: ") {
				t.Fatalf("exit %d, %q; want exit 1 and one line with %q", code, line, tt.want)
			}
			if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
				t.Error("the refused database was changed")
			}
		})
	}
}
