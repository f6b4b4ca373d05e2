package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Browser sessions (SPEC section 6). A browser logs in once with its token
// and then holds an HttpOnly, SameSite=Strict session cookie; API clients
// keep sending Bearer tokens. Every state-changing browser request carries a
// CSRF token in the X-CSRF-Token header or the _csrf form field.
//
// Sessions live in memory, not in signed cookies: logging out really ends a
// session, a removed token cannot live on in a cookie signed earlier, and no
// signing key has to be kept on disk. The price is that a server restart
// signs browsers out; they log in again with the same token.
//
// Without token authentication (auth none, or a proxy that authenticates
// every request) there is no session, and the CSRF token is a random value
// in its own HttpOnly SameSite=Strict cookie that the pages repeat in their
// forms and headers (double submit): another site can neither read it nor
// make the browser send it.

// Cookie, header and form names of browser sessions.
const (
	SessionCookie = "simjobs_session"
	CSRFCookie    = "simjobs_csrf"
	CSRFHeader    = "X-CSRF-Token"
	CSRFField     = "_csrf"
)

// DefaultSessionTTL is how long a browser stays logged in.
const DefaultSessionTTL = 7 * 24 * time.Hour

// maxSessions bounds memory: past it the oldest session is dropped.
const maxSessions = 10000

// ErrBadToken: the token given at login is not one of the tokens file.
var ErrBadToken = errors.New("unknown token")

// ErrNoLogin: the server's authentication has no login (none, proxy).
var ErrNoLogin = errors.New("this server's authentication has no login")

// TokenLookup is an Authenticator that can tell whose a token is
// (TokenAuth): the login page needs it.
type TokenLookup interface {
	Lookup(token string) (Identity, bool)
}

// Sessions holds the logged-in browsers. It is safe for concurrent use.
type Sessions struct {
	auth Authenticator
	ttl  time.Duration
	now  func() time.Time

	mu sync.Mutex
	m  map[[sha256.Size]byte]*session // by the digest of the cookie value
}

type session struct {
	who     Identity
	csrf    string
	expires time.Time
}

// NewSessions returns the session store for auth; ttl <= 0 means
// DefaultSessionTTL.
func NewSessions(auth Authenticator, ttl time.Duration) *Sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	s := &Sessions{auth: auth, ttl: ttl, now: time.Now, m: make(map[[sha256.Size]byte]*session)}
	if r, ok := auth.(Revocable); ok {
		// A token removed from the tokens file ends the sessions it
		// started; lookup checks too, this frees their memory.
		r.OnChange(s.revalidate)
	}
	return s
}

// revalidate drops the sessions whose token is no longer in force.
func (s *Sessions) revalidate() {
	r, ok := s.auth.(Revocable)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if !r.Valid(v.who) {
			delete(s.m, k)
		}
	}
}

// LoginNeeded reports whether browsers must log in: only token
// authentication has a login.
func (s *Sessions) LoginNeeded() bool {
	_, ok := s.auth.(TokenLookup)
	return ok
}

// Login checks token and, when it is valid, starts a session: the reply
// sets the session cookie.
func (s *Sessions) Login(c *fiber.Ctx, token string) (Identity, error) {
	tl, ok := s.auth.(TokenLookup)
	if !ok {
		return Identity{}, ErrNoLogin
	}
	who, ok := tl.Lookup(token)
	if !ok {
		return Identity{}, ErrBadToken
	}
	id := randomToken()
	now := s.now()
	sess := &session{who: who, csrf: randomToken(), expires: now.Add(s.ttl)}
	s.mu.Lock()
	s.purge(now)
	s.m[sha256.Sum256([]byte(id))] = sess
	s.mu.Unlock()
	setCookie(c, SessionCookie, id, sess.expires)
	return who, nil
}

// Logout ends the caller's session, if any, and clears the cookie.
func (s *Sessions) Logout(c *fiber.Ctx) {
	if v := c.Cookies(SessionCookie); v != "" {
		s.mu.Lock()
		delete(s.m, sha256.Sum256([]byte(v)))
		s.mu.Unlock()
	}
	setCookie(c, SessionCookie, "", time.Unix(0, 0))
}

// Len is the number of live sessions.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// lookup finds the session of the request's cookie.
func (s *Sessions) lookup(c *fiber.Ctx) (session, bool) {
	v := c.Cookies(SessionCookie)
	if v == "" {
		return session{}, false
	}
	key := sha256.Sum256([]byte(v))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.m, key)
		return session{}, false
	}
	if r, ok := s.auth.(Revocable); ok && !r.Valid(sess.who) {
		delete(s.m, key)
		return session{}, false
	}
	return *sess, true
}

// purge drops expired sessions, and the oldest ones past maxSessions.
// s.mu is held.
func (s *Sessions) purge(now time.Time) {
	var oldestKey [sha256.Size]byte
	var oldest time.Time
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
			continue
		}
		if oldest.IsZero() || v.expires.Before(oldest) {
			oldest, oldestKey = v.expires, k
		}
	}
	if len(s.m) >= maxSessions {
		delete(s.m, oldestKey)
	}
}

func setCookie(c *fiber.Ctx, name, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https",
	})
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

type csrfKey struct{}

// CSRFToken is the token a page puts in its forms (the _csrf field) and
// its htmx headers (X-CSRF-Token). With a session it is the session's; else
// it is the CSRF cookie's, which it sets when the browser has none yet.
func CSRFToken(c *fiber.Ctx) string {
	if t, ok := c.Locals(csrfKey{}).(string); ok && t != "" {
		return t
	}
	t := c.Cookies(CSRFCookie)
	if len(t) < 32 {
		t = randomToken()
		setCookie(c, CSRFCookie, t, time.Now().Add(365*24*time.Hour))
	}
	c.Locals(csrfKey{}, t)
	return t
}

// CheckCSRF verifies the CSRF token of a state-changing browser request:
// the X-CSRF-Token header or the _csrf form field must equal the session's
// token, or without a session the CSRF cookie. It also refuses requests
// that the browser marks as coming from another site.
func CheckCSRF(c *fiber.Ctx) error {
	if !sameOrigin(c) {
		return apiError(fiber.StatusForbidden, "cross-site request refused")
	}
	want, _ := c.Locals(csrfKey{}).(string)
	if want == "" {
		want = c.Cookies(CSRFCookie)
	}
	got := c.Get(CSRFHeader)
	if got == "" {
		got = c.FormValue(CSRFField)
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return apiError(fiber.StatusForbidden, "missing or wrong CSRF token: reload the page")
	}
	return nil
}

// sameOrigin reports whether a request may come from this site's own
// pages: browsers say where a request comes from in Sec-Fetch-Site, older
// ones in Origin. Requests with neither (curl, scripts) pass: they carry no
// ambient cookie of a victim.
func sameOrigin(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == c.Hostname()
}

// SameOrigin is sameOrigin for the dashboard's WebSocket upgrade and login.
func SameOrigin(c *fiber.Ctx) bool { return sameOrigin(c) }

// unsafeMethod reports whether a method may change state.
func unsafeMethod(m string) bool {
	switch m {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return false
	}
	return true
}

// Caller is who makes a request and whether they are authenticated, for
// the dashboard's handlers.
func Caller(c *fiber.Ctx) (Identity, bool) { return identity(c), authenticated(c) }
