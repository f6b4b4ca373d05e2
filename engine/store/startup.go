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

// quickCheckMax is the largest database Open checks page by page (PRAGMA
// quick_check reads every page: about a second per few hundred MB). Larger
// ones get only the header and schema check every Open does; a corrupted
// page met later fails that request with a StoreFault naming the cause.
const quickCheckMax = 256 << 20

// errCorrupt marks a database SQLite cannot read as one.
var errCorrupt = errors.New("corrupted")

// checkIntegrity refuses a database that is not one, or whose pages are
// damaged, before anything writes to it: a corrupted file must never be
// replaced by a new empty database, nor written further.
func checkIntegrity(ctx context.Context, db *sql.DB, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new database
	}
	if err != nil {
		return err
	}
	// Reading the schema reads the header and the first page: a file that
	// is not a database fails here.
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		if c := sqliteCode(err); c == sqliteCorrupt || c == sqliteNotADB {
			return fmt.Errorf("%w: %v", errCorrupt, err)
		}
		return err
	}
	if fi.Size() > quickCheckMax {
		return nil
	}
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		if c := sqliteCode(err); c == sqliteCorrupt || c == sqliteNotADB {
			return fmt.Errorf("%w: %v", errCorrupt, err)
		}
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", errCorrupt, problems[0])
	}
	return nil
}

// openError turns a failed Open into one line that says what to do.
func openError(path string, err error) error {
	var newer *newerSchemaError
	dir := filepath.Dir(path)
	switch code := sqliteCode(err); {
	case errors.As(err, &newer):
		return fmt.Errorf("store: database %s was written by a newer simjobs (schema version %d; this one knows up to %d): run that newer simjobs, or restore a backup taken before the upgrade", path, newer.version, schemaVersion)
	case errors.Is(err, errCorrupt) || code == sqliteCorrupt || code == sqliteNotADB:
		return fmt.Errorf("store: database %s is corrupted (%s): restore a backup with `simjobs restore`, or move the file aside to start with an empty database", path, strings.TrimPrefix(err.Error(), errCorrupt.Error()+": "))
	case code == sqliteReadOnly || code == sqliteCantOpen || code == sqliteFull || code == sqliteIOErr || code == sqlitePerm:
		return fmt.Errorf("store: cannot open database %s: %s", path, diagnose(dir, err))
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}
