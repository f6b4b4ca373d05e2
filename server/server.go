// Package server is the HTTP face of simjobs: the PyEDB-compatible REST API,
// the WebSocket event stream, metrics and the OpenAPI document. It turns
// requests into engine calls and engine events into messages; it holds no
// job state of its own.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/websocket/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
)

// MaxBody is the largest request body accepted; larger ones get 413.
const MaxBody = 1 << 20

// Sampler is the host telemetry the server shows.
type Sampler interface {
	Latest() (host.Sample, bool)
	History(since time.Time) []host.Sample
	// SampleNow asks for a fresh sample soon; it never waits for it.
	SampleNow()
}

// SchedulerInfo says how the server chose where jobs run, for /system/status.
type SchedulerInfo struct {
	Active           string // "none", "slurm", ...
	DetectedBy       string // "flag", "auto: sbatch on PATH", "default"
	BackendAvailable bool   // at start-up
	// Available, when set, says whether the scheduler answers now; it
	// must not block.
	Available func() bool
}

// Options configure a Server.
type Options struct {
	Manager   *engine.Manager // required
	Sampler   Sampler         // required
	Auth      Authenticator   // nil means NoAuth
	Scheduler SchedulerInfo
	// Drain starts the process's graceful drain (POST /system/drain). It
	// must return at once.
	Drain   func()
	Logger  *slog.Logger
	Version string
	// Mount adds more routes (the dashboard) to the app after the API's.
	Mount func(app *fiber.App)
	// Sessions, when set, lets browsers that logged in (token auth) use
	// their session cookie instead of a Bearer token; see session.go.
	Sessions *Sessions
	// SocketIO tunes the Socket.IO endpoint (ping timing).
	SocketIO SocketIOOptions
	// Backup, when set, writes a consistent copy of the database to a new
	// temporary file and returns its path (POST /system/backup sends it,
	// then removes it).
	Backup func(ctx context.Context) (string, error)
	// MaxUploadBytes bounds an uploaded project (0: DefaultMaxUpload);
	// uploads are kept under the policy's UploadRoot (none when empty).
	MaxUploadBytes int64
	// MaxZipEntries bounds the entries of one zipped .aedb (0:
	// DefaultMaxZipEntries).
	MaxZipEntries int
	// Licenses is the license servers' state (GET /api/licenses); nil
	// when no license server is configured.
	Licenses Licenses
	// Network sets the limits of a server open to a network: rate limit,
	// live connections per identity, timeouts, header size, CORS.
	Network NetworkOptions
}

// NetworkOptions are the abuse limits (SPEC section 6). The zero value is
// no rate limit, DefaultMaxStreams and the default timeouts, no CORS.
type NetworkOptions struct {
	// RateLimit is how many state-changing requests (submissions, cancels,
	// form posts...) one caller may make per second, sustained; RateBurst
	// how many at once (default: one second's worth). 0: no limit.
	RateLimit float64
	RateBurst int
	// MaxStreams caps the live connections (/ws, Socket.IO, dashboard
	// pages, log reads waiting with ?wait=) of one identity: 0 is DefaultMaxStreams, negative no cap.
	MaxStreams int
	// ReadTimeout bounds reading a whole request (a client trickling its
	// headers is cut off), WriteTimeout writing an answer, IdleTimeout a
	// keep-alive connection between requests. Zero: 30s, 60s, 120s.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (431 above it); 0 is
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// CORSOrigins are the other sites whose pages may call the API (with a
	// Bearer token); none by default.
	CORSOrigins []string
}

// DefaultMaxHeaderBytes bounds request headers: a session cookie, a
// token and the usual browser headers fit many times over.
const DefaultMaxHeaderBytes = 16 << 10

func (o NetworkOptions) withDefaults() NetworkOptions {
	if o.MaxStreams == 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 60 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return o
}

