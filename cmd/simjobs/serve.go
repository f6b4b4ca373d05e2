package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/server"
)

// serve runs the server until ctx ends or a drain completes.
//
// Shutdown: a signal (ctx done), or POST /system/drain, starts a drain: no
// job starts any more, submissions are still accepted and persisted,
// running jobs may finish for --drain-timeout; then jobs still running are
// stopped and recorded as interrupted, the HTTP server stops, and serve
// returns nil (exit 0). A second signal skips the rest of the wait.
func serve(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, env, stderr)
	if err != nil {
		return err
	}
	a, err := build(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	return a.run(ctx, stdout)
}

// part is one thing the app built that must be stopped: a background
// service, or a resource held (the listener, the data-dir lock).
type part struct {
	name string
	stop func() error
}

// app is the server put together: what build made, and the parts to stop,
// in the order they were built.
type app struct {
	cfg       serveConfig
	log       *slog.Logger
	ln        net.Listener
	scheme    string
	dataDir   string
	schedType string
	mgr       *engine.Manager
	srv       *server.Server
	// drainReq is closed by POST /system/drain.
	drainReq chan struct{}
	// httpCtx ends the HTTP server; it outlives ctx through the drain.
	httpCtx  context.Context
	stopHTTP context.CancelFunc
	parts    []part
}

// add records a part to stop; shutdown stops the parts last built first,
// so each part stops before what it uses (the notifier before the store,
// the store before the data-dir lock).
func (a *app) add(name string, stop func() error) { a.parts = append(a.parts, part{name, stop}) }

// addFunc is add for the parts whose stop cannot fail.
func (a *app) addFunc(name string, stop func()) { a.add(name, func() error { stop(); return nil }) }

// shutdown stops every part, last built first, and logs what failed.
func (a *app) shutdown() {
	for i := len(a.parts) - 1; i >= 0; i-- {
		p := a.parts[i]
		if err := p.stop(); err != nil {
			a.log.Error("stopping "+p.name, "err", err)
		}
	}
	a.parts = nil
}

