package upload

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body string
	mode       os.FileMode
}

func writeZip(t *testing.T, entries []entry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.aedb.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestUnzip(t *testing.T) {
	lim := Limits{MaxBytes: 1 << 20, MaxEntries: 100}
	tests := []struct {
		name    string
		entries []entry
		want    map[string]string // files under dest
		err     string
	}{
		{"folder inside", []entry{{"board.aedb/", "", os.ModeDir | 0o755}, {"board.aedb/edb.def", "def", 0}, {"board.aedb/stride/x.bin", "x", 0}},
			map[string]string{"edb.def": "def", "stride/x.bin": "x"}, ""},
		{"contents only", []entry{{"edb.def", "def", 0}, {"sub/a.txt", "a", 0}}, map[string]string{"edb.def": "def", "sub/a.txt": "a"}, ""},
		{"windows separators", []entry{{`board.aedb\edb.def`, "def", 0}}, map[string]string{"edb.def": "def"}, ""},
		{"dot dot", []entry{{"edb.def", "def", 0}, {"../evil.sh", "boom", 0}}, nil, "leaves the folder"},
		{"nested dot dot", []entry{{"a/../../evil.sh", "boom", 0}}, nil, "leaves the folder"},
		{"absolute", []entry{{"/etc/cron.d/evil", "boom", 0}}, nil, "absolute path"},
		{"drive letter", []entry{{"C:/evil", "boom", 0}}, nil, "absolute path"},
		{"symlink", []entry{{"link", "/etc/passwd", os.ModeSymlink | 0o777}}, nil, "link or special"},
		{"duplicate", []entry{{"a", "1", 0}, {"a", "2", 0}}, nil, "twice"},
		{"too many entries", func() []entry {
			var es []entry
			for i := range 101 {
				es = append(es, entry{name: "f" + strings.Repeat("x", i), body: "."})
			}
			return es
		}(), nil, "101 entries"},
		{"bomb by size", []entry{{"zeros", strings.Repeat("\x00", 2<<20), 0}}, nil, "bytes unpacked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zp := writeZip(t, tt.entries)
			dest := filepath.Join(t.TempDir(), "board.aedb")
			err := Unzip(zp, dest, lim)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if _, serr := os.Stat(dest); !errors.Is(serr, os.ErrNotExist) {
					t.Errorf("dest left behind after a refusal")
				}
				if _, serr := os.Stat(filepath.Join(filepath.Dir(dest), "evil.sh")); serr == nil {
					t.Errorf("an entry escaped")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for rel, body := range tt.want {
				b, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(rel)))
				if err != nil || string(b) != body {
					t.Errorf("%s = %q %v, want %q", rel, b, err, body)
				}
			}
		})
	}
}

// TestUnzipLyingHeader: a bomb whose header claims a tiny size is refused
// (archive/zip stops reading past the declared size; the byte count is a
// second guard) and leaves nothing behind.
func TestUnzipLyingHeader(t *testing.T) {
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	big := bytes.Repeat([]byte{0}, 4<<20)
	fw.Write(big)
	fw.Close()
	p := filepath.Join(t.TempDir(), "bomb.aedb.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "edb.def", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(big), CompressedSize64: uint64(raw.Len()), UncompressedSize64: 10})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw.Bytes())
	zw.Close()
	f.Close()
	dest := filepath.Join(t.TempDir(), "b.aedb")
	err = Unzip(p, dest, Limits{MaxBytes: 1 << 20, MaxEntries: 10})
	var bad *BadArchiveError
	if !errors.Is(err, ErrTooLarge) && !errors.As(err, &bad) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dest left behind")
	}
}

func TestNotAZip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.aedb.zip")
	os.WriteFile(p, []byte("hello"), 0o644)
	var bad *BadArchiveError
	if err := Unzip(p, filepath.Join(t.TempDir(), "x.aedb"), Limits{}); !errors.As(err, &bad) {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for name, want := range map[string]Kind{
		"board.aedt": AEDT, "Board 2 (v3).AEDT": AEDT, "board.aedb.zip": AEDBZip, "b.AEDB.ZIP": AEDBZip,
		"board.zip": 0, "../board.aedt": 0, "a/b.aedt": 0, ".aedt": 0, "-x.aedt": 0, "a..aedt": 0, "a;rm.aedt": 0, "": 0, "a\nb.aedt": 0,
	} {
		got, err := CheckName(name)
		if got != want || (err == nil) != (want != 0) {
			t.Errorf("CheckName(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if ProjectName("b.aedb.zip") != "b.aedb" || ProjectName("b.aedt") != "b.aedt" {
		t.Error("ProjectName")
	}
}

func TestUserDir(t *testing.T) {
	if got := UserDir("/d", "alice"); got != "/d/alice" {
		t.Errorf("alice: %s", got)
	}
	for _, u := range []string{"../root", "a/b", "", "..", "x y"} {
		got := UserDir("/d", u)
		if filepath.Dir(got) != "/d" || !strings.HasPrefix(filepath.Base(got), "u-") {
			t.Errorf("UserDir(%q) = %s", u, got)
		}
	}
	if UserDir("/d", "a/b") == UserDir("/d", "a_b") {
		t.Error("two users share a folder")
	}
	if !IDValid(NewID()) || IDValid("../x") || IDValid("") {
		t.Error("IDValid")
	}
}