// Server serves the API on one fiber app.
type Server struct {
	app  *fiber.App
	m    *engine.Manager
	opts Options
	log  *slog.Logger

	wsHandler fiber.Handler
	sio       *sioHub
	streams   *Streams
	limiters  *limiters
	closing   chan struct{} // closed when Serve stops: ends WebSockets
	wsClients atomic.Int64
	draining  atomic.Bool
	drainOnce sync.Once

	tusUp *tusUploads // resumable uploads; nil when the server keeps none

	openapiOnce sync.Once
	openapiDoc  []byte
	started     time.Time
}

// New builds the server and its routes.
func New(o Options) *Server {
	if o.Auth == nil {
		o.Auth = NoAuth{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Network = o.Network.withDefaults()
	s := &Server{m: o.Manager, opts: o, log: o.Logger, started: time.Now(), closing: make(chan struct{})}
	s.streams = newStreams(o.Network.MaxStreams)
	s.limiters = newLimiters(o.Network.RateLimit, o.Network.RateBurst)
	if r, ok := o.Auth.(Revocable); ok {
		// A token removed while the server runs ends its open connections
		// (its sessions end in Sessions, its requests in authenticate).
		r.OnChange(func() { s.streams.revoke(r.Valid) })
	}
	s.wsHandler = websocket.New(s.serveWS, websocket.Config{HandshakeTimeout: 10 * time.Second})
	s.sio = newSIOHub(s, o.SocketIO)
	if tu, err := s.newTus(); err != nil {
		s.log.Error("resumable uploads are off", "err", err)
	} else {
		s.tusUp = tu
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "simjobs",
		BodyLimit:             MaxBody,
		ReadTimeout:           o.Network.ReadTimeout,
		WriteTimeout:          o.Network.WriteTimeout,
		IdleTimeout:           o.Network.IdleTimeout,
		ReadBufferSize:        o.Network.MaxHeaderBytes,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		// Bodies are read as streams so uploads go to disk as they arrive;
		// limitBody keeps MaxBody for every other route.
		StreamRequestBody: true,
		// The API answers JSON errors for unknown methods too.
		DisableDefaultContentType: false,
		JSONEncoder:               encodeJSON,
	})
	s.app.Use(recover.New(recover.Config{EnableStackTrace: false, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.Error("panic in handler", "path", c.Path(), "panic", e)
	}}))
	s.app.Use(s.headers)
	s.app.Use(s.limitBody)
	s.app.Use(s.authenticate)
	s.app.Use(s.limit)
	for _, r := range s.routes() {
		for _, p := range r.paths {
			s.app.Add(r.method, fiberPath(p), s.guard(r), r.handler)
		}
	}
	if o.Mount != nil {
		o.Mount(s.app)
	}
	s.app.Use(func(c *fiber.Ctx) error {
		return apiError(fiber.StatusNotFound, "no route "+c.Method()+" "+c.Path())
	})
	return s
}

// App is the fiber app, for tests and for mounting more routes.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until ctx ends, then stops within grace
// (open WebSockets and idle keep-alive connections are closed).
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	close(s.closing)
	err := s.app.ShutdownWithTimeout(grace)
	<-errc
	return err
}

// SetDraining makes /readyz answer 503; the process calls it when a drain
// starts, whoever started it.
func (s *Server) SetDraining() { s.draining.Store(true) }

// identity is the caller, set by authenticate.
func identity(c *fiber.Ctx) Identity {
	id, _ := c.Locals(identityKey{}).(Identity)
	return id
}

type identityKey struct{}

// authenticate records who calls; guard decides whether they may.
func (s *Server) authenticate(c *fiber.Ctx) error {
	// A browser on another site can make the user's browser send requests
	// here (to a server on loopback without authentication, say): anything
	// that changes state must come from our own pages or from a program,
	// which sends no Origin.
	if unsafeMethod(c.Method()) && !sameOrigin(c) && !s.corsAllowed(c.Get(fiber.HeaderOrigin)) {
		return apiError(fiber.StatusForbidden, "cross-site request refused")
	}
	// Until identified, the caller is nobody: a context without an actor
	// would be the process itself to the engine.
	c.SetUserContext(engine.WithActor(c.UserContext(), engine.Anonymous))
	if id, ok := s.opts.Auth.Authenticate(c); ok {
		s.identify(c, id)
		return c.Next()
	}
	if s.opts.Sessions != nil {
		if sess, ok := s.opts.Sessions.lookup(c); ok {
			c.Locals(csrfKey{}, sess.csrf)
			// A cookie is sent by the browser on its own: a state-changing
			// request must prove it comes from our page.
			if unsafeMethod(c.Method()) {
				if err := CheckCSRF(c); err != nil {
					return err
				}
			}
			s.identify(c, sess.who)
		}
	}
	return c.Next()
}

