package solverlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cutLog is the fake solver's HFSS log up to (not including) the first
// line containing stop, with every old → new replacement made.
func cutLog(t *testing.T, stop string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fake-solver-hfss.log"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := strings.Cut(string(b), stop)
	return strings.NewReplacer(replace...).Replace(text)
}

// A job that ended leaves nothing of its solve under way: no pass, stage
// or frequency still running, whatever the log stopped at; a completed
// interpolating sweep is done.
func TestSettleEndsEveryPhase(t *testing.T) {
	t.Parallel()
	midPass := cutLog(t, "Matrix Solve : Real Time 00:00:06")
	midSweep := cutLog(t, "Frequency - 1.5GHz : Elapsed",
		"Discrete HFSS Frequency Sweep", "Interpolating HFSS Frequency Sweep", "6 Frequencies", "201 Frequencies")
	midSweep += "[info] Project:filter_bank, Design:rx_filter, An interpolating frequency sweep with 201 points has been started using HFSS - Solving Distributed. (09:15:19 AM  Mar 03, 2026)\n"
	for _, tc := range []struct {
		name, log, status string
		state             State
		progress          string
	}{
		{"mid-pass, completed", midPass, "completed", StateCompleted, "completed: 3 adaptive passes, not converged; 2 warnings"},
		{"mid-pass, failed", midPass, "failed", StateFailed, "failed; 2 warnings"},
		{"mid-pass, cancelled", midPass, "cancelled", StateCancelled, "cancelled; 2 warnings"},
		{"mid-sweep, completed", midSweep, "completed", StateCompleted, "completed: converged at pass 5 (max ΔS 0.0119), sweep of 201 points done; 3 warnings"},
		{"mid-sweep, cancelled", midSweep, "cancelled", StateCancelled, "cancelled; 3 warnings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok, err := Parse(strings.NewReader(tc.log), time.UTC)
			if err != nil || !ok {
				t.Fatalf("Parse: %v %v", ok, err)
			}
			if s.State.Final() {
				t.Fatalf("the cut log already says %s", s.State)
			}
			s.Settle(tc.status)
			if s.State != tc.state {
				t.Errorf("state %s, want %s", s.State, tc.state)
			}
			if s.Adaptive != nil && s.Adaptive.CurrentPass != 0 {
				t.Errorf("pass %d still running", s.Adaptive.CurrentPass)
			}
			for _, st := range s.Stages {
				if st.ElapsedSeconds == nil {
					t.Errorf("stage %s still running", st.Name)
				}
			}
			if sw := s.Sweep; sw != nil {
				if sw.Solving != 0 {
					t.Errorf("%d frequencies still solving", sw.Solving)
				}
				if sw.Done != (tc.status == "completed") {
					t.Errorf("sweep done = %v after %s", sw.Done, tc.status)
				}
			}
			if got := s.Progress().String(); got != tc.progress {
				t.Errorf("progress %q, want %q", got, tc.progress)
			}
		})
	}
}

func TestProgressStringInterpolatingSweep(t *testing.T) {
	t.Parallel()
	p := Progress{Phase: StateSweeping, SweepSolved: 4, SweepPoints: 201, SweepKind: "interpolating"}
	if got, want := p.String(), "sweeping: 4 frequencies solved to fit 201 points"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
