package solverlog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// samplesDir holds real solver logs (public, from ansys/pyedb) next to the
// repository on development machines; they are not part of the project.
var samplesDir = filepath.Join("..", "..", "..", "shared", "samples")

// samples returns the real logs present, by name; none when the folder is
// absent.
func samples(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range []string{"hfss-3dlayout-batch.log", "siwave.log"} {
		path := filepath.Join(samplesDir, name)
		if _, err := os.Stat(path); err != nil {
			t.Logf("real sample %s not read: %v", name, err)
			continue
		}
		out["sample "+name] = path
	}
	return out
}

// The real logs give the facts a person reading them finds.
func TestParseRealSamples(t *testing.T) {
	t.Parallel()
	have := samples(t)
	if len(have) == 0 {
		t.Skipf("skipping: the real solver logs are not at %s", samplesDir)
	}
	for _, tc := range []struct {
		name string
		want facts
	}{
		{"sample hfss-3dlayout-batch.log", facts{OK: true, Solver: "HFSS", SolverVersion: "2025.2.0", Project: "test1", Design: "board", Setup: "HFSS_Solution",
			State: StateSweeping, Progress: Progress{Solver: "HFSS", Phase: StateSweeping, Pass: 8, MaxMagDeltaS: fptr(0.017318), SolvedElements: 65671,
				Converged: true, SweepSolved: 4, SweepPoints: 201, SweepKind: "interpolating", Warnings: 3},
			Machines: 1, Cores: 2, PeakMemoryMB: 1208.32, Stages: []string{"Initial Meshing", "Adaptive Meshing", "Frequency Sweep"}, Elapsed: 157, SweepSolving: 2}},
		{"sample siwave.log", facts{OK: true, Solver: "SIwave", SolverVersion: "2026 R1", Project: "pdn_design_001", Design: "Cell_4DLT5F", Setup: "SIWAVE_SYZ_Setup1",
			State: StateCompleted, Progress: Progress{Solver: "SIwave", Phase: StateCompleted, SweepSolved: 76, SweepKind: "interpolating", SweepDone: true, Warnings: 136},
			Machines: 1, Cores: 6, PeakMemoryMB: 992, Stages: []string{"Frequency Sweep"}, Elapsed: 290}},
	} {
		path, ok := have[tc.name]
		if !ok {
			t.Logf("skipping %s: not present", tc.name)
			continue
		}
		s, recognised := parse(t, read(t, path))
		if diff := cmp.Diff(tc.want, factsOf(s, recognised)); diff != "" {
			t.Errorf("%s: facts (-want +got):\n%s", tc.name, diff)
		}
	}
}
