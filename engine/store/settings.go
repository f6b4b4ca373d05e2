package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simjobs/simjobs/engine"
)

var _ engine.SettingsStore = (*SQLite)(nil)

// SettingGet implements engine.SettingsStore.
func (s *SQLite) SettingGet(ctx context.Context, key string) (string, bool, error) {
	if err := s.readable(ctx); err != nil {
		return "", false, err
	}
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("setting %s: %w", key, err)
	}
	return v, true, nil
}

// SettingPut implements engine.SettingsStore. It commits through the
// writer, with the same durability as a submission.
func (s *SQLite) SettingPut(ctx context.Context, key, value string) error {
	r := &writeReq{ctx: ctx, done: make(chan struct{})}
	r.fn = func() {
		_, r.err = s.wconn.ExecContext(ctx,
			`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			key, value, time.Now().UTC().Format(time.RFC3339Nano))
	}
	if err := s.write(ctx, r); err != nil {
		return err
	}
	if r.err != nil {
		return fmt.Errorf("setting %s: %w", key, r.err)
	}
	return nil
}