// build puts the server together and starts its background parts (the
// sampler, the license monitor, the notifier, the engine's own); run
// serves HTTP. On an error, what was built is stopped again.
func build(ctx context.Context, cfg serveConfig, stderr io.Writer) (_ *app, err error) {
	a := &app{cfg: cfg, log: newLogger(cfg.LogFormat, stderr), drainReq: make(chan struct{})}
	defer func() {
		if err != nil {
			a.shutdown()
		}
	}()
	log := a.log

	var cert *certificate
	if cfg.TLSCert != "" {
		if cert, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, err
		}
	}
	ln, err := listen(cfg)
	if err != nil {
		return nil, err
	}
	a.add("listener", func() error { _ = ln.Close(); return nil })
	a.ln, a.scheme = ln, "http"
	if cert != nil {
		a.ln, a.scheme = cert.listener(ln), "https"
	}

	auth, err := newAuth(cfg)
	if err != nil {
		return nil, err
	}
	// Reloading goes on through a drain: a token removed then still stops
	// working.
	reloadCtx, stopReload := context.WithCancel(context.WithoutCancel(ctx))
	a.addFunc("token reload", stopReload)
	tokens, _ := auth.(*server.TokenAuth)
	if tokens != nil {
		// Tokens added or removed with simjobs token (or an editor) take
		// effect without a restart.
		if err := server.WatchTokens(reloadCtx, tokens, log); err != nil {
			log.Warn("cannot watch the tokens file; reload it with SIGHUP", "err", err)
		}
	}
	reloadOnSignal(reloadCtx, tokens, cert, log)
	notifyCfg, err := parseNotify(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	a.dataDir = dataDir
	// One server per data dir; the lock goes with the process, so the
	// reaper's next server takes it after a crash.
	lock, err := store.LockDir(dataDir)
	if err != nil {
		return nil, err
	}
	a.add("data-dir lock", func() error { lock.Release(); return nil })

	solver := cfg.AnsysEDTPath
	if solver == "" {
		solver = defaultSolver()
	}
	cluster, schedInfo, watch, err := pickScheduler(ctx, cfg.Scheduler, dataDir, log)
	if err != nil {
		return nil, err
	}
	if watch != nil {
		// Stopped after the manager, which closes the cluster runner it
		// asks: the probe never runs against a closed runner for long.
		watch.start()
		a.addFunc("scheduler watch", watch.shutdown)
	}
	a.schedType = "none"
	if cluster != nil {
		a.schedType = cluster.Name()
	}
	policy, err := engine.NewPolicy(solver, cfg.AllowExec, cfg.ProjectRoots, a.schedType)
	if err != nil {
		return nil, err
	}
	policy.DefaultUser = osUser()
	policy.UploadRoot = filepath.Join(dataDir, "uploads")
	if policy.Solver == "" {
		log.Warn("no HFSS solver found: HFSS jobs are refused until --ansys-edt-path is given (plain command jobs still run)")
	}

	warnMissingDatabase(dataDir, log)
	removeStaleBackups(dataDir, log)
	st, err := store.Open(ctx, filepath.Join(dataDir, "simjobs.db"))
	if err != nil {
		return nil, err
	}
	a.add("store", st.Close)

	// The manager follows the sampler itself (engine.SampleSubscriber):
	// each sample becomes a resources_updated event and a dispatcher
	// wake-up.
	sampler := host.NewSampler(host.SamplerOptions{Source: host.NewSource(dataDir), Logger: log})
	licenses, err := newLicenses(cfg, log, licenseEvents(&a.mgr))
	if err != nil {
		return nil, err
	}
	var gates []engine.Gate
	if licenses != nil {
		gates = append(gates, licenses)
	}
	a.mgr, err = engine.New(ctx, engine.Options{
		Store:     st,
		Runner:    local.New(local.Options{KillGrace: cfg.KillGrace, Logger: log, ExitRecords: filepath.Join(dataDir, "exits")}),
		Cluster:   cluster,
		Telemetry: sampler,
		Policy:    policy,
		Limits:    engine.Limits{MaxConcurrentJobs: cfg.MaxConcurrent, MaxCPUPercent: cfg.MaxCPUPercent, MinMemoryGB: cfg.MinMemoryGB, MinDiskGB: cfg.MinDiskGB},
		DataDir:   dataDir,
		Logger:    log,
		Retention: engine.Retention{KeepFor: cfg.Retention, MaxLogBytes: int64(cfg.MaxLogMB * (1 << 20))},
		Gates:     gates,
		Notify:    notify.Checker{Allow: notifyCfg.allow},
	})
	if err != nil {
		return nil, err
	}
	sampler.Start(context.WithoutCancel(ctx))
	a.addFunc("sampler", sampler.Stop)
	var licenseView server.Licenses
	if licenses != nil {
		licenses.Start(context.WithoutCancel(ctx))
		a.addFunc("license monitor", licenses.Stop)
		licenseView = licenses
	}
	// run closes the manager first, bounded by --kill-grace; this entry is
	// for a build that fails after this point.
	a.add("manager", func() error { return a.mgr.Close(context.Background()) })
	notifier, err := newNotifier(cfg, notifyCfg, a.ln, auth, st, a.mgr, log)
	if err != nil {
		return nil, err
	}
	notifier.Start(ctx)
	a.addFunc("notifier", notifier.Stop)

	a.httpCtx, a.stopHTTP = context.WithCancel(context.WithoutCancel(ctx))
	a.addFunc("http context", a.stopHTTP)
	sessions := server.NewSessions(auth, 0)
	a.srv = server.New(server.Options{
		Manager:   a.mgr,
		Sampler:   sampler,
		Auth:      auth,
		Scheduler: schedInfo,
		Drain:     func() { close(a.drainReq) },
		Logger:    log,
		Version:   version,
		Mount:     mountUI(a.httpCtx, a.mgr, sampler, sessions, auth, schedInfo, licenseView),
		Sessions:  sessions,
		Backup:    backupTo(dataDir, st),

		MaxUploadBytes: cfg.MaxUploadMB << 20,
		Network: server.NetworkOptions{
			RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, MaxStreams: cfg.MaxWebSockets,
			ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
			MaxHeaderBytes: cfg.MaxHeaderBytes, CORSOrigins: cfg.CORSOrigins,
		},
		Licenses: licenseView,
	})
	return a, nil
}

