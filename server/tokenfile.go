package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/simjobs/simjobs/engine"
)

// Editing a tokens file (simjobs token add|list|remove). A running server
// notices the change (file watch or SIGHUP) and reloads it. Every edit
// writes a new file beside the old and renames it over, so a server
// reading at the same moment sees the old file or the new, never half.

// TokenInfo is one line of a tokens file, without its hash.
type TokenInfo struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckTokenName says what is wrong with a name for a new token, if
// anything: it becomes the user name jobs are owned by.
func CheckTokenName(name string) error {
	if !tokenName.MatchString(name) {
		return fmt.Errorf("token name %q: use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	if name == engine.SystemActor {
		return fmt.Errorf("token name %q is reserved for the server itself", name)
	}
	return nil
}

// AddToken creates a random token for name with role, appends its line to
// the tokens file at path (created, mode 0600, if missing) and returns the
// token: the file keeps only its SHA-256, so this is the one time it is
// seen. A name already in the file is an error (remove it first).
func AddToken(path, name, role string) (string, error) {
	if err := CheckTokenName(name); err != nil {
		return "", err
	}
	if role != RoleUser && role != RoleAdmin {
		return "", fmt.Errorf("role must be user or admin, got %q", role)
	}
	old, mode, err := readTokenFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	for _, t := range tokenLines(old) {
		if t.Name == name {
			return "", fmt.Errorf("%s already has a token in %s: remove it first (simjobs token remove %s)", name, path, name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("tokens file: %w", err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := "sj_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	out := bytes.Clone(old)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = fmt.Appendf(out, "%s:%s:%s\n", name, role, hex.EncodeToString(sum[:]))
	if err := writeTokenFile(path, out, mode); err != nil {
		return "", err
	}
	return token, nil
}

// RemoveToken deletes every line of name from the tokens file; comments
// and other lines stay as they are. A name not in the file is an error.
func RemoveToken(path, name string) error {
	old, mode, err := readTokenFile(path)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	found := false
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		line := sc.Text()
		if n, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(strings.TrimSpace(line), "#") && strings.TrimSpace(n) == name {
			found = true
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("tokens file %s: %w", path, err)
	}
	if !found {
		return fmt.Errorf("no token named %q in %s", name, path)
	}
	return writeTokenFile(path, out.Bytes(), mode)
}

// ListTokens returns the names and roles of the tokens file, in its order.
func ListTokens(path string) ([]TokenInfo, error) {
	b, _, err := readTokenFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := parseTokens(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tokenLines(b), nil
}

// tokenLines reads the name and role of every token line, skipping what
// is not one.
func tokenLines(b []byte) []TokenInfo {
	var out []TokenInfo
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 && len(parts) != 4 { // the fourth: an e-mail address
			continue
		}
		out = append(out, TokenInfo{Name: strings.TrimSpace(parts[0]), Role: strings.TrimSpace(parts[1])})
	}
	return out
}

func readTokenFile(path string) ([]byte, fs.FileMode, error) {
	if path == "" {
		return nil, 0, errors.New("no tokens file: give --tokens-file or set SIMJOBS_TOKENS_FILE")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0o600, fmt.Errorf("tokens file: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("tokens file: %w", err)
	}
	return b, fi.Mode().Perm(), nil
}

// writeTokenFile replaces path with b atomically, keeping its mode.
func writeTokenFile(path string, b []byte, mode fs.FileMode) error {
	if mode == 0 {
		mode = 0o600
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("tokens file: %w", err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("tokens file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("tokens file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	return nil
}
