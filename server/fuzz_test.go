package server_test

import (
	"strings"
	"testing"

	"github.com/simjobs/simjobs/server"
)

// The tokens file is read at start-up and on every change: whatever it
// holds, parsing returns tokens or an error, never a panic, and a token
// that parses is one its line's hash names.
func FuzzParseTokens(f *testing.F) {
	f.Add("alice:user:" + sha("s") + "\n# c\n\nroot:admin:" + sha("r") + "\n")
	f.Add("a:b:c")
	f.Add("system:admin:" + sha("x"))
	f.Add(strings.Repeat(":", 100))
	f.Fuzz(func(t *testing.T, in string) {
		auth, err := server.ParseTokens(strings.NewReader(in))
		if err != nil {
			return
		}
		if _, ok := auth.Lookup("not the token of any line, surely"); ok && !strings.Contains(in, sha("not the token of any line, surely")) {
			t.Fatal("an unknown token was accepted")
		}
	})
}

// Rates come from flags and the environment.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"50/s", "600/m", "1/h", "off", "", "1e308/s", "NaN/s", "-1/s", "0.0001/h", "5/ s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := server.ParseRate(in)
		if err == nil && (r < 0 || r != r || r > 1e6) {
			t.Fatalf("ParseRate(%q) = %v", in, r)
		}
	})
}
