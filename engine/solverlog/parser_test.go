package solverlog

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the parser's answers")

// fixtures are logs we wrote in the formats the solvers print; the fake
// solver's realistic HFSS log lives with the fake solver.
var fixtures = map[string]string{
	"hfss-complete":   filepath.Join("..", "..", "testdata", "fake-solver-hfss.log"),
	"hfss-running":    filepath.Join("testdata", "hfss-running.log"),
	"hfss-error":      filepath.Join("testdata", "hfss-error.log"),
	"hfss-variations": filepath.Join("testdata", "hfss-variations.log"),
	"siwave":          filepath.Join("testdata", "siwave.log"),
	"fake-solver":     filepath.Join("testdata", "fake-solver.log"),
	"unrelated":       filepath.Join("testdata", "unrelated.log"),
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, log []byte) (Summary, bool) {
	t.Helper()
	s, ok, err := Parse(bytes.NewReader(log), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return s, ok
}

// facts are what a person reads first in a summary.
type facts struct {
	OK                     bool
	Solver, SolverVersion  string
	Project, Design, Setup string
	State                  State
	Error                  string
	Progress               Progress
	Machines               int
	Cores                  int
	PeakMemoryMB           float64
	Stages                 []string
	Elapsed                float64
	CurrentPass            int
	SweepSolving           int
}

func factsOf(s Summary, ok bool) facts {
	f := facts{OK: ok, Solver: s.Solver, SolverVersion: s.SolverVersion, Project: s.Project, Design: s.Design, Setup: s.Setup,
		State: s.State, Error: s.Error, Progress: s.Progress(), Machines: len(s.Machines)}
	if s.Cores != nil {
		f.Cores = *s.Cores
	}
	if s.PeakMemoryMB != nil {
		f.PeakMemoryMB = *s.PeakMemoryMB
	}
	for _, st := range s.Stages {
		f.Stages = append(f.Stages, st.Name)
	}
	if s.ElapsedSeconds != nil {
		f.Elapsed = *s.ElapsedSeconds
	}
	if s.Adaptive != nil {
		f.CurrentPass = s.Adaptive.CurrentPass
	}
	if s.Sweep != nil {
		f.SweepSolving = s.Sweep.Solving
	}
	return f
}

func fptr(f float64) *float64 { return &f }

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want facts
	}{
		{"hfss-complete", facts{OK: true, Solver: "HFSS", SolverVersion: "2025.2.0", Project: "filter_bank", Design: "rx_filter", Setup: "Setup1",
			State: StateCompleted, Progress: Progress{Solver: "HFSS", Phase: StateCompleted, Pass: 5, MaxMagDeltaS: fptr(0.01187), SolvedElements: 69871,
				Converged: true, SweepSolved: 6, SweepPoints: 6, SweepKind: "discrete", SweepDone: true, Warnings: 3},
			Machines: 1, Cores: 4, PeakMemoryMB: 1044.48, Stages: []string{"Initial Meshing", "Adaptive Meshing", "Frequency Sweep"}, Elapsed: 99}},
		{"hfss-running", facts{OK: true, Solver: "HFSS", SolverVersion: "2024.2.0", Project: "ddr5_channel", Design: "ddr5_channel", Setup: "HFSS_Setup",
			State: StateAdaptive, Progress: Progress{Solver: "HFSS", Phase: StateAdaptive, Pass: 2, MaxMagDeltaS: fptr(0.14421), SolvedElements: 396410, CurrentPass: 3},
			Machines: 2, Cores: 16, PeakMemoryMB: 12390.4, Stages: []string{"Initial Meshing", "Adaptive Meshing"}, Elapsed: 233, CurrentPass: 3}},
		{"hfss-error", facts{OK: true, Solver: "HFSS", SolverVersion: "2025.1.0", Project: "antenna_array", Design: "array8", Setup: "Setup1",
			State: StateFailed, Error: "Simulation completed with execution error on server: Local Machine.",
			Progress: Progress{Solver: "HFSS", Phase: StateFailed, Warnings: 1, Errors: 2, Error: "Simulation completed with execution error on server: Local Machine."},
			Stages:   []string{"Initial Meshing"}, Elapsed: 12}},
		{"hfss-variations", facts{OK: true, Project: "bga_escape", Design: "escape", Setup: "Setup1", State: StateSweeping,
			Progress: Progress{Phase: StateSweeping, Pass: 3, MaxMagDeltaS: fptr(0.0297), SolvedElements: 14433, SweepSolved: 1, SweepPoints: 4001, SweepKind: "interpolating", Warnings: 1},
			Stages:   []string{"Adaptive Meshing", "Adaptive Meshing", "Frequency Sweep"}, Elapsed: 91, SweepSolving: 1}},
		{"siwave", facts{OK: true, Solver: "SIwave", SolverVersion: "2026 R1", Project: "board_pdn", Design: "main_board", Setup: "SIWAVE_PDN",
			State: StateCompleted, Progress: Progress{Solver: "SIwave", Phase: StateCompleted, SweepSolved: 41, SweepKind: "interpolating", SweepDone: true, Warnings: 2},
			Machines: 1, Cores: 3, PeakMemoryMB: 705, Stages: []string{"Frequency Sweep"}, Elapsed: 140}},
		{"fake-solver", facts{OK: true, State: StateAdaptive,
			Progress: Progress{Phase: StateAdaptive, Pass: 2, MaxMagDeltaS: fptr(0.01), SolvedElements: 15600}}},
		{"unrelated", facts{State: StateStarting, Progress: Progress{Phase: StateStarting}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ok := parse(t, read(t, fixtures[tc.name]))
			if diff := cmp.Diff(tc.want, factsOf(s, ok)); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			got, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(strings.TrimSpace(string(read(t, golden))), string(got)); diff != "" {
				t.Errorf("summary differs from %s (-want +got); go test -update rewrites it:\n%s", golden, diff)
			}
		})
	}
}

