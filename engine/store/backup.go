package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent copy of the database to dst (which must not
// exist) while the store keeps working: VACUUM INTO reads one snapshot of
// the database in a read transaction, which in WAL mode neither waits for
// the writer nor holds it up. The copy is a plain, compacted database file
// with no WAL: Open (or simjobs restore) takes it as it is.
func (s *SQLite) Backup(ctx context.Context, dst string) error {
	if s.closed.Load() {
		return errClosed
	}
	return vacuumInto(ctx, s.path, dst, s.classify)
}

// BackupFile copies the database at path to dst the same way, for a
// database no server has open (the caller holds the data dir's lock).
func BackupFile(ctx context.Context, path, dst string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return vacuumInto(ctx, path, dst, func(err error) error { return err })
}

func vacuumInto(ctx context.Context, path, dst string, classify func(error) error) error {
	if strings.Contains(dst, "?") {
		return fmt.Errorf("store: backup file %q contains '?'", dst)
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("store: backup file %s exists already", dst)
	}
	// Its own connection: the read pool is query_only, and the writer's
	// connection must not be held for the length of a copy.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		os.Remove(dst)
		return fmt.Errorf("store: backup to %s: %w", dst, classifyAt(filepath.Dir(dst), err, classify))
	}
	return nil
}

// classifyAt names the cause of a failed backup write: the volume of the
// backup file, not the database's, is the one that failed.
func classifyAt(dir string, err error, classify func(error) error) error {
	switch sqliteCode(err) {
	case sqliteFull, sqliteReadOnly, sqliteIOErr, sqliteCantOpen, sqlitePerm:
		return errors.Join(err, errors.New(diagnose(dir, err)))
	}
	return classify(err)
}

// CheckBackup opens the database file at path read-only and checks that it
// is a whole simjobs database this program can use: it passes SQLite's
// integrity check and its schema is not newer than ours. It returns the
// number of jobs in it.
func CheckBackup(ctx context.Context, path string) (jobs int, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&result); err != nil {
		return 0, fmt.Errorf("store: %s is not a usable database: %w", path, err)
	}
	if result != "ok" {
		return 0, fmt.Errorf("store: %s is corrupted: %s", path, result)
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, err
	}
	if version > schemaVersion {
		return 0, fmt.Errorf("store: %s was written by a newer simjobs (schema version %d; this one knows up to %d)", path, version, schemaVersion)
	}
	if version == 0 {
		return 0, fmt.Errorf("store: %s is not a simjobs database (no schema)", path)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM jobs").Scan(&jobs); err != nil {
		return 0, fmt.Errorf("store: %s is not a simjobs database: %w", path, err)
	}
	return jobs, nil
}

// Restore puts the backup at src in place of the database at path, which
// no process may have open (the caller holds the data dir's lock). The
// database it replaces, if any, is kept beside it as path.before-restore-N.
// The backup is checked first; nothing is moved if it is not usable.
func Restore(ctx context.Context, src, path string) (jobs int, kept string, err error) {
	if jobs, err = CheckBackup(ctx, src); err != nil {
		return 0, "", err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".restore-*.db")
	if err != nil {
		return 0, "", fmt.Errorf("store: restore: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return 0, "", err
	}
	_, err = tmp.ReadFrom(in)
	in.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: restore: copy %s: %w", src, err)
	}
	if _, err := os.Stat(path); err == nil {
		for i := 1; ; i++ {
			kept = fmt.Sprintf("%s.before-restore-%d", path, i)
			if _, err := os.Stat(kept); errors.Is(err, os.ErrNotExist) {
				break
			}
		}
		// The old database may still have a WAL (a server killed before
		// its checkpoint): it belongs to the old file and goes with it.
		if err := os.Rename(path, kept); err != nil {
			return 0, "", fmt.Errorf("store: restore: %w", err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + suffix); err == nil {
				if err := os.Rename(path+suffix, kept+suffix); err != nil {
					return 0, "", fmt.Errorf("store: restore: %w", err)
				}
			}
		}
	}
	if err := os.Rename(tmpName, path); err != nil {
		return 0, "", fmt.Errorf("store: restore: %w", err)
	}
	return jobs, kept, nil
}
