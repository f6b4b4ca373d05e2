package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"

	"github.com/simjobs/simjobs/server"
)

// certificate holds the TLS certificate in force; SIGHUP reads the files
// again (a renewed Let's Encrypt certificate, say) without a restart.
type certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func loadCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certificate) reload() error {
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s / --tls-key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cur.Store(&kp)
	return nil
}

// tlsListener serves HTTPS on ln: TLS 1.2 or newer, HTTP/1.1 (fasthttp
// speaks no HTTP/2, and WebSockets upgrade over HTTP/1.1).
func (c *certificate) listener(ln net.Listener) net.Listener {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
	return tls.NewListener(ln, cfg)
}

// reloadOnSignal re-reads the tokens file and the TLS certificate on each
// SIGHUP (where there is one) until ctx ends.
func reloadOnSignal(ctx context.Context, tokens *server.TokenAuth, cert *certificate, log *slog.Logger) {
	sig := make(chan os.Signal, 1)
	if !notifyReload(sig) {
		return
	}
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
			}
			log.Info("SIGHUP: reloading")
			if tokens != nil {
				server.ReloadTokens(tokens, log, "SIGHUP")
			}
			if cert != nil {
				if err := cert.reload(); err != nil {
					log.Error("TLS certificate not reloaded: the one in force stays", "err", err)
				} else {
					log.Info("TLS certificate reloaded")
				}
			}
		}
	}()
}
