package engine

import (
	"context"
	"errors"
)

// ErrStoreUnavailable is wrapped by every store error that says the store
// cannot take writes now (a full or read-only volume, an I/O error, a
// closed store), as opposed to an error about the request. Callers answer
// "try again later" (HTTP 503), never "internal error".
var ErrStoreUnavailable = errors.New("storage unavailable")

// ErrClosed is matched by what the manager, or the store under it, returns
// once closed: the server is shutting down. It is the one "closed" error,
// whichever part was closed first, so callers answer it one way (HTTP 503).
var ErrClosed = errors.New("closed")

// StoreFault is a store write that failed because of where the database
// lives. Cause is one line a person can act on ("the data volume is full
// (/var/lib/simjobs): free space; writes resume by themselves").
type StoreFault struct {
	Cause string
	Err   error // the driver's error
}

func (f *StoreFault) Error() string { return "cannot write the database: " + f.Cause }

// Unwrap lets errors.Is find ErrStoreUnavailable and the driver's error.
func (f *StoreFault) Unwrap() []error { return []error{ErrStoreUnavailable, f.Err} }

// StoreHealth is implemented by stores that know whether they can write:
// Health returns nil when the last write (or a probe write it makes when
// the last write failed) succeeded, and the fault otherwise. It must be
// cheap when healthy.
type StoreHealth interface {
	Health(ctx context.Context) error
}

// StoreHealth reports whether the store can take writes (nil when it can,
// or when the store cannot tell). /readyz and the dashboard's banner use it.
func (m *Manager) StoreHealth(ctx context.Context) error {
	if h, ok := m.store.(StoreHealth); ok {
		return h.Health(ctx)
	}
	return nil
}
