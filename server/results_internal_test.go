package server

import "testing"

// A report a solver wrote is never served as a page of this site.
func TestResultType(t *testing.T) {
	for name, want := range map[string]string{
		"r/board.s2p": "text/plain; charset=utf-8", "r/B.S12P": "text/plain; charset=utf-8", "S.csv": "text/plain; charset=utf-8",
		"plot.png": "image/png", "report.html": "application/octet-stream", "x.svg": "application/octet-stream",
		"x.xml": "application/octet-stream", "x.xhtml": "application/octet-stream", "noext": "application/octet-stream",
		"x.js": "application/octet-stream",
	} {
		if got := resultType(name); got != want {
			t.Errorf("resultType(%q) = %q, want %q", name, got, want)
		}
	}
}
