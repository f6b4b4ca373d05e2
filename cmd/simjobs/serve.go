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
	log := newLogger(cfg.LogFormat, stderr)

	var cert *certificate
	if cfg.TLSCert != "" {
		if cert, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	}
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	scheme := "http"
	if cert != nil {
		ln, scheme = cert.listener(ln), "https"
	}

	auth, err := newAuth(cfg)
	if err != nil {
		return err
	}
	// Reloading goes on through a drain: a token removed then still stops
	// working.
	reloadCtx, stopReload := context.WithCancel(context.WithoutCancel(ctx))
	defer stopReload()
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
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// One server per data dir; the lock goes with the process, so the
	// reaper's next server takes it after a crash.
	lock, err := store.LockDir(dataDir)
	if err != nil {
		return err
	}
	defer lock.Release()

	solver := cfg.AnsysEDTPath
	if solver == "" {
		solver = defaultSolver()
	}
	cluster, schedInfo, err := pickScheduler(ctx, cfg.Scheduler, dataDir, log)
	if err != nil {
		return err
	}
	schedType := "none"
	if cluster != nil {
		schedType = cluster.Name()
	}
	policy, err := engine.NewPolicy(solver, cfg.AllowExec, cfg.ProjectRoots, schedType)
	if err != nil {
		return err
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
		return err
	}
	defer st.Close()

	// The manager learns of every sample; it is created after the sampler,
	// so the callback reaches it through this variable, set before the
	// sampler starts.
	var mgr *engine.Manager
	sampler := host.NewSampler(host.SamplerOptions{
		Source: host.NewSource(dataDir),
		Logger: log,
		OnSample: func(s host.Sample) {
			mgr.Events().PublishTransient(engine.EventResourcesUpdated, map[string]any{"telemetry": s})
			mgr.TelemetryUpdated()
		},
	})
	licenses, err := newLicenses(cfg, log, licenseEvents(&mgr))
	if err != nil {
		return err
	}
	var gates []engine.Gate
	if licenses != nil {
		gates = append(gates, licenses)
	}
	mgr, err = engine.New(ctx, engine.Options{
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
		return err
	}
	sampler.Start(context.WithoutCancel(ctx))
	defer sampler.Stop()
	var licenseView server.Licenses
	if licenses != nil {
		licenses.Start(context.WithoutCancel(ctx))
		defer licenses.Stop()
		licenseView = licenses
	}
	notifier, err := newNotifier(cfg, notifyCfg, ln, auth, st, mgr, log)
	if err != nil {
		_ = mgr.Close(context.Background())
		return err
	}
	notifier.Start(ctx)
	defer notifier.Stop()

	drainReq := make(chan struct{})
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()
	sessions := server.NewSessions(auth, 0)
	srv := server.New(server.Options{
		Manager:   mgr,
		Sampler:   sampler,
		Auth:      auth,
		Scheduler: schedInfo,
		Drain:     func() { close(drainReq) },
		Logger:    log,
		Version:   version,
		Mount:     mountUI(httpCtx, mgr, sampler, sessions, auth, schedInfo, licenseView),
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
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(httpCtx, ln, 5*time.Second) }()
	fmt.Fprintf(stdout, "simjobs %s listening on %s://%s (data %s, scheduler %s, auth %s)\n", version, scheme, ln.Addr(), dataDir, schedType, cfg.Auth)

	select {
	case err := <-httpDone:
		_ = mgr.Close(context.Background())
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		log.Info("signal received: draining", "timeout", cfg.DrainTimeout)
		if err := mgr.Record(context.WithoutCancel(ctx), engine.AuditDrain, "drain on a signal (SIGTERM or SIGINT)"); err != nil {
			log.Error("audit", "err", err)
		}
	case <-drainReq:
		log.Info("drain requested over the API", "timeout", cfg.DrainTimeout)
	}
	srv.SetDraining()
	hurry := hurryContext(ctx)
	drainCtx, cancel := context.WithTimeout(hurry, cfg.DrainTimeout)
	err = mgr.Drain(drainCtx)
	cancel()
	if err != nil {
		log.Warn("drain timeout: stopping the jobs still running", "err", err)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.KillGrace+10*time.Second)
	defer cancel()
	if err := mgr.Close(closeCtx); err != nil {
		log.Error("stopping jobs", "err", err)
	}
	stopHTTP()
	if err := <-httpDone; err != nil {
		log.Error("http shutdown", "err", err)
	}
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

// pickScheduler chooses where jobs run. Cluster runners are registered in
// schedulers.go.
func pickScheduler(ctx context.Context, name, dataDir string, log *slog.Logger) (runner.Runner, server.SchedulerInfo, error) {
	if name == "none" {
		return nil, server.SchedulerInfo{Active: "none", DetectedBy: "flag", BackendAvailable: true}, nil
	}
	if name == "auto" {
		found, by := detectScheduler()
		if found == "" {
			return nil, server.SchedulerInfo{Active: "none", DetectedBy: "auto: " + by, BackendAvailable: true}, nil
		}
		r, err := newCluster(ctx, found, dataDir, log)
		if err != nil {
			return nil, server.SchedulerInfo{}, fmt.Errorf("scheduler %s (detected: %s): %w", found, by, err)
		}
		r, info := autoScheduler(ctx, r, found, by, log)
		return r, info, nil
	}
	r, err := newCluster(ctx, name, dataDir, log)
	if err != nil {
		return nil, server.SchedulerInfo{}, fmt.Errorf("scheduler %s: %w", name, err)
	}
	return r, watchScheduler(ctx, r, schedulerWatchEvery, log).info(name, "flag"), nil
}

var errNoScheduler = errors.New("not available in this build")