// A log read in pieces of any size, and with Windows line ends, gives
// the summary it gives in one piece.
func TestParsePiecewiseAndCRLF(t *testing.T) {
	t.Parallel()
	logs := map[string][]byte{}
	for name, path := range fixtures {
		logs[name] = read(t, path)
	}
	for name, path := range samples(t) {
		logs[name] = read(t, path)
	}
	for name, log := range logs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			whole, ok := parse(t, log)
			rng := rand.New(rand.NewPCG(uint64(len(log)), 1))
			for _, size := range []int{1, 2, 7, 64, 4096, -1} {
				p := NewParser(time.UTC)
				for rest := log; len(rest) > 0; {
					n := size
					if n < 0 {
						n = 1 + rng.IntN(300)
					}
					n = min(n, len(rest))
					p.Write(rest[:n])
					rest = rest[n:]
				}
				p.Flush()
				if diff := cmp.Diff(whole, p.Summary()); diff != "" || p.Recognised() != ok {
					t.Fatalf("in pieces of %d: recognised %v, want %v; summary (-whole +pieces):\n%s", size, p.Recognised(), ok, diff)
				}
			}
			crlf, _ := parse(t, bytes.ReplaceAll(log, []byte("\n"), []byte("\r\n")))
			if diff := cmp.Diff(whole, crlf); diff != "" {
				t.Errorf("with CRLF line ends (-LF +CRLF):\n%s", diff)
			}
		})
	}
}

