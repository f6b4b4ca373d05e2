package server

import (
	"strings"
	"testing"
)

func TestTokensFileEmailField(t *testing.T) {
	t.Parallel()
	sum := strings.Repeat("ab", 32)
	a, err := ParseTokens(strings.NewReader("alice:user:" + sum + ":alice@example.com\nbob:admin:" + sum + "\ncarol:user:" + sum + ":\n"))
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"alice": "alice@example.com", "bob": "", "carol": "", "nobody": ""} {
		if got := a.Email(user); got != want {
			t.Errorf("Email(%s) = %q, want %q", user, got, want)
		}
	}
	for _, bad := range []string{"alice:user:" + sum + ":not-an-address", "alice:user:" + sum + ":a@b:c", "alice:user:" + sum + ":<a@b.c>"} {
		if _, err := ParseTokens(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
