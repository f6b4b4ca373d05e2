package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/license"
)

func (c serveConfig) validateLicenses() error {
	for _, s := range c.LicenseServers {
		if err := license.CheckServer(s); err != nil {
			return fmt.Errorf("--license-server: %w", err)
		}
	}
	if c.LicensePoll < time.Second {
		return fmt.Errorf("--license-poll must be at least 1s, got %s", c.LicensePoll)
	}
	if len(c.LicenseServers) == 0 && (c.LicenseMap != "" || c.LicenseGateCluster) {
		return errors.New("--license-map and --license-gate-cluster need --license-server")
	}
	return nil
}

// newLicenses builds the license monitor from the flags, nil when no
// license server is configured. onChange is Options.OnChange.
func newLicenses(cfg serveConfig, log *slog.Logger, onChange func(license.Report)) (*license.Monitor, error) {
	if len(cfg.LicenseServers) == 0 {
		return nil, nil
	}
	lmutil, err := exec.LookPath(cfg.LMUtil)
	if err != nil {
		return nil, fmt.Errorf("--lmutil: %w (it polls the license servers; give its path with --lmutil)", err)
	}
	m := license.DefaultMap()
	if cfg.LicenseMap != "" {
		b, err := os.ReadFile(cfg.LicenseMap)
		if err != nil {
			return nil, fmt.Errorf("--license-map: %w", err)
		}
		if m, err = license.ParseMap(b); err != nil {
			return nil, fmt.Errorf("--license-map %s: %w", cfg.LicenseMap, err)
		}
	}
	return license.New(license.Options{
		Servers: cfg.LicenseServers, LMUtil: lmutil, Every: cfg.LicensePoll, Map: &m,
		GateCluster: cfg.LicenseGateCluster, Logger: log, OnChange: onChange, User: osUser(),
	})
}

// licenseEvents is the monitor's OnChange: every poll is announced, and
// jobs it held are looked at again. mgr is read when a poll ends, after it
// was set.
func licenseEvents(mgr **engine.Manager) func(license.Report) {
	return func(r license.Report) {
		m := *mgr
		if m == nil {
			return
		}
		m.Events().PublishTransient(engine.EventLicensesUpdated, r)
		m.Recheck()
	}
}
