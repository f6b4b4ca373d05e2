package license

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// TestHoldRules checks the gate's arithmetic on a poll's findings, without
// lmutil or a manager.
func TestHoldRules(t *testing.T) {
	t.Parallel()
	lm, err := ParseMap([]byte(`{"replace_defaults": true, "commands": {"solve": {"features": {"f": 2}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(engine.CommandConfig{Command: []string{"/opt/solve"}})
	job := engine.GateJob{ID: "j", Attempt: 1, Kind: engine.KindCommand, Config: cfg}
	other := engine.GateJob{ID: "k", Attempt: 1, Kind: engine.KindCommand, Config: cfg}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		polled bool
		f      *Feature // nil: no server reports it
		admit  bool     // other was admitted just now
		want   string
	}{
		{"before the first poll", false, &Feature{Name: "f", Total: 9}, false, "waiting for the first poll of the license servers"},
		{"enough free", true, &Feature{Name: "f", Total: 4, InUse: 2}, false, ""},
		{"short", true, &Feature{Name: "f", Total: 4, InUse: 3}, false, "waiting for license f: needs 2 seats, 1 of 4 free"},
		{"reserved for a job just started", true, &Feature{Name: "f", Total: 3}, true, "waiting for license f: needs 2 seats, 1 of 3 free"},
		{"unknown feature holds nothing", true, nil, false, ""},
		{"uncounted holds nothing", true, &Feature{Name: "f", Uncounted: true}, false, ""},
		{"a reservation for our user is ours", true, &Feature{Name: "f", Total: 4, InUse: 3, Reservations: []Reservation{{Seats: 1, Kind: "USER", Name: "svc"}}}, false, ""},
		{"a reservation for a group is not", true, &Feature{Name: "f", Total: 4, InUse: 3, Reservations: []Reservation{{Seats: 1, Kind: "GROUP", Name: "svc"}}}, false, "waiting for license f: needs 2 seats, 1 of 4 free"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := New(Options{Servers: []string{"1055@licsrv"}, Map: &lm, User: "svc", Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if tc.polled {
				m.polled, m.sampledAt = true, now.Add(-time.Second)
				if tc.f != nil {
					m.servers[0].status = Status{Up: true, Features: []Feature{*tc.f}}
				}
				m.feats = m.sumFeaturesLocked()
			}
			if tc.admit {
				m.Admitted(other)
			}
			got := m.Hold(job)
			if tc.admit {
				want := tc.want + " (2 seats reserved for jobs just started)"
				if got != want {
					t.Fatalf("Hold = %q, want %q", got, want)
				}
				m.Released(other)
				if got := m.Hold(job); got != "" {
					t.Fatalf("after the release: %q", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("Hold = %q, want %q", got, tc.want)
			}
		})
	}
}

// A feature a server served before it could no longer be read holds no
// job: its seats are unknown, and a failure never blocks the queue.
func TestHoldIgnoresFeaturesOfUnreadServers(t *testing.T) {
	t.Parallel()
	lm, _ := ParseMap([]byte(`{"replace_defaults": true, "commands": {"solve": {"features": {"f": 1, "g": 1}}}}`))
	cfg, _ := json.Marshal(engine.CommandConfig{Command: []string{"solve"}})
	job := engine.GateJob{ID: "j", Attempt: 1, Kind: engine.KindCommand, Config: cfg}
	m, err := New(Options{Servers: []string{"1055@a", "1055@b"}, Map: &lm})
	if err != nil {
		t.Fatal(err)
	}
	full := func(name string) Feature { return Feature{Name: name, Total: 1, InUse: 1} }
	m.polled, m.sampledAt = true, time.Now()
	m.servers[0] = serverState{addr: "1055@a", status: Status{Up: true, Features: []Feature{full("f"), full("g")}}, served: map[string]bool{"f": true, "g": true}}
	m.servers[1] = serverState{addr: "1055@b", status: Status{Up: true, Features: []Feature{full("f")}}, served: map[string]bool{"f": true}}
	m.feats = m.sumFeaturesLocked()
	if got := m.Hold(job); got != "waiting for license f: needs 1 seat, 0 of 2 free" {
		t.Fatalf("both read: %q", got)
	}
	// b stops answering: f is no longer known, g (a's alone) still is.
	m.servers[1] = serverState{addr: "1055@b", err: "lmutil lmstat timed out after 20s", served: map[string]bool{"f": true}}
	m.feats = m.sumFeaturesLocked()
	if got := m.Hold(job); got != "waiting for license g: needs 1 seat, 0 of 1 free" {
		t.Fatalf("b unread: %q", got)
	}
	m.servers[0].status.Features[1] = Feature{Name: "g", Total: 1}
	m.feats = m.sumFeaturesLocked()
	if got := m.Hold(job); got != "" {
		t.Fatalf("g free, f unknown: %q", got)
	}
}
