// Package results finds what a job wrote: the files in its folder (the
// project's folder for an HFSS solve, the working directory for a plain
// command) created or changed while it ran — results folders, Touchstone
// (*.sNp) and CSV reports, batch logs — and serves them one at a time or
// as a zip, never anything outside that folder.
package results

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNotFound is a path that is not one of the job's results: outside its
// folder, not a regular file, or not written while the job ran.
var ErrNotFound = errors.New("results: no such result file")

// Bounds of one listing: a job folder that is a whole home directory must
// not make a request walk for ever.
const (
	MaxFiles   = 10000
	MaxVisited = 200000
)

// Slack widens the window after a run: the solver may still be flushing
// as the runner reports the end, and some file systems keep modification
// times coarsely (FAT: 2 s). The window starts exactly at the start, so a
// project uploaded or saved just before the job does not count as a
// result.
const Slack = 2 * time.Second

// File is one result, its path relative to the job folder with '/'
// separators.
type File struct {
	Path     string    `json:"path"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

// Set is where a job's results are and when they were written.
type Set struct {
	Root string    // the job folder, absolute
	From time.Time // the run's start
	To   time.Time // its end; zero while it runs
}

func (s Set) in(mod time.Time) bool {
	if mod.Before(s.From) {
		return false
	}
	return s.To.IsZero() || !mod.After(s.To.Add(Slack))
}

// List walks the folder for the files written in the window, sorted by
// path. Symbolic links are not followed nor listed. truncated says the
// listing stopped at MaxFiles or MaxVisited.
func List(ctx context.Context, s Set) (files []File, truncated bool, err error) {
	if s.Root == "" {
		return nil, false, nil
	}
	visited := 0
	errStop := errors.New("stop")
	err = filepath.WalkDir(s.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == s.Root {
				return err
			}
			return nil // an unreadable corner is skipped
		}
		visited++
		if visited > MaxVisited || len(files) >= MaxFiles {
			truncated = true
			return errStop
		}
		if visited%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !s.in(fi.ModTime()) {
			return nil
		}
		rel, err := filepath.Rel(s.Root, p)
		if err != nil {
			return nil
		}
		files = append(files, File{Path: filepath.ToSlash(rel), Size: fi.Size(), Modified: fi.ModTime().UTC()})
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil // the folder went away: nothing to show
	}
	if err != nil {
		return nil, false, fmt.Errorf("results: list %s: %w", s.Root, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, truncated, nil
}

// Open opens one result by its listed path. Anything else (a path leaving
// the folder, through ".." or a link, a folder, a link, a file the job did
// not write) is ErrNotFound.
func Open(s Set, rel string) (*os.File, File, error) {
	if s.Root == "" || rel == "" || strings.Contains(rel, "\\") || strings.IndexByte(rel, 0) >= 0 {
		return nil, File{}, ErrNotFound
	}
	clean := path.Clean(rel)
	if clean != rel || !filepath.IsLocal(filepath.FromSlash(clean)) {
		return nil, File{}, ErrNotFound
	}
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		return nil, File{}, ErrNotFound
	}
	defer root.Close()
	name := filepath.FromSlash(clean)
	fi, err := root.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || !s.in(fi.ModTime()) {
		return nil, File{}, ErrNotFound
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, File{}, ErrNotFound
	}
	return f, File{Path: clean, Size: fi.Size(), Modified: fi.ModTime().UTC()}, nil
}

// WriteZip writes the listed files into a zip on w as it reads them: the
// archive is never held in memory. A file that vanished since the listing
// is left out.
func WriteZip(ctx context.Context, w io.Writer, s Set, files []File) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, info, err := Open(s, f.Path)
		if err != nil {
			continue
		}
		hw, err := zw.CreateHeader(&zip.FileHeader{Name: info.Path, Method: zip.Deflate, Modified: info.Modified})
		if err == nil {
			_, err = io.Copy(hw, r)
		}
		r.Close()
		if err != nil {
			return fmt.Errorf("results: zip %s: %w", f.Path, err)
		}
	}
	return zw.Close()
}