// Fed line by line as a solve writes it, the progress moves through the
// phases in order: what job_progress events announce.
func TestProgressAsTheLogGrows(t *testing.T) {
	t.Parallel()
	p := NewParser(time.UTC)
	var got []string
	last := ""
	for line := range strings.SplitAfterSeq(string(read(t, fixtures["hfss-complete"])), "\n") {
		p.Write([]byte(line))
		if !p.Recognised() {
			continue
		}
		if s := p.Summary().Progress().String(); s != last {
			got = append(got, s)
			last = s
		}
	}
	want := []string{
		"starting",
		"starting; 1 warning",
		"starting; 2 warnings",
		"meshing; 2 warnings",
		"adaptive meshing; 2 warnings",
		"adaptive pass 1: 31,004 elements; 2 warnings",
		"adaptive pass 2: max ΔS 0.318, 38,620 elements; 2 warnings",
		"adaptive pass 3: max ΔS 0.0873, 46,955 elements; 2 warnings",
		"adaptive pass 4: max ΔS 0.026, 57,102 elements; 2 warnings",
		"adaptive pass 5: max ΔS 0.0119, 69,871 elements; 2 warnings",
		"converged at pass 5 (max ΔS 0.0119); 2 warnings",
		"sweeping (converged at pass 5); 2 warnings",
		"sweeping: 0/6 frequencies (converged at pass 5); 2 warnings",
		"sweeping: 1/6 frequencies (converged at pass 5); 2 warnings",
		"sweeping: 2/6 frequencies (converged at pass 5); 2 warnings",
		"sweeping: 2/6 frequencies (converged at pass 5); 3 warnings",
		"sweeping: 3/6 frequencies (converged at pass 5); 3 warnings",
		"sweeping: 4/6 frequencies (converged at pass 5); 3 warnings",
		"sweeping: 5/6 frequencies (converged at pass 5); 3 warnings",
		"sweeping: 6/6 frequencies (converged at pass 5); 3 warnings",
		"completed: converged at pass 5 (max ΔS 0.0119), 6 frequencies solved; 3 warnings",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress as the log grows (-want +got):\n%s", diff)
	}
}

func TestSettle(t *testing.T) {
	t.Parallel()
	running, _ := parse(t, read(t, fixtures["hfss-running"]))
	failed, _ := parse(t, read(t, fixtures["hfss-error"]))
	withError := running
	withError.Errors = Messages{Count: 1, Last: []Message{{Text: "Port 4 refinement failed"}}}
	for _, tc := range []struct {
		name      string
		s         Summary
		status    string
		state     State
		errorText string
	}{
		{"running, job completed", running, "completed", StateCompleted, ""},
		{"running, job failed", running, "failed", StateFailed, ""},
		{"running with an error, job failed", withError, "failed", StateFailed, "Port 4 refinement failed"},
		{"running, job cancelled", running, "cancelled", StateCancelled, ""},
		{"running, job still running", running, "running", StateAdaptive, ""},
		{"execution error, job completed (exit 0)", failed, "completed", StateFailed, failed.Error},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.Settle(tc.status)
			if s.State != tc.state || s.Error != tc.errorText {
				t.Errorf("Settle(%q) = %s %q, want %s %q", tc.status, s.State, s.Error, tc.state, tc.errorText)
			}
		})
	}
}

func TestProgressString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    Progress
		want string
	}{
		{Progress{Phase: StateStarting}, "starting"},
		{Progress{Phase: StateMeshing, Warnings: 1}, "meshing; 1 warning"},
		{Progress{Phase: StateAdaptive}, "adaptive meshing"},
		{Progress{Phase: StateAdaptive, Pass: 1, SolvedElements: 20228}, "adaptive pass 1: 20,228 elements"},
		{Progress{Phase: StateAdaptive, Pass: 3, MaxMagDeltaS: fptr(0.23296), SolvedElements: 29074, Warnings: 2}, "adaptive pass 3: max ΔS 0.233, 29,074 elements; 2 warnings"},
		{Progress{Phase: StateConverged, Pass: 8, MaxMagDeltaS: fptr(0.017318), Converged: true}, "converged at pass 8 (max ΔS 0.0173)"},
		{Progress{Phase: StateSweeping, SweepSolved: 4, SweepPoints: 201, Pass: 8, Converged: true}, "sweeping: 4/201 frequencies (converged at pass 8)"},
		{Progress{Phase: StateSweeping, SweepSolved: 12}, "sweeping: 12 frequencies"},
		{Progress{Phase: StateCompleted, Pass: 6, Errors: 2}, "completed: 6 adaptive passes, not converged; 2 errors"},
		{Progress{Phase: StateCompleted}, "completed"},
		{Progress{Phase: StateFailed, Error: "Simulation completed with\nexecution error", Errors: 1}, "failed: Simulation completed with execution error; 1 error"},
		{Progress{Phase: StateCancelled}, "cancelled"},
		{Progress{}, "unknown"},
		{Progress{Phase: "\x1b[2Jodd"}, " [2Jodd"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339, s)
		return t
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"11:55:29 AM  Oct 12, 2025", utc("2025-10-12T11:55:29Z"), true},
		{"1:32:23 PM  Jul 20, 2026", utc("2026-07-20T13:32:23Z"), true},
		{"10/12/2025 11:55:53", utc("2025-10-12T11:55:53Z"), true},
		{"Mon Nov 10 17:46:28 2025", utc("2025-11-10T17:46:28Z"), true},
		{"25:61:00 PM Oct 12, 2025", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, ok := parseTime(tc.in, time.UTC)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"00:01:13", 73, true}, {" 123:00:01", 442801, true}, {"1.02:00:00", 93600, true}, {"02:30", 150, true},
		{"1:2:3:4", 0, false}, {"aa:bb:cc", 0, false}, {"-1:00:00", 0, false}, {"99999999:00:00", 0, false},
	} {
		if got, ok := parseDuration(tc.in); ok != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		num, unit string
		want      float64
		ok        bool
	}{
		{"154", "M", 154, true}, {"1.15", "G", 1177.6, true}, {"512", "K", 0.5, true}, {"1", "T", 1 << 20, true},
		{"NaN", "M", 0, false}, {"Inf", "G", 0, false}, {"-3", "M", 0, false}, {"3", "X", 0, false}, {"1e308", "T", 0, false},
	} {
		if got, ok := megabytes(tc.num, tc.unit); ok != tc.ok || got != tc.want {
			t.Errorf("megabytes(%q, %q) = %v %v, want %v %v", tc.num, tc.unit, got, ok, tc.want, tc.ok)
		}
	}
}

