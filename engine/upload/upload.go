// Package upload keeps projects sent from browsers and scripts: each in
// its own folder under <data-dir>/uploads/<user>/<upload-id>/, a zipped
// .aedb unpacked there with every entry confined to that folder and zip
// bombs refused by size and entry count.
package upload

import (
	"archive/zip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Kind is what an upload holds.
type Kind int

// The kinds of upload.
const (
	AEDT    Kind = iota + 1 // one .aedt file, kept as sent
	AEDBZip                 // a zipped .aedb folder, unpacked
)

// nameRE is what an uploaded file may be called: a plain name, no
// separators, nothing a shell or the solver's command line could misread.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._+()-]{0,199}$`)

// CheckName says whether name is an acceptable upload and what it holds;
// the error says why not, for the client.
func CheckName(name string) (Kind, error) {
	if !nameRE.MatchString(name) || strings.Contains(name, "..") {
		return 0, errors.New("must be a plain file name (letters, digits, space, . _ + ( ) -), at most 200 characters")
	}
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".aedt"):
		return AEDT, nil
	case strings.HasSuffix(lower, ".aedb.zip"):
		return AEDBZip, nil
	}
	return 0, errors.New("must end in .aedt or .aedb.zip")
}

// ProjectName is the project an upload becomes: board.aedt stays, and
// board.aedb.zip unpacks to board.aedb.
func ProjectName(name string) string {
	if k, _ := CheckName(name); k == AEDBZip {
		return name[:len(name)-len(".zip")]
	}
	return name
}

var userRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// UserDir is the folder of user's uploads under base. A name that is not
// a safe folder name (a proxy can send anything) is replaced by a digest
// of it, so no two users share a folder.
func UserDir(base, user string) string {
	if !userRE.MatchString(user) || strings.Contains(user, "..") {
		sum := sha256.Sum256([]byte(user))
		user = "u-" + hex.EncodeToString(sum[:8])
	}
	return filepath.Join(base, user)
}

// NewID is a fresh upload id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IDValid reports whether id can be an upload id (and so a folder name).
func IDValid(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Limits bound what an archive may unpack to.
type Limits struct {
	MaxBytes   int64 // total of the unpacked files
	MaxEntries int   // files and folders
}

// ErrTooLarge is an archive that unpacks beyond its Limits.
var ErrTooLarge = errors.New("upload: archive unpacks beyond the limits")

// BadArchiveError is an archive refused for its content, with the entry
// at fault.
type BadArchiveError struct {
	Entry, Reason string
}

func (e *BadArchiveError) Error() string {
	if e.Entry == "" {
		return "archive: " + e.Reason
	}
	return fmt.Sprintf("archive entry %q: %s", e.Entry, e.Reason)
}

// Unzip unpacks the zipped .aedb at zipPath into the folder dest (created).
// The archive may hold the folder's contents or the folder itself
// (board.aedb/...): a single top-level .aedb folder is stripped. Every
// entry must be a relative path that stays inside dest; links, devices and
// absolute or ".." paths refuse the whole archive. Sizes are counted as
// bytes are written, not trusted from the headers. On error dest is
// removed.
func Unzip(zipPath, dest string, lim Limits) (err error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return &BadArchiveError{Reason: "not a zip file"}
	}
	defer zr.Close()
	if lim.MaxEntries > 0 && len(zr.File) > lim.MaxEntries {
		return fmt.Errorf("%w: %d entries, at most %d", ErrTooLarge, len(zr.File), lim.MaxEntries)
	}
	strip := commonAEDB(zr.File)
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
	}
	if lim.MaxBytes > 0 && total > uint64(lim.MaxBytes) {
		return fmt.Errorf("%w: %d bytes unpacked, at most %d", ErrTooLarge, total, lim.MaxBytes)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest)
		}
	}()
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer root.Close()
	budget := lim.MaxBytes
	for _, f := range zr.File {
		name, err := entryName(f.Name, strip)
		if err != nil {
			return err
		}
		if name == "" {
			continue // the stripped top folder itself
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := root.MkdirAll(name, 0o755); err != nil {
				return &BadArchiveError{Entry: f.Name, Reason: "cannot create folder"}
			}
			continue
		case !mode.IsRegular():
			return &BadArchiveError{Entry: f.Name, Reason: "is a link or special file"}
		}
		if dir := filepath.Dir(name); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return &BadArchiveError{Entry: f.Name, Reason: "cannot create its folder"}
			}
		}
		n, err := extract(root, name, f, budget, lim.MaxBytes > 0)
		if err != nil {
			return err
		}
		budget -= n
	}
	return nil
}

func extract(root *os.Root, name string, f *zip.File, budget int64, bounded bool) (int64, error) {
	r, err := f.Open()
	if err != nil {
		return 0, &BadArchiveError{Entry: f.Name, Reason: "cannot be read: " + err.Error()}
	}
	defer r.Close()
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, &BadArchiveError{Entry: f.Name, Reason: "is there twice or cannot be created"}
	}
	var src io.Reader = r
	if bounded {
		src = io.LimitReader(r, budget+1)
	}
	n, err := io.Copy(w, src)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if bounded && n > budget {
		return n, fmt.Errorf("%w: more bytes than the headers said", ErrTooLarge)
	}
	if err != nil {
		var zerr error = err
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, &BadArchiveError{Entry: f.Name, Reason: "is corrupt"}
		}
		return n, fmt.Errorf("upload: unpack %s: %w", f.Name, zerr)
	}
	return n, nil
}

// entryName is the confined, OS-form name of an entry, "" for the
// stripped top folder.
func entryName(raw, strip string) (string, error) {
	n := strings.ReplaceAll(raw, "\\", "/")
	if strings.HasPrefix(n, "/") || strings.IndexByte(n, 0) >= 0 || (len(n) > 1 && n[1] == ':') {
		return "", &BadArchiveError{Entry: raw, Reason: "has an absolute path"}
	}
	for _, part := range strings.Split(strings.TrimSuffix(n, "/"), "/") {
		if part == ".." {
			return "", &BadArchiveError{Entry: raw, Reason: "leaves the folder (..)"}
		}
	}
	n = path.Clean(n)
	if strip != "" {
		if n == strip {
			return "", nil
		}
		n = strings.TrimPrefix(n, strip+"/")
	}
	local := filepath.FromSlash(n)
	if n == "." || !filepath.IsLocal(local) {
		return "", &BadArchiveError{Entry: raw, Reason: "is not a path inside the folder"}
	}
	return local, nil
}

// commonAEDB is the single top-level x.aedb folder every entry sits in,
// "" when there is none.
func commonAEDB(files []*zip.File) string {
	top := ""
	for _, f := range files {
		n := strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "./")
		first, _, _ := strings.Cut(n, "/")
		if !strings.HasSuffix(strings.ToLower(first), ".aedb") || (first == n && !f.Mode().IsDir()) {
			return ""
		}
		if top != "" && first != top {
			return ""
		}
		top = first
	}
	return top
}
