package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
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
