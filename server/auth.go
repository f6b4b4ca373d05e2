package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
)

// Roles a user can hold.
const (
	RoleAdmin = "admin"
	RoleUser  = "user"
)

// Identity is who makes a request.
type Identity struct {
	Name string
	Role string
	// token is the digest of the token that proved the identity (token
	// auth), zero otherwise: what Revocable.Valid checks again.
	token [sha256.Size]byte
}

// Admin reports whether the identity may change limits, drain the server
// and act on anyone's jobs.
func (id Identity) Admin() bool { return id.Role == RoleAdmin }

// Authenticator finds who makes a request. It returns ok false when the
// request carries no acceptable credentials.
type Authenticator interface {
	Mode() string
	Authenticate(c *fiber.Ctx) (Identity, bool)
}

// NoAuth trusts everyone as an admin: the server then listens on loopback
// only (cmd/simjobs refuses otherwise without --insecure).
type NoAuth struct {
	// User is the name reported for requests (the server's OS user).
	User string
}

// Mode implements Authenticator.
func (NoAuth) Mode() string { return "none" }

// Authenticate implements Authenticator.
func (a NoAuth) Authenticate(*fiber.Ctx) (Identity, bool) {
	return Identity{Name: a.User, Role: RoleAdmin}, true
}

// TokenAuth accepts "Authorization: Bearer <token>" for the tokens of a
// tokens file. The tokens can be replaced while the server runs (Reload):
// a token that is gone stops working at once, for new requests, browser
// sessions started with it and open WebSockets (see Revocable).
type TokenAuth struct {
	path string // the file LoadTokens read, "" for ParseTokens

	mu       sync.RWMutex
	entries  []tokenEntry
	onChange []func()
}

type tokenEntry struct {
	name, role string
	sum        [sha256.Size]byte
	email      string // optional fourth field: where the user's mail goes
}

// Revocable is an Authenticator whose credentials can be withdrawn while
// the server runs. Valid reports whether an identity it authenticated
// earlier still holds; OnChange registers a function called after every
// change of the credentials, which then re-checks what it holds.
type Revocable interface {
	Valid(Identity) bool
	OnChange(func())
}

var _ Revocable = (*TokenAuth)(nil)

// LoadTokens reads a tokens file: one "name:role:sha256-hex-of-token[:email]" per
// line; blank lines and lines starting with # are skipped.
func LoadTokens(path string) (*TokenAuth, error) {
	entries, err := readTokens(path)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: %w", path, errNoTokens)
	}
	return &TokenAuth{path: path, entries: entries}, nil
}

func readTokens(path string) ([]tokenEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	defer f.Close()
	return parseTokens(f)
}

// ParseTokens reads the tokens file format (see LoadTokens).
func ParseTokens(r io.Reader) (*TokenAuth, error) {
	entries, err := parseTokens(r)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errNoTokens
	}
	return &TokenAuth{entries: entries}, nil
}

func parseTokens(r io.Reader) ([]tokenEntry, error) {
	var entries []tokenEntry
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 && len(parts) != 4 {
			return nil, fmt.Errorf("tokens file line %d: want name:role:sha256-of-token[:email]", n)
		}
		name, role, sum := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), strings.TrimSpace(parts[2])
		if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("tokens file line %d: bad name %q", n, name)
		}
		if name == engine.SystemActor {
			return nil, fmt.Errorf("tokens file line %d: the name %q is reserved for the server itself", n, name)
		}
		if role != RoleAdmin && role != RoleUser {
			return nil, fmt.Errorf("tokens file line %d: role must be admin or user, got %q", n, role)
		}
		raw, err := hex.DecodeString(strings.ToLower(sum))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("tokens file line %d: the third field must be the 64 hex digits of the token's SHA-256", n)
		}
		e := tokenEntry{name: name, role: role}
		if len(parts) == 4 {
			e.email = strings.TrimSpace(parts[3])
			if e.email != "" && (!strings.Contains(e.email, "@") || strings.ContainsAny(e.email, " \t<>,;\"")) {
				return nil, fmt.Errorf("tokens file line %d: the fourth field must be an e-mail address, got %q", n, e.email)
			}
		}
		copy(e.sum[:], raw)
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	return entries, nil
}

