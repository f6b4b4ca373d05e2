package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"
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
// tokens file.
type TokenAuth struct {
	entries []tokenEntry
}

type tokenEntry struct {
	name, role string
	sum        [sha256.Size]byte
	email      string // optional fourth field: where the user's mail goes
}

// LoadTokens reads a tokens file: one "name:role:sha256-hex-of-token[:email]" per
// line; blank lines and lines starting with # are skipped.
func LoadTokens(path string) (*TokenAuth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	defer f.Close()
	return ParseTokens(f)
}

// ParseTokens reads the tokens file format (see LoadTokens).
func ParseTokens(r io.Reader) (*TokenAuth, error) {
	a := &TokenAuth{}
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
		a.entries = append(a.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	if len(a.entries) == 0 {
		return nil, fmt.Errorf("tokens file has no tokens")
	}
	return a, nil
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
	for _, e := range a.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			found, ok = Identity{Name: e.name, Role: e.role}, true
		}
	}
	return found, ok
}

// Email is a user's address from the tokens file's fourth field ("" when
// none is given).
func (a *TokenAuth) Email(user string) string {
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
	if user == "" || len(user) > 64 || strings.ContainsAny(user, "\r\n\t") {
		return Identity{}, false
	}
	role := RoleUser
	if strings.EqualFold(c.Get("X-Remote-Role"), RoleAdmin) {
		role = RoleAdmin
	}
	return Identity{Name: user, Role: role}, true
}
