// Package servertest stands up a real simjobs server for tests of its
// clients: the engine with a SQLite store in a temporary directory, the
// local runner, the fake solver (testdata/fake-solver) as the HFSS solver,
// telemetry the test sets by hand, and the HTTP server on a loopback port.
// Everything stops when the test ends.
package servertest

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/frontend/dashboard"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// Options configure Start; the zero value is a server without
// authentication, default limits and an idle host.
type Options struct {
	Auth     server.Authenticator
	Limits   engine.Limits
	SocketIO server.SocketIOOptions
	// Roots, when set, are the project roots (by default any path).
	Roots []string
	// Sample is the host telemetry; default Idle().
	Sample *host.Sample
	// ProgressEvery is how often running jobs' logs are read for their
	// progress; default 100ms (the server's is a second).
	ProgressEvery time.Duration
	// MaxUploadBytes bounds uploads (default: the server's default).
	MaxUploadBytes int64
	// MaxZipEntries bounds a zipped upload's entries (default: the server's).
	MaxZipEntries int
	// Network sets the server's abuse limits and CORS.
	Network server.NetworkOptions
	// Dashboard mounts the browser pages (and, with token auth, their
	// login sessions), as simjobs serve does.
	Dashboard bool
	// Licenses is the license servers' state GET /api/licenses shows.
	Licenses server.Licenses
	// Notify checks submissions' notify field; nil refuses any.
	Notify engine.NotifyChecker

	// DefaultUser owns submissions that name no user; default "tester".
	DefaultUser string
	// ProjectRoot makes Project's directory the only project root.
	ProjectRoot bool
	// Telemetry, when set, is the fake host telemetry the server reads (one
	// with an hour of history, say) instead of a new one reporting Sample.
	Telemetry *host.FakeSource
	// Sampler, when set, is the engine's and the server's telemetry in place
	// of Telemetry (a real host.Sampler over a slow source, say).
	Sampler server.Sampler
	// Cluster is the scheduler runner; none by default.
	Cluster runner.Runner
	// Gates hold jobs back before they start (license checks).
	Gates []engine.Gate
	// ServerLog receives the HTTP server's log (by default discarded; the
	// engine's is always).
	ServerLog io.Writer
	// DashboardOptions configure the pages (Dashboard).
	DashboardOptions dashboard.Options
	// Dir is the data directory, an existing one to start again on the
	// data of a stopped server; default a new temporary directory.
	Dir string
	// Addr is the address to listen on; default a free loopback port. An
	// address a stopped server used is retried while it is released.
	Addr string
	// TLS, when set, serves HTTPS with this configuration.
	TLS *tls.Config
}

