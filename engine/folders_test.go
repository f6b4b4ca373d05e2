package engine

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// spareFolderPool is a pool over a fresh data dir, filled (without its
// goroutine: the tests drive fill and adopt themselves).
func spareFolderPool(t *testing.T) (*folders, string) {
	t.Helper()
	dataDir := t.TempDir()
	f := newFolders(dataDir, slog.New(slog.DiscardHandler))
	f.adopt()
	f.fill()
	if len(f.ready) != spareFolders {
		t.Fatalf("%d spares made, want %d", len(f.ready), spareFolders)
	}
	return f, dataDir
}

// writeTree writes files (paths relative to root, slash-separated) with
// their content.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		err := os.MkdirAll(filepath.Dir(path), 0o755)
		if err == nil {
			err = os.WriteFile(path, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readTree is every file under root with its content.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestFoldersClaim: a claim puts a spare in place as the attempt's folder,
// with its two logs empty, and never over an attempt's logs.
func TestFoldersClaim(t *testing.T) {
	cases := []struct {
		name    string
		attempt int
		before  map[string]string // files under jobs/j1 before the claim
		claimed bool
		after   map[string]string // files under jobs/j1 after it
	}{
		{name: "first attempt", attempt: 1, claimed: true,
			after: map[string]string{"1/stdout.log": "", "1/stderr.log": ""}},
		{name: "a later attempt beside the first", attempt: 2, claimed: true,
			before: map[string]string{"1/stdout.log": "first"},
			after:  map[string]string{"1/stdout.log": "first", "2/stdout.log": "", "2/stderr.log": ""}},
		{name: "the first attempt again, its logs there", attempt: 1, claimed: false,
			before: map[string]string{"1/stdout.log": "kept"},
			after:  map[string]string{"1/stdout.log": "kept"}},
		{name: "an empty job folder is taken", attempt: 1, claimed: true,
			before: map[string]string{},
			after:  map[string]string{"1/stdout.log": "", "1/stderr.log": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, dataDir := spareFolderPool(t)
			job := filepath.Join(dataDir, "jobs", "j1")
			if c.before != nil {
				if err := os.MkdirAll(job, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeTree(t, job, c.before)
			if got := f.claim(filepath.Join(job, strconv.Itoa(c.attempt))); got != c.claimed {
				t.Fatalf("claim = %v, want %v", got, c.claimed)
			}
			if diff := cmp.Diff(c.after, readTree(t, job)); diff != "" {
				t.Errorf("the job's folder (-want +got):\n%s", diff)
			}
			// A claimed spare leaves the pool; one not placed stays in it,
			// whole.
			want := spareFolders
			if c.claimed {
				want--
			}
			if len(f.ready) != want {
				t.Errorf("%d spares ready, want %d", len(f.ready), want)
			}
			left, _ := os.ReadDir(f.dir)
			if len(left) != want {
				t.Errorf("%d folders under .spare, want %d", len(left), want)
			}
		})
	}
}

// TestFoldersClaimFromAnEmptyPool: no spare, no claim; a spare that went
// missing (its folder removed by hand) is dropped, not handed out again.
func TestFoldersClaimFromAnEmptyPool(t *testing.T) {
	f := newFolders(t.TempDir(), slog.New(slog.DiscardHandler))
	if f.claim(filepath.Join(f.jobs, "j1", "1")) {
		t.Fatal("claimed from an empty pool")
	}
	f.ready <- filepath.Join(f.dir, "gone")
	if f.claim(filepath.Join(f.jobs, "j1", "1")) || len(f.ready) != 0 {
		t.Errorf("a missing spare was claimed or kept (%d ready)", len(f.ready))
	}
}

// TestFoldersAdopt: a server takes the whole spares the last one left and
// removes the rest (half made, written to, or anything else).
func TestFoldersAdopt(t *testing.T) {
	dataDir := t.TempDir()
	spare := filepath.Join(dataDir, ".spare")
	if err := makeSpare(filepath.Join(spare, "whole")); err != nil {
		t.Fatal(err)
	}
	if err := makeSpare(filepath.Join(spare, "written")); err != nil {
		t.Fatal(err)
	}
	if err := makeSpare(filepath.Join(spare, "extra")); err != nil {
		t.Fatal(err)
	}
	writeTree(t, spare, map[string]string{"written/1/" + stdoutLog: "x", "extra/1/more.log": "", "stray": "", "half/1/" + stdoutLog: ""})

	f := newFolders(dataDir, slog.New(slog.DiscardHandler))
	f.adopt()
	if len(f.ready) != 1 {
		t.Fatalf("%d spares adopted, want 1", len(f.ready))
	}
	if got := <-f.ready; got != filepath.Join(spare, "whole") {
		t.Errorf("adopted %s", got)
	}
	left, _ := os.ReadDir(spare)
	if len(left) != 1 || left[0].Name() != "whole" {
		t.Errorf("left under .spare: %v", left)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "jobs")); err != nil || !fi.IsDir() {
		t.Errorf("the jobs folder was not made: %v", err)
	}
}

// TestFoldersClaimWhileFilling runs claims against the refill (for -race):
// every job gets its folder, from the pool or made as a start without one
// makes it.
func TestFoldersClaimWhileFilling(t *testing.T) {
	dataDir := t.TempDir()
	f := newFolders(dataDir, slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	f.start(&wg)
	var claims sync.WaitGroup
	for w := range 4 {
		claims.Go(func() {
			for i := range 25 {
				id := "j" + string(rune('a'+w)) + string(rune('a'+i))
				claimed := f.claim(filepath.Join(dataDir, "jobs", id, "1"))
				f.refill()
				if !claimed {
					if err := os.MkdirAll(filepath.Join(dataDir, "jobs", id, "1"), 0o755); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	claims.Wait()
	f.shutdown()
	wg.Wait()
	jobs, _ := os.ReadDir(filepath.Join(dataDir, "jobs"))
	if len(jobs) != 100 {
		t.Errorf("%d job folders, want 100", len(jobs))
	}
	for _, j := range jobs {
		if _, err := os.Stat(filepath.Join(dataDir, "jobs", j.Name(), "1")); err != nil {
			t.Errorf("job %s: %v", j.Name(), err)
		}
	}
}
