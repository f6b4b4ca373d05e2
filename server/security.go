package server

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The headers every response carries (SPEC section 6). The policy lives
// here and only here: a page that needs more (a worker, blob: URLs) adds
// its source to one directive below.
//
// The dashboard is built for it: no inline script, event handler or style
// attribute in the pages, htmx told not to inject its indicator style nor
// to evaluate code (the htmx-config meta of frontend/layout.templ), and the
// live feed on the page's own origin ('self' covers ws: and wss: there).
var cspDirectives = []string{
	"default-src 'self'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self'",
	"font-src 'self'",
	"connect-src 'self'",
	"object-src 'none'",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
}

// ContentSecurityPolicy is the Content-Security-Policy header's value.
var ContentSecurityPolicy = strings.Join(cspDirectives, "; ")

// hstsMaxAge is what Strict-Transport-Security says under TLS: a year.
const hstsMaxAge = "max-age=31536000"

// headers sets the security headers, answers CORS for the configured
// origins, and makes the stream registry reachable by handlers. It runs
// before anything else, so errors, 404s and assets carry the headers too.
func (s *Server) headers(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if c.Context().IsTLS() {
		h.Set("Strict-Transport-Security", hstsMaxAge)
	}
	c.Locals(streamsKey{}, s.streams)
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && s.corsAllowed(origin) {
		h.Set(fiber.HeaderAccessControlAllowOrigin, origin)
		h.Add(fiber.HeaderVary, fiber.HeaderOrigin)
		h.Set(fiber.HeaderAccessControlExposeHeaders, "X-Total-Count, X-Log-Size, X-Log-Offset, Retry-After")
		if c.Method() == fiber.MethodOptions && c.Get(fiber.HeaderAccessControlRequestMethod) != "" {
			// A preflight: credentials travel as a Bearer token, never as
			// cookies (no Allow-Credentials), so another site's page can act
			// only with a token its user gave it.
			h.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, PUT, DELETE")
			h.Set(fiber.HeaderAccessControlAllowHeaders, "Authorization, Content-Type")
			h.Set(fiber.HeaderAccessControlMaxAge, "600")
			return c.SendStatus(fiber.StatusNoContent)
		}
	}
	return c.Next()
}

// corsAllowed reports whether origin is one of --cors-origins.
func (s *Server) corsAllowed(origin string) bool {
	for _, o := range s.opts.Network.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// CheckOrigins validates --cors-origins: each must be scheme://host[:port]
// (or *), which is what browsers send in Origin.
func CheckOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return &originError{o}
		}
	}
	return nil
}

type originError struct{ origin string }

func (e *originError) Error() string {
	return "--cors-origins: " + e.origin + " is not an origin: want scheme://host[:port], e.g. https://notebooks.example.com"
}