// Server is a running server.
type Server struct {
	URL     string // http://127.0.0.1:port (https with Options.TLS)
	Addr    string // 127.0.0.1:port
	Manager *engine.Manager
	Server  *server.Server
	Dir     string // the data directory, also holding Project
	// Project is an existing .aedt file the fake solver "solves".
	Project string
	// Env is the absolute path of env(1), allowed as a command job's argv0
	// so tests can set fake-solver variables per job.
	Env string
	// Solver is the fake solver, the server's HFSS solver and allowed too.
	Solver string
	// Telemetry is what the server reads as host telemetry.
	Telemetry *host.FakeSource
	// Drains receives a value when POST /system/drain is called.
	Drains chan struct{}
	// Sessions are the dashboard's login sessions (Options.Dashboard).
	Sessions *server.Sessions
	// Store is the engine's store, for a test to close under it.
	Store *store.SQLite

	stop     func()
	stopOnce sync.Once
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	s := &Server{Dir: dir, Solver: fakesolver.Path(), Drains: make(chan struct{}, 1)}
	s.Telemetry = o.Telemetry
	if s.Telemetry == nil {
		smp := host.IdleSample()
		if o.Sample != nil {
			smp = *o.Sample
		}
		s.Telemetry = host.NewFakeSource(smp)
	}
	var sampler server.Sampler = s.Telemetry
	if o.Sampler != nil {
		sampler = o.Sampler
	}
	s.Project = filepath.Join(dir, "projects", "board.aedt")
	if err := os.MkdirAll(filepath.Dir(s.Project), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Project, []byte("fake project\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	envExe, err := exec.LookPath("env")
	if err != nil {
		t.Skip("servertest: no env(1) on PATH:", err)
	}
	s.Env = envExe
	roots := o.Roots
	if o.ProjectRoot {
		roots = []string{filepath.Dir(s.Project)}
	}
	policy, err := engine.NewPolicy(s.Solver, []string{envExe, s.Solver}, roots, "none")
	if err != nil {
		t.Fatal(err)
	}
	policy.DefaultUser = cmp.Or(o.DefaultUser, "tester")
	policy.UploadRoot = filepath.Join(dir, "uploads")
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Store = st
	quiet := slog.New(slog.DiscardHandler)
	serverLog := quiet
	if o.ServerLog != nil {
		serverLog = slog.New(slog.NewTextHandler(o.ServerLog, nil))
	}
	s.Manager, err = engine.New(context.Background(), engine.Options{
		Store: st, Runner: local.New(local.Options{KillGrace: time.Second}), Cluster: o.Cluster, Telemetry: sampler,
		Policy: policy, Limits: o.Limits, DataDir: dir, Logger: quiet, ProgressEvery: cmp.Or(o.ProgressEvery, 100*time.Millisecond),
		Notify: o.Notify, Gates: o.Gates,
	})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	sched := server.SchedulerInfo{Active: "none", DetectedBy: "flag", BackendAvailable: true}
	if o.Cluster != nil {
		sched.Active = o.Cluster.Name()
	}
	var mount func(*fiber.App)
	var sessions *server.Sessions
	// The pages' context ends with the server, before the engine closes,
	// as simjobs serve orders it.
	ctx, cancel := context.WithCancel(context.Background())
	if o.Dashboard {
		auth := o.Auth
		if auth == nil {
			auth = server.NoAuth{User: "tester"}
		}
		sessions = server.NewSessions(auth, 0)
		env := &frontend.Env{Manager: s.Manager, Sampler: sampler, Sessions: sessions, AuthMode: auth.Mode(), Version: "test",
			Scheduler: sched, Licenses: o.Licenses}
		mount = dashboard.New(ctx, env, o.DashboardOptions).Mount
	}
	s.Sessions = sessions
	s.Server = server.New(server.Options{
		Manager: s.Manager, Sampler: sampler, Auth: o.Auth, Logger: serverLog, Version: "test",
		Scheduler: sched,
		Drain: func() {
			select {
			case s.Drains <- struct{}{}:
			default:
			}
		},
		Backup: func(ctx context.Context) (string, error) {
			path := filepath.Join(dir, fmt.Sprintf(".backup-%d.db", time.Now().UnixNano()))
			return path, st.Backup(ctx, path)
		},
		SocketIO:       o.SocketIO,
		Network:        o.Network,
		Mount:          mount,
		Sessions:       sessions,
		Licenses:       o.Licenses,
		MaxUploadBytes: o.MaxUploadBytes,
		MaxZipEntries:  o.MaxZipEntries,
	})
	ln, err := listen(cmp.Or(o.Addr, "127.0.0.1:0"))
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr
	if o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
		s.URL = "https://" + s.Addr
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Server.Serve(ctx, ln, time.Second); err != nil {
			t.Logf("servertest: serve: %v", err)
		}
	}()
	s.stop = func() {
		cancel()
		<-done
		c, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := s.Manager.Close(c); err != nil {
			t.Logf("servertest: close manager: %v", err)
		}
		st.Close()
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server, then the engine, and closes the store, as the end
// of the test does; a test that starts again on the same Dir and Addr calls
// it first. Stopping twice is stopping once.
func (s *Server) Stop() { s.stopOnce.Do(s.stop) }

// listen listens on addr, retrying for up to 5 s while a stopped server's
// port is being released.
func listen(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

// Command is a plain command job's config: the fake solver run through
// env(1) with the given fake-solver variables (FAKE_SOLVER_SLEEP=2, ...).
func (s *Server) Command(id string, fakeEnv ...string) map[string]any {
	argv := append([]string{s.Env}, fakeEnv...)
	argv = append(argv, s.Solver, "--job", id)
	return map[string]any{"command": argv, "jobid": id}
}

// HFSS is an HFSSSimulationConfig as PyEDB serialises it (with its extra
// platform, timestamp and version keys) for the test project.
func (s *Server) HFSS(id string) map[string]any {
	return map[string]any{
		"ansys_edt_path": "/opt/AnsysEM/v252/Linux64/ansysedt", "solver": "Hfss3DLayout", "jobid": id,
		"distributed": true, "machine_nodes": []any{map[string]any{"hostname": "localhost", "cores": -1, "max_cores": 20, "utilization": 90}},
		"auto": true, "non_graphical": true, "monitor": true,
		"layout_options": map[string]any{"create_starting_mesh": false, "default_process_priority": "Normal", "enable_gpu": false,
			"mpi_vendor": "Intel", "mpi_version": "Default", "remote_spawn_command": "Scheduler", "solve_adaptive_only": false,
			"validate_only": false, "temp_directory": "/tmp"},
		"project_path": s.Project, "design_name": "", "design_mode": "", "setup_name": "", "scheduler_type": "none",
		"scheduler_options": map[string]any{"queue": "default", "time": "24:00:00", "nodes": 1, "tasks_per_node": 1, "cores_per_node": 0,
			"memory": "4GB", "account": nil, "reservation": nil, "qos": nil, "constraints": nil, "exclusive": false, "gpus": 0,
			"gpu_type": nil, "priority": "Normal", "email_notification": nil, "run_as_administrator": false},
		"platform": "Linux", "timestamp": "2025-10-12T11:55:28.123456", "version": "1.0.0",
	}
}

// SetTelemetry changes the host telemetry and tells the engine, as the real
// sampler does on every sample.
func (s *Server) SetTelemetry(smp host.Sample) {
	s.Telemetry.Set(smp)
	s.Manager.TelemetryUpdated()
}
