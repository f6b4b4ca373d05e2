package results

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// folder lays out a job folder: a project older than the run, results
// written during it, a file written after it, and links pointing out of
// the folder and at the old project.
func folder(t *testing.T) Set {
	t.Helper()
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.txt")
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	end := start.Add(10 * time.Minute)
	write := func(rel, body string, mod time.Time) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	write("board.aedt", "old project", start.Add(-time.Hour))
	write("board.aedtresults/board.s2p", "# GHz S MA\n1 0 0 0 0 0 0 0 0\n", start.Add(time.Minute))
	write("board.aedtresults/report.csv", "f,s\n", start.Add(2*time.Minute))
	write("board.aedt.batchinfo/solve.log", "log", end)
	write("later.txt", "another job", end.Add(time.Hour))
	if err := os.WriteFile(outside, []byte("not yours"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(outside, start.Add(time.Minute), start.Add(time.Minute))
	if err := os.Symlink(outside, filepath.Join(dir, "board.aedtresults", "escape.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "outdir")); err != nil {
		t.Fatal(err)
	}
	return Set{Root: dir, From: start, To: end}
}

func TestList(t *testing.T) {
	s := folder(t)
	files, truncated, err := List(context.Background(), s)
	if err != nil || truncated {
		t.Fatal(err, truncated)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	want := []string{"board.aedt.batchinfo/solve.log", "board.aedtresults/board.s2p", "board.aedtresults/report.csv"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("listing (-want +got):\n%s", diff)
	}
	if files[2].Size != 4 {
		t.Errorf("size %d", files[2].Size)
	}
	// While the job runs, everything since the start counts.
	running := s
	running.To = time.Time{}
	files, _, _ = List(context.Background(), running)
	if len(files) != 4 {
		t.Errorf("running: %d files, want 4 (later.txt included)", len(files))
	}
	none, _, err := List(context.Background(), Set{Root: filepath.Join(s.Root, "gone"), From: s.From})
	if err != nil || len(none) != 0 {
		t.Errorf("missing folder: %v %v", none, err)
	}
}

func TestOpenConfined(t *testing.T) {
	s := folder(t)
	f, info, err := Open(s, "board.aedtresults/report.csv")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "f,s\n" || info.Size != 4 {
		t.Fatalf("read %q %+v", b, info)
	}
	for _, rel := range []string{
		"", "..", "../x", "board.aedtresults/../../etc/passwd", "/etc/passwd", "board.aedtresults//board.s2p",
		"./board.aedtresults/board.s2p", `board.aedtresults\board.s2p`, "board.aedtresults/escape.txt",
		"outdir/secret.txt", "board.aedt", "later.txt", "board.aedtresults", "nul\x00", "missing.s2p",
	} {
		if f, _, err := Open(s, rel); !errors.Is(err, ErrNotFound) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrNotFound", rel, err)
		}
	}
}

func TestWriteZip(t *testing.T) {
	s := folder(t)
	files, _, _ := List(context.Background(), s)
	var buf bytes.Buffer
	if err := WriteZip(context.Background(), &buf, s, files); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		r.Close()
		got[f.Name] = string(b)
	}
	if len(got) != 3 || got["board.aedtresults/report.csv"] != "f,s\n" {
		t.Fatalf("zip holds %v", got)
	}
}
