package dashboard_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The project picker goes up, closes, and says how big each project is.
func TestPickerUpCloseSizes(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	dir := filepath.Dir(h.project)
	aedb := filepath.Join(dir, "big.aedb")
	if err := os.MkdirAll(filepath.Join(aedb, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"edb.def", filepath.Join("sub", "stackup.xml")} {
		if err := os.WriteFile(filepath.Join(aedb, f), make([]byte, 1500), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := h.get("/ui/submit/browse?target=project_path&dir=" + url.QueryEscape(dir))
	mustStatus(t, a, 200)
	for _, w := range []string{`id="picker-up-project_path"`, `id="picker-close-project_path"`,
		`hx-get="/ui/submit/browse?close=1&amp;target=project_path"`, ">board.aedt</button> <span class=\"muted size\">1 B</span>",
		">big.aedb</button> <span class=\"muted size\">3.0 kB</span>"} {
		if !strings.Contains(a.body, w) {
			t.Errorf("the picker lacks %q: %s", w, a.body)
		}
	}
	up := between(a.body, `id="picker-up-project_path"`, ">")
	if !strings.Contains(up, url.QueryEscape(filepath.Dir(dir))) {
		t.Errorf("up does not go to the parent folder: %s", up)
	}
	c := h.get("/ui/submit/browse?close=1&target=project_path")
	mustStatus(t, c, 200)
	if !strings.Contains(c.body, "Browse the server…") || strings.Contains(c.body, "<ul>") {
		t.Errorf("close does not fold the picker: %s", c.body)
	}
}