var errNoTokens = errors.New("tokens file has no tokens")

// Reload reads the tokens file again and puts its tokens in force; a file
// left with no tokens (the last one removed) lets nobody in. A file that
// cannot be read or parsed changes nothing: the server keeps the tokens it
// has, and the error says why.
func (a *TokenAuth) Reload() error {
	if a.path == "" {
		return errors.New("tokens were not read from a file")
	}
	entries, err := readTokens(a.path)
	if err != nil {
		return err
	}
	a.replace(entries)
	return nil
}

// Replace puts the tokens of b in force in place of a's own.
func (a *TokenAuth) Replace(b *TokenAuth) {
	b.mu.RLock()
	entries := append([]tokenEntry(nil), b.entries...)
	b.mu.RUnlock()
	a.replace(entries)
}

func (a *TokenAuth) replace(entries []tokenEntry) {
	a.mu.Lock()
	a.entries = entries
	fns := append([]func(){}, a.onChange...)
	a.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// Path is the tokens file, "" when the tokens were not read from one.
func (a *TokenAuth) Path() string { return a.path }

// OnChange implements Revocable.
func (a *TokenAuth) OnChange(f func()) {
	a.mu.Lock()
	a.onChange = append(a.onChange, f)
	a.mu.Unlock()
}

// Valid implements Revocable: the token that proved who is still in force,
// under the same name and role.
func (a *TokenAuth) Valid(who Identity) bool {
	if who.token == ([sha256.Size]byte{}) {
		return false
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, e := range a.entries {
		if e.sum == who.token {
			return e.name == who.Name && e.role == who.Role
		}
	}
	return false
}

// Mode implements Authenticator.
func (*TokenAuth) Mode() string { return "token" }

// Authenticate implements Authenticator.
func (a *TokenAuth) Authenticate(c *fiber.Ctx) (Identity, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return Identity{}, false
	}
	return a.Lookup(tok)
}

// Lookup finds the identity of a token. Every entry is compared in constant
// time so the timing says nothing about which token nearly matched.
func (a *TokenAuth) Lookup(token string) (Identity, bool) {
	sum := sha256.Sum256([]byte(token))
	var found Identity
	ok := false
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, e := range a.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			found, ok = Identity{Name: e.name, Role: e.role, token: e.sum}, true
		}
	}
	return found, ok
}

// Email is a user's address from the tokens file's fourth field ("" when
// none is given).
func (a *TokenAuth) Email(user string) string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, e := range a.entries {
		if e.name == user && e.email != "" {
			return e.email
		}
	}
	return ""
}

// ProxyAuth trusts a reverse proxy on this host that authenticated the user
// and says who it is in X-Remote-User (and optionally X-Remote-Role). The
// headers are honoured from loopback peers only.
type ProxyAuth struct{}

// Mode implements Authenticator.
func (ProxyAuth) Mode() string { return "proxy" }

// Authenticate implements Authenticator.
func (ProxyAuth) Authenticate(c *fiber.Ctx) (Identity, bool) {
	ip := net.ParseIP(c.Context().RemoteIP().String())
	if ip == nil || !ip.IsLoopback() {
		return Identity{}, false
	}
	user := strings.TrimSpace(c.Get("X-Remote-User"))
	if user == "" || len(user) > 64 || strings.ContainsAny(user, "\r\n\t") || user == engine.SystemActor {
		return Identity{}, false
	}
	role := RoleUser
	if strings.EqualFold(c.Get("X-Remote-Role"), RoleAdmin) {
		role = RoleAdmin
	}
	return Identity{Name: user, Role: role}, true
}
