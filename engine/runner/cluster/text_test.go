package cluster

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLinesDigitsShorten(t *testing.T) {
	if got, want := Lines([]byte("a b \r\n\n  \t\n\tc\t\r\n")), []string{"a b", "\tc"}; !cmp.Equal(got, want) {
		t.Errorf("Lines = %q, want %q", got, want)
	}
	for s, want := range map[string]bool{"": false, "0": true, "12345": true, "12a": false, "-1": false, "１": false} {
		if Digits(s) != want {
			t.Errorf("Digits(%q) = %v", s, !want)
		}
	}
	if got := Shorten(strings.Repeat("x", 200)); len(got) != 123 || !strings.HasSuffix(got, "...") {
		t.Errorf("Shorten gave %d bytes: %q", len(got), got)
	}
	if got := Shorten("short"); got != "short" {
		t.Errorf("Shorten(short) = %q", got)
	}
}
