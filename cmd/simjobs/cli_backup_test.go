package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/server/servertest"
)

// simjobs backup through a running server, then restore into a data dir
// and from a stopped data dir's file; the refusals say why.
func TestCLIBackupRestore(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	r := cliRun{t: t, env: map[string]string{"SIMJOBS_SERVER": srv.URL}}
	for _, id := range []string{"b1", "b2"} {
		if res := r.run("submit", "--jobid", id, "--", srv.Solver); res.code != 0 {
			t.Fatalf("submit: %+v", res)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "copy.db")
	res := r.run("backup", file)
	if res.code != 0 || !strings.Contains(res.stdout, "backed up 2 jobs") || !strings.Contains(res.stdout, "through the server") {
		t.Fatalf("backup: %+v", res)
	}
	if res := r.run("backup", file); res.code == 0 || !strings.Contains(res.stderr, "exists already") {
		t.Errorf("backup over an existing file: %+v", res)
	}
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Errorf("a partial file was left: %v", err)
	}

	data := filepath.Join(dir, "data")
	res = r.run("restore", "--data-dir", data, file)
	if res.code != 0 || !strings.Contains(res.stdout, "restored 2 jobs") {
		t.Fatalf("restore: %+v", res)
	}
	st, err := store.Open(context.Background(), filepath.Join(data, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.JobGet(context.Background(), "b2"); err != nil {
		t.Errorf("restored database lacks b2: %v", err)
	}
	st.Close()

	// No server on data: backup reads the file; a held dir refuses restore.
	res = r.run("backup", "--data-dir", data, filepath.Join(dir, "offline.db"))
	if res.code != 0 || !strings.Contains(res.stdout, "from the database file") {
		t.Fatalf("offline backup: %+v", res)
	}
	lock, err := store.LockDir(data)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if res := r.run("restore", "--data-dir", data, file); res.code == 0 || !strings.Contains(res.stderr, "in use by another simjobs process") {
		t.Errorf("restore into a held data dir: %+v", res)
	}
	if res := r.run("restore", "--data-dir", t.TempDir(), filepath.Join(dir, "missing.db")); res.code == 0 {
		t.Errorf("restore of a missing file: %+v", res)
	}
}
