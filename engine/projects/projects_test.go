package projects

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiscover(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	files := []string{
		"a.aedt", "a.aedb/edb.def", // pair: the .aedt once
		"b.aedb/edb.def",           // folder alone
		"C.AEDT",                   // any case
		"d.aedb",                   // a file .aedb alone
		"e.aedt", "e.AEDB/edb.def", // pair across case
		"notes.txt",
		"sub/f.aedt", "sub/g.aedb/edb.def", "sub/g.aedb/inner.aedt", // nothing inside an .aedb counts
		".hidden/h.aedt",
	}
	for _, f := range files {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(root, n))
		}
		return out
	}
	cases := []struct {
		recursive bool
		want      []string
	}{
		{false, abs("C.AEDT", "a.aedt", "b.aedb", "d.aedb", "e.aedt")},
		{true, abs("C.AEDT", "a.aedt", "b.aedb", "d.aedb", "e.aedt", "sub/f.aedt", "sub/g.aedb")},
	}
	for _, tc := range cases {
		got, err := Discover(root, tc.recursive)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("recursive=%v (-want +got):\n%s", tc.recursive, diff)
		}
	}
	if _, err := Discover(filepath.Join(root, "a.aedt"), false); err == nil {
		t.Error("a file is not a folder to discover in")
	}
	if _, err := Discover(filepath.Join(root, "missing"), false); err == nil {
		t.Error("a missing folder is an error")
	}
}
