package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/simjobs/simjobs/engine/store"
)

// backupCommand writes a consistent copy of the database to FILE: through
// the server while one runs (POST /system/backup), or from the database
// file itself when --data-dir names a data dir no server holds.
func backupCommand(fs *flag.FlagSet) func(ctx context.Context, cx *cli, args, after []string) error {
	dataDir := fs.String("data-dir", "", "the server's data `dir`: copy the database file directly when no server runs there (default: ask the server)")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("backup takes one FILE")
		}
		dst := args[0]
		if _, err := os.Stat(dst); err == nil {
			return fmt.Errorf("%s exists already: name a new file", dst)
		}
		// The copy is written beside its destination and renamed into
		// place once whole, so FILE is never a partial backup.
		tmp := dst + ".partial"
		os.Remove(tmp)
		var how string
		switch lock, err := lockIfGiven(*dataDir); {
		case err == nil && lock != nil:
			defer lock.Release()
			if err := store.BackupFile(ctx, filepath.Join(*dataDir, "simjobs.db"), tmp); err != nil {
				return err
			}
			how = "from the database file (no server running)"
		case err == nil || errors.Is(err, store.ErrLocked):
			f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			_, err = cx.api.Backup(ctx, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(tmp)
				return fmt.Errorf("backup: %w", err)
			}
			how = "through the server at " + cx.api.URL()
		default:
			return err
		}
		jobs, err := store.CheckBackup(ctx, tmp)
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("the copy does not check out: %w", err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			os.Remove(tmp)
			return err
		}
		fi, _ := os.Stat(dst)
		fmt.Fprintf(cx.stdout, "backed up %d jobs to %s (%d bytes), %s\n", jobs, dst, fi.Size(), how)
		return nil
	}
}

// lockIfGiven takes the data dir's lock when a dir is named: nil, nil
// when none is.
func lockIfGiven(dir string) (*store.DirLock, error) {
	if dir == "" {
		return nil, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "simjobs.db")); err != nil {
		return nil, fmt.Errorf("--data-dir %s: no database there: %w", dir, err)
	}
	return store.LockDir(dir)
}

// restoreCommand puts a backup in place of a stopped server's database.
func restoreCommand(fs *flag.FlagSet) func(ctx context.Context, cx *cli, args, after []string) error {
	dataDir := fs.String("data-dir", "./simjobs-data", "the server's data `dir` (the server must be stopped)")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("restore takes one FILE (a backup made by simjobs backup)")
		}
		if err := os.MkdirAll(*dataDir, 0o755); err != nil {
			return err
		}
		lock, err := store.LockDir(*dataDir)
		if err != nil {
			return fmt.Errorf("%w (restore needs the server stopped)", err)
		}
		defer lock.Release()
		jobs, kept, err := store.Restore(ctx, args[0], filepath.Join(*dataDir, "simjobs.db"))
		if err != nil {
			return err
		}
		fmt.Fprintf(cx.stdout, "restored %d jobs from %s into %s\n", jobs, args[0], filepath.Join(*dataDir, "simjobs.db"))
		if kept != "" {
			fmt.Fprintf(cx.stdout, "the database it replaced is kept as %s\n", kept)
		}
		fmt.Fprintln(cx.stdout, "job logs and uploads are files in the data dir: restore them from your file backup (see the README, Durability)")
		return nil
	}
}
