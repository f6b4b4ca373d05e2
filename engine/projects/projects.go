// Package projects finds the HFSS projects in a folder, for batch
// submission from the dashboard and the CLI alike.
package projects

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Discover lists the projects under dir: every .aedt file, and every .aedb
// (a folder, or a file) that has no .aedt of the same name beside it — an
// .aedt opens its .aedb, so that pair is one project, submitted once.
// Suffixes match in any case. With recursive it descends into sub-folders,
// but never into an .aedb (its contents are not projects) nor into hidden
// folders. Results are absolute, sorted paths.
func Discover(dir string, recursive bool) ([]string, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	var found []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			// An unreadable sub-folder is skipped, not fatal.
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if path == root {
			return nil
		}
		name := d.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if d.IsDir() {
			if ext == ".aedb" {
				if !hasSiblingAEDT(path) {
					found = append(found, path)
				}
				return fs.SkipDir
			}
			if !recursive || strings.HasPrefix(name, ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch ext {
		case ".aedt":
			found = append(found, path)
		case ".aedb":
			if !hasSiblingAEDT(path) {
				found = append(found, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(found)
	return found, nil
}

// hasSiblingAEDT reports whether x.aedb has an x.aedt next to it (any case).
func hasSiblingAEDT(aedb string) bool {
	dir, base := filepath.Split(aedb)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if strings.EqualFold(filepath.Ext(n), ".aedt") && strings.TrimSuffix(n, filepath.Ext(n)) == stem && !e.IsDir() {
			return true
		}
	}
	return false
}

// IsProject reports whether path names a project by its suffix.
func IsProject(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".aedt" || ext == ".aedb"
}
