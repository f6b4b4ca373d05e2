// Package servertest stands up a real simjobs server for tests of its
// clients: the engine with a SQLite store in a temporary directory, the
// local runner, the fake solver (testdata/fake-solver) as the HFSS solver,
// telemetry the test sets by hand, and the HTTP server on a loopback port.
// Everything stops when the test ends.
package servertest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
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
}

// Server is a running server.
type Server struct {
	URL     string // http://127.0.0.1:port
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
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{Dir: dir, Solver: fakesolver.Path(), Drains: make(chan struct{}, 1)}
	smp := host.IdleSample()
	if o.Sample != nil {
		smp = *o.Sample
	}
	s.Telemetry = host.NewFakeSource(smp)
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
	policy, err := engine.NewPolicy(s.Solver, []string{envExe, s.Solver}, o.Roots, "none")
	if err != nil {
		t.Fatal(err)
	}
	policy.DefaultUser = "tester"
	policy.UploadRoot = filepath.Join(dir, "uploads")
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	s.Manager, err = engine.New(context.Background(), engine.Options{
		Store: st, Runner: local.New(local.Options{KillGrace: time.Second}), Telemetry: s.Telemetry,
		Policy: policy, Limits: o.Limits, DataDir: dir, Logger: quiet, ProgressEvery: cmp.Or(o.ProgressEvery, 100*time.Millisecond),
		Notify: o.Notify,
	})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	var mount func(*fiber.App)
	var sessions *server.Sessions
	dashCtx, stopDash := context.WithCancel(context.Background())
	t.Cleanup(stopDash)
	if o.Dashboard {
		auth := o.Auth
		if auth == nil {
			auth = server.NoAuth{User: "tester"}
		}
		sessions = server.NewSessions(auth, 0)
		env := &frontend.Env{Manager: s.Manager, Sampler: s.Telemetry, Sessions: sessions, AuthMode: auth.Mode(), Version: "test",
			Scheduler: server.SchedulerInfo{Active: "none", DetectedBy: "flag", BackendAvailable: true}}
		mount = dashboard.New(dashCtx, env, dashboard.Options{}).Mount
	}
	s.Sessions = sessions
	s.Server = server.New(server.Options{
		Manager: s.Manager, Sampler: s.Telemetry, Auth: o.Auth, Logger: quiet, Version: "test",
		Scheduler: server.SchedulerInfo{Active: "none", DetectedBy: "flag", BackendAvailable: true},
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Server.Serve(ctx, ln, time.Second); err != nil {
			t.Logf("servertest: serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := s.Manager.Close(c); err != nil {
			t.Logf("servertest: close manager: %v", err)
		}
		st.Close()
	})
	s.URL = "http://" + ln.Addr().String()
	return s
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