// run serves HTTP until ctx ends, a drain is asked over the API, or the
// HTTP server fails, then shuts down in this order:
//
//  1. the API says draining and the manager drains (no job starts; running
//     jobs may end for --drain-timeout; a second signal cuts the wait);
//  2. the manager closes: jobs still running are stopped and recorded,
//     the runners and the engine's own services stop; the API still
//     answers meanwhile;
//  3. the HTTP server stops, then every other part, last built first:
//     notifier, license monitor, sampler, store, scheduler watch,
//     data-dir lock, token reload, listener.
func (a *app) run(ctx context.Context, stdout io.Writer) error {
	defer a.shutdown()
	cfg, log, mgr := a.cfg, a.log, a.mgr
	httpDone := make(chan error, 1)
	go func() { httpDone <- a.srv.Serve(a.httpCtx, a.ln, 5*time.Second) }()
	fmt.Fprintf(stdout, "simjobs %s listening on %s://%s (data %s, scheduler %s, auth %s)\n", version, a.scheme, a.ln.Addr(), a.dataDir, a.schedType, cfg.Auth)

	select {
	case err := <-httpDone:
		_ = mgr.Close(context.Background())
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		log.Info("signal received: draining", "timeout", cfg.DrainTimeout)
		if err := mgr.Record(context.WithoutCancel(ctx), engine.AuditDrain, "drain on a signal (SIGTERM or SIGINT)"); err != nil {
			log.Error("audit", "err", err)
		}
	case <-a.drainReq:
		log.Info("drain requested over the API", "timeout", cfg.DrainTimeout)
	}
	a.srv.SetDraining()
	hurry := hurryContext(ctx)
	drainCtx, cancel := context.WithTimeout(hurry, cfg.DrainTimeout)
	err := mgr.Drain(drainCtx)
	cancel()
	if err != nil {
		log.Warn("drain timeout: stopping the jobs still running", "err", err)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.KillGrace+10*time.Second)
	defer cancel()
	if err := mgr.Close(closeCtx); err != nil {
		log.Error("stopping jobs", "err", err)
	}
	a.stopHTTP()
	if err := <-httpDone; err != nil {
		log.Error("http shutdown", "err", err)
	}
	a.shutdown()
	log.Info("stopped")
	return nil
}

// hurryContext ends when a second shutdown request arrives: a signal after
// an API drain, or a second signal (signal.NotifyContext delivers only the
// first; main resets the handler so a second SIGINT kills the process).
func hurryContext(sig context.Context) context.Context {
	select {
	case <-sig.Done():
		// The drain came from a signal: a later signal terminates (main).
		return context.Background()
	default:
		// The drain came from the API: a signal now ends the wait.
		return sig
	}
}

func listen(cfg serveConfig) (net.Listener, error) {
	hostPart, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", cfg.Addr, err)
	}
	if cfg.Auth == "none" && !cfg.Insecure && !loopbackHost(hostPart) {
		return nil, fmt.Errorf("refusing to listen on %s without authentication: use --auth token|proxy, a loopback address, or --insecure", cfg.Addr)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// loopbackHost reports whether host names only this machine.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func newAuth(cfg serveConfig) (server.Authenticator, error) {
	switch cfg.Auth {
	case "token":
		return server.LoadTokens(cfg.TokensFile)
	case "proxy":
		return server.ProxyAuth{}, nil
	}
	return server.NoAuth{User: osUser()}, nil
}

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "local"
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// pickScheduler chooses where jobs run, and returns the watch that keeps
// asking the scheduler whether it answers (nil when there is none to ask),
// for the caller to start and stop. Cluster runners are registered in
// schedulers.go.
func pickScheduler(ctx context.Context, name, dataDir string, log *slog.Logger) (runner.Runner, server.SchedulerInfo, *schedulerWatch, error) {
	if name == "none" {
		return nil, server.SchedulerInfo{Active: "none", DetectedBy: "flag", BackendAvailable: true}, nil, nil
	}
	if name == "auto" {
		found, by := detectScheduler()
		if found == "" {
			return nil, server.SchedulerInfo{Active: "none", DetectedBy: "auto: " + by, BackendAvailable: true}, nil, nil
		}
		r, err := newCluster(ctx, found, dataDir, log)
		if err != nil {
			return nil, server.SchedulerInfo{}, nil, fmt.Errorf("scheduler %s (detected: %s): %w", found, by, err)
		}
		r, info, w := autoScheduler(ctx, r, found, by, log)
		return r, info, w, nil
	}
	r, err := newCluster(ctx, name, dataDir, log)
	if err != nil {
		return nil, server.SchedulerInfo{}, nil, fmt.Errorf("scheduler %s: %w", name, err)
	}
	w := newSchedulerWatch(ctx, r, schedulerWatchEvery, log)
	return r, w.info(name, "flag"), w, nil
}

var errNoScheduler = errors.New("not available in this build")
