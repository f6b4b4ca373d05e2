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
