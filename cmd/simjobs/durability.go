package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// ageValue is a flag holding an age: a Go duration ("36h") or a number of
// days ("90d"); "0" is none.
type ageValue time.Duration

func (a *ageValue) String() string {
	d := time.Duration(*a)
	if d != 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func (a *ageValue) Set(s string) error {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 100*365 {
			return fmt.Errorf("want a number of days such as 90d, or a duration such as 36h")
		}
		d = time.Duration(n * 24 * float64(time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return fmt.Errorf("want a number of days such as 90d, or a duration such as 36h")
		}
	}
	if d != 0 && d < time.Hour {
		return fmt.Errorf("%s is under an hour: jobs would be deleted as they end", s)
	}
	*a = ageValue(d)
	return nil
}

// removeStaleBackups deletes the temporary copies a server that died while
// sending a backup left behind (this process holds the data dir).
func removeStaleBackups(dataDir string, log *slog.Logger) {
	stale, _ := filepath.Glob(filepath.Join(dataDir, ".backup-*.db"))
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			log.Warn("remove a stale backup copy", "file", f, "err", err)
		}
	}
}
