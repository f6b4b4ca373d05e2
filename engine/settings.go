package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// SettingsStore is the part of a store that keeps settings changed at run
// time across restarts. A Store that implements it keeps the limits; one
// that does not leaves them to the start-up options.
type SettingsStore interface {
	// SettingGet returns the value under key, and false when there is none.
	SettingGet(ctx context.Context, key string) (value string, ok bool, err error)
	// SettingPut stores value under key, durably, before it returns.
	SettingPut(ctx context.Context, key, value string) error
}

// settingLimits is the key the limits changed at run time are kept under.
const settingLimits = "limits"

// LimitOrigin says where the value in force of one limit came from.
type LimitOrigin struct {
	// RunTime is true for a value changed at run time (PUT /pool/limits,
	// the settings page) and kept in the store: it outlives restarts and
	// beats the start-up options. False: the start-up value (flag,
	// environment, .env or default).
	RunTime bool `json:"run_time"`
	// At is when it was changed at run time.
	At time.Time `json:"at,omitzero"`
	// StartUp is the value the start-up options gave.
	StartUp float64 `json:"start_up"`
}

// storedLimit is one limit as kept in the store.
type storedLimit struct {
	Value float64   `json:"value"`
	At    time.Time `json:"at"`
}

// limitFields are the limits by their wire names.
func limitFields(l *Limits) map[string]*float64 {
	return map[string]*float64{"max_cpu_percent": &l.MaxCPUPercent, "min_memory_gb": &l.MinMemoryGB, "min_disk_gb": &l.MinDiskGB}
}

func (l Limits) field(name string) float64 {
	if name == "max_concurrent_jobs" {
		return float64(l.MaxConcurrentJobs)
	}
	return *limitFields(&l)[name]
}

func (l *Limits) setField(name string, v float64) {
	if name == "max_concurrent_jobs" {
		l.MaxConcurrentJobs = int(v)
		return
	}
	*limitFields(l)[name] = v
}

// LimitNames are the limits' wire names, in the order pages show them.
var LimitNames = []string{"max_concurrent_jobs", "max_cpu_percent", "min_memory_gb", "min_disk_gb"}

// loadLimits applies the limits kept in the store over the start-up ones.
// A kept set that no longer validates is ignored, with a warning: the
// server must start.
func (m *Manager) loadLimits(ctx context.Context) error {
	m.limitOrigins = make(map[string]LimitOrigin, len(LimitNames))
	for _, n := range LimitNames {
		m.limitOrigins[n] = LimitOrigin{StartUp: m.limits.field(n)}
	}
	ss, ok := m.store.(SettingsStore)
	if !ok {
		return nil
	}
	raw, found, err := ss.SettingGet(ctx, settingLimits)
	if err != nil || !found {
		return err
	}
	kept := map[string]storedLimit{}
	if err := json.Unmarshal([]byte(raw), &kept); err != nil {
		m.log.Warn("the limits kept in the store are unreadable: using the start-up limits", "err", err)
		return nil
	}
	l, origins := m.limits, make(map[string]LimitOrigin, len(LimitNames))
	for _, n := range LimitNames {
		o := m.limitOrigins[n]
		if k, ok := kept[n]; ok {
			l.setField(n, k.Value)
			o.RunTime, o.At = true, k.At
		}
		origins[n] = o
	}
	if err := l.Validate(); err != nil {
		m.log.Warn("the limits kept in the store are invalid: using the start-up limits", "err", err)
		return nil
	}
	for _, n := range LimitNames {
		if o := origins[n]; o.RunTime && o.StartUp != l.field(n) {
			m.log.Info("a limit changed at run time beats the start-up value", "limit", n, "value", l.field(n), "start_up", o.StartUp, "changed", o.At)
		}
	}
	m.limits, m.limitOrigins = l, origins
	return nil
}

// keepLimitsLocked records the fields of updated that differ from old as
// changed at run time, and returns what to store. m.mu is held.
func (m *Manager) keepLimitsLocked(old, updated Limits, at time.Time) (map[string]LimitOrigin, []byte) {
	origins := make(map[string]LimitOrigin, len(LimitNames))
	kept := map[string]storedLimit{}
	for _, n := range LimitNames {
		o := m.limitOrigins[n]
		if updated.field(n) != old.field(n) {
			o.RunTime, o.At = true, at
		}
		origins[n] = o
		if o.RunTime {
			kept[n] = storedLimit{Value: updated.field(n), At: o.At}
		}
	}
	b, _ := json.Marshal(kept) // plain numbers and times: cannot fail
	return origins, b
}

// persistLimits stores the limits changed at run time.
func (m *Manager) persistLimits(value []byte) error {
	ss, ok := m.store.(SettingsStore)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(m.ctx, 10*time.Second)
	defer cancel()
	if err := ss.SettingPut(ctx, settingLimits, string(value)); err != nil {
		return fmt.Errorf("keeping the limits: %w", err)
	}
	return nil
}

// LimitOrigins says, for each limit by its wire name, where the value in
// force came from.
func (m *Manager) LimitOrigins() map[string]LimitOrigin {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]LimitOrigin, len(m.limitOrigins))
	for k, v := range m.limitOrigins {
		out[k] = v
	}
	return out
}
