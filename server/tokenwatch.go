package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// tokenSettle is how long the watcher waits after a change before it reads
// the file: an editor's save is several events.
const tokenSettle = 100 * time.Millisecond

// WatchTokens reloads a's tokens file whenever it changes, until ctx ends.
// It watches the file's folder, not the file, so the rename that replaces
// it (simjobs token, most editors) is seen too. A reload that fails (a
// half-edited file) keeps the tokens in force and is logged; the next
// change tries again. It returns once the watch is set up.
func WatchTokens(ctx context.Context, a *TokenAuth, log *slog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	dir, base := filepath.Dir(a.path), filepath.Base(a.path)
	if err := w.Add(dir); err != nil {
		w.Close()
		return err
	}
	go func() {
		defer w.Close()
		var settle <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Base(ev.Name) == base {
					settle = time.After(tokenSettle)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("watching the tokens file", "err", err)
			case <-settle:
				settle = nil
				ReloadTokens(a, log, "file changed")
			}
		}
	}()
	return nil
}

// ReloadTokens reloads a's tokens file and logs the outcome; why says
// what asked for it (a signal, a file change).
func ReloadTokens(a *TokenAuth, log *slog.Logger, why string) {
	if err := a.Reload(); err != nil {
		log.Error("tokens file not reloaded: the tokens in force stay", "why", why, "err", err)
		return
	}
	a.mu.RLock()
	n := len(a.entries)
	a.mu.RUnlock()
	if n == 0 {
		log.Warn("tokens file reloaded with no token: nobody can sign in", "why", why)
		return
	}
	log.Info("tokens file reloaded", "why", why, "tokens", n)
}
