package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "tokens")
	runTok := func(env map[string]string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"token"}, args...), envOf(env), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, tok, _ := runTok(nil, "add", "alice", "--role", "admin", "--tokens-file", file)
	if code != 0 || !strings.HasPrefix(tok, "sj_") {
		t.Fatalf("add: %d %q", code, tok)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file %v %v, want mode 0600", fi, err)
	}
	// The file is found through SIMJOBS_TOKENS_FILE too.
	env := map[string]string{"SIMJOBS_TOKENS_FILE": file}
	if code, _, errs := runTok(env, "add", "bob"); code != 0 {
		t.Fatalf("add bob: %d %s", code, errs)
	}
	code, list, _ := runTok(env, "list")
	if code != 0 || !strings.Contains(list, "alice  admin") || !strings.Contains(list, "bob    user") {
		t.Errorf("list: %d\n%s", code, list)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage"},
		{[]string{"add", "alice"}, 1, "already has a token"},
		{[]string{"add", "bad name!"}, 1, "token name"},
		{[]string{"add", "system"}, 1, "reserved"},
		{[]string{"add", "carol", "--role", "root"}, 1, "role"},
		{[]string{"add"}, 1, "needs a NAME"},
		{[]string{"remove", "nobody"}, 1, "no token named"},
		{[]string{"frob"}, 1, "unknown subcommand"},
	} {
		code, _, errs := runTok(env, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("token %v: exit %d, %q; want exit %d mentioning %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	if code, _, errs := runTok(nil, "list", "--env-file", filepath.Join(dir, "none.env")); code != 1 || !strings.Contains(errs, "env file") {
		t.Errorf("list with a missing explicit env file: %d %s", code, errs)
	}
	if code, _, _ := runTok(env, "remove", "alice"); code != 0 {
		t.Errorf("remove: %d", code)
	}
	if _, list, _ := runTok(env, "list"); strings.Contains(list, "alice") {
		t.Errorf("alice still listed:\n%s", list)
	}
}
