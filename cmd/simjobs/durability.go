package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/simjobs/simjobs/engine/store"
)

// warnMissingDatabase says so when a data dir that has held jobs (their
// logs are there) has no database: the server then starts with an empty
// one, which is right after a deliberate reset and wrong after a lost file.
func warnMissingDatabase(dataDir string, log *slog.Logger) {
	if _, err := os.Stat(filepath.Join(dataDir, "simjobs.db")); !errors.Is(err, os.ErrNotExist) {
		return
	}
	entries, err := os.ReadDir(filepath.Join(dataDir, "jobs"))
	if err != nil || len(entries) == 0 {
		return
	}
	log.Warn("no database in a data dir that holds job logs: starting with an empty one; to bring the jobs back, stop the server and run simjobs restore", "data_dir", dataDir, "job_dirs", len(entries))
}

// backupTo is the server's POST /system/backup: a copy of the database in
// a new file in the data dir (same volume, so no surprise about space
// elsewhere), which the server removes once sent.
func backupTo(dataDir string, st *store.SQLite) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		path := filepath.Join(dataDir, fmt.Sprintf(".backup-%d.db", time.Now().UnixNano()))
		return path, st.Backup(ctx, path)
	}
}