// identify records who calls, for the handlers and, through the request's
// context, for the engine's audit trail.
func (s *Server) identify(c *fiber.Ctx, id Identity) {
	c.Locals(identityKey{}, id)
	c.Locals(authenticatedKey{}, true)
	c.SetUserContext(engine.WithActor(c.UserContext(), s.actor(id)))
}

// actor is who id is to the engine, whose access rules decide what it
// may do.
func (s *Server) actor(id Identity) engine.Actor {
	return engine.Actor{Name: id.Name, Admin: id.Admin(), Authenticated: s.opts.Auth.Mode() != "none"}
}

type authenticatedKey struct{}

func authenticated(c *fiber.Ctx) bool {
	ok, _ := c.Locals(authenticatedKey{}).(bool)
	return ok
}

// guard enforces a route's access level.
func (s *Server) guard(r route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch r.access {
		case public:
			return c.Next()
		case admin:
			if !authenticated(c) {
				return apiError(fiber.StatusUnauthorized, "authentication required")
			}
			if err := engine.ActorOf(c.UserContext()).AdminOnly("this"); err != nil {
				return err
			}
		default:
			if !authenticated(c) {
				return apiError(fiber.StatusUnauthorized, "authentication required")
			}
		}
		return c.Next()
	}
}

// errorHandler turns every error into the API's JSON error shape; internal
// errors are logged and never shown.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	status := fiber.StatusInternalServerError
	msg := "internal error"
	var fe *fiber.Error
	var ve *engine.ValidationError
	var sf *engine.StoreFault
	var pe *publicError
	switch {
	case errors.As(err, &pe):
		status, msg = pe.Status, pe.Message
		s.log.Warn("request failed", "method", c.Method(), "path", c.Path(), "status", status, "err", pe.Cause)
	case errors.As(err, &ve):
		status, msg = fiber.StatusBadRequest, ve.Error()
	case errors.Is(err, engine.ErrNotFound):
		status, msg = fiber.StatusNotFound, "job not found"
	case errors.Is(err, engine.ErrForbidden):
		status, msg = fiber.StatusForbidden, err.Error()
	case errors.Is(err, engine.ErrConflict):
		status, msg = fiber.StatusConflict, err.Error()
	case errors.Is(err, engine.ErrClosed):
		status, msg = fiber.StatusServiceUnavailable, "the server is shutting down"
	case errors.As(err, &sf):
		// The database cannot be written (full or read-only volume): the
		// request was not done; the cause is the operator's to fix.
		status, msg = fiber.StatusServiceUnavailable, sf.Error()
	case errors.Is(err, engine.ErrStoreUnavailable):
		status, msg = fiber.StatusServiceUnavailable, "the database is not available (the server is stopping)"
	case errors.As(err, &fe):
		status, msg = fe.Code, fe.Message
		if status == fiber.StatusRequestEntityTooLarge && msg == fiber.ErrRequestEntityTooLarge.Message {
			msg = "request body larger than 1 MiB"
		}
	default:
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	return c.Status(status).JSON(fiber.Map{"success": false, "error": msg})
}

// apiError is an error answered with status and message.
func apiError(status int, msg string) error { return fiber.NewError(status, msg) }

// storeHealthMessage is what /readyz and the dashboard say about a store
// that cannot write.
func storeHealthMessage(err error) string {
	var sf *engine.StoreFault
	if errors.As(err, &sf) {
		return sf.Error()
	}
	return "the database is not available"
}
