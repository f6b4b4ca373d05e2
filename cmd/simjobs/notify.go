package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/notify"
	"github.com/simjobs/simjobs/server"
)

// notifySetup is what serve needs of the notification flags, checked
// before anything starts.
type notifySetup struct {
	allow *notify.AllowList
	smtp  *notify.SMTP
}

func parseNotify(cfg serveConfig) (notifySetup, error) {
	var s notifySetup
	var err error
	if s.allow, err = notify.ParseAllowList(cfg.WebhookAllow...); err != nil {
		return s, fmt.Errorf("--webhook-allow: %w", err)
	}
	for _, w := range cfg.Webhooks {
		if _, err := s.allow.CheckURL(w); err != nil {
			return s, fmt.Errorf("--webhook: %w", err)
		}
	}
	if cfg.SMTP != "" {
		if s.smtp, err = notify.ParseSMTP(cfg.SMTP, cfg.SMTPFrom); err != nil {
			return s, err
		}
	}
	return s, nil
}

// publicURL is --public-url, or what --addr's listener can be reached at.
func publicURL(cfg serveConfig, ln net.Listener) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	scheme := "http://"
	if cfg.TLSCert != "" {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

func newNotifier(cfg serveConfig, ns notifySetup, ln net.Listener, auth server.Authenticator, ob engine.Outbox, mgr *engine.Manager, log *slog.Logger) (*notify.Notifier, error) {
	userEmail := func(string) string { return "" }
	if ta, ok := auth.(*server.TokenAuth); ok {
		userEmail = ta.Email
	}
	return notify.New(notify.Options{
		Outbox:    ob,
		Jobs:      mgr,
		Sweeps:    mgr,
		Events:    mgr.Events(),
		Webhooks:  cfg.Webhooks,
		Secret:    cfg.WebhookSecret,
		Allow:     ns.allow,
		SMTP:      ns.smtp,
		UserEmail: userEmail,
		PublicURL: publicURL(cfg, ln),
		UserAgent: "simjobs/" + version,
		Logger:    log,
	})
}