// Whatever it is fed, a parser keeps bounded state.
func TestBounds(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("[warning] " + strings.Repeat("x", 3*maxLine) + "\n")
	for i := 1; i <= 3*maxPasses; i++ {
		b.WriteString("[info] [CONVERGE] Pass Number: " + strconv.Itoa(i) + "; Max Mag. Delta S: 0.5\n")
		b.WriteString("[warning] warning " + strconv.Itoa(i) + " (11:55:40 AM  Oct 12, 2025)\n")
		b.WriteString("[info] Project:p, S : [PROFILE] Frequency - " + strconv.Itoa(i) + "GHz : host (11:55:40 AM  Oct 12, 2025)\n")
	}
	b.WriteString("[error] continued\n" + strings.Repeat("more\n", 2*maxContinuation))
	s, ok := parse(t, b.Bytes())
	if !ok || len(s.Adaptive.Passes) != maxPasses || s.Adaptive.Passes[0].Pass != 2*maxPasses+1 {
		t.Errorf("passes: %d kept, first %d", len(s.Adaptive.Passes), s.Adaptive.Passes[0].Pass)
	}
	if s.Warnings.Count != 3*maxPasses+1 || len(s.Warnings.Last) != maxLast || s.Warnings.Last[maxLast-1].Text != "warning 1500" {
		t.Errorf("warnings: %d, last %+v", s.Warnings.Count, s.Warnings.Last)
	}
	for _, m := range append(s.Warnings.Last, s.Errors.Last...) {
		if len(m.Text) > maxText {
			t.Errorf("message of %d bytes kept", len(m.Text))
		}
	}
	if s.Sweep.Solving != 3*maxPasses || s.Lines != 1+9*maxPasses+1+2*maxContinuation {
		t.Errorf("sweep solving %d, lines %d", s.Sweep.Solving, s.Lines)
	}
}

// A job record's progress reads as words; other JSON is shown as it is,
// on one line.
func TestText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want string }{
		{``, ""},
		{`null`, ""},
		{`{"phase":"adaptive","pass":3,"max_mag_delta_s":0.23296,"solved_elements":29074,"converged":false,"warnings":2,"errors":0}`,
			"adaptive pass 3: max ΔS 0.233, 29,074 elements; 2 warnings"},
		{`{"phase":"sweeping","sweep_solved":4,"sweep_points":201,"pass":8,"converged":true,"warnings":0,"errors":0}`, "sweeping: 4/201 frequencies (converged at pass 8)"},
		{`{"pass":3}`, `{"pass":3}`},
		{"{\"step\":\"\u001b[2J\"}\n", `{"step":" [2J"} `},
	} {
		if got := Text([]byte(tc.raw)); got != tc.want {
			t.Errorf("Text(%s) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}
