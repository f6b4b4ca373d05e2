package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one change to the server that is not about one job: a
// limits change, a drain. (What happens to jobs is in their transitions,
// each with its actor.)
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	// Detail says what changed, for people: "max_concurrent_jobs 1 → 4".
	Detail string `json:"detail"`
}

// Audit actions.
const (
	AuditLimits = "limits"
	AuditDrain  = "drain"
)

// AuditInsertParams is an entry to persist.
type AuditInsertParams struct {
	Time   time.Time
	Actor  string
	Action string
	Detail string
}

// AuditListParams pages AuditList: the newest Limit entries (0 = 100)
// older than BeforeID (0 = from the newest).
type AuditListParams struct {
	Limit    int
	BeforeID int64
}

// Record adds an entry to the audit trail, with the actor of ctx (the
// server itself when ctx names none).
func (m *Manager) Record(ctx context.Context, action, detail string) error {
	err := m.store.AuditInsert(ctx, AuditInsertParams{Time: m.now().UTC(), Actor: actorOr(ctx, SystemActor), Action: action, Detail: detail})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditLog returns audit entries, newest first.
func (m *Manager) AuditLog(ctx context.Context, p AuditListParams) ([]AuditEntry, error) {
	return m.store.AuditList(ctx, p)
}

// ChangeLimits is SetLimits on behalf of the actor of ctx: the change is
// recorded in the audit trail before it is announced. A change that cannot
// be recorded is undone and returned as an error, so no limit changes
// without its record.
func (m *Manager) ChangeLimits(ctx context.Context, p LimitsPatch) (old, updated Limits, err error) {
	if err := ActorOf(ctx).AdminOnly("changing limits"); err != nil {
		l := m.Limits()
		return l, l, err
	}
	m.mu.Lock()
	old = m.limits
	updated = old.apply(p)
	m.mu.Unlock()
	if err := updated.Validate(); err != nil {
		return old, old, err
	}
	if err := m.Record(ctx, AuditLimits, limitsDiff(old, updated)); err != nil {
		return old, old, err
	}
	return m.SetLimits(p)
}

// limitsDiff says what changed between two limits, field by field.
func limitsDiff(old, updated Limits) string {
	var a, b map[string]any
	ja, _ := json.Marshal(old)
	jb, _ := json.Marshal(updated)
	_ = json.Unmarshal(ja, &a)
	_ = json.Unmarshal(jb, &b)
	out := ""
	for _, k := range []string{"max_concurrent_jobs", "max_cpu_percent", "min_memory_gb", "min_disk_gb"} {
		if fmt.Sprint(a[k]) == fmt.Sprint(b[k]) {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%s %v → %v", k, a[k], b[k])
	}
	if out == "" {
		return "limits set, unchanged"
	}
	return out
}
