// Package solverlog reads the batch log an Ansys Electronics Desktop solve
// prints with -monitor (HFSS, HFSS 3D Layout, SIwave run from AEDT) and
// sums it up: what is solved where, how far the solve has come (meshing,
// adaptive pass N with its Max Mag. Delta S, converged, sweeping, done),
// the warnings and errors, peak memory and elapsed times.
//
// A Parser is fed the log as it grows (it is an io.Writer and keeps only
// what the summary needs, never the log); Summary and Progress can be
// taken at any moment. Parse and ParseFile read a whole log at once. Any
// input is accepted: what is not recognised is skipped, and garbage never
// makes the parser fail or panic.
package solverlog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// State is how far a solve has come.
type State string

// The states of a solve, in the order a typical HFSS solve goes through
// them. Completed, Failed and Cancelled are final.
const (
	StateStarting  State = "starting"  // the batch run started; nothing solved yet
	StateMeshing   State = "meshing"   // initial mesh
	StateAdaptive  State = "adaptive"  // adaptive passes under way
	StateConverged State = "converged" // the adaptive passes converged; nothing after them yet
	StateSweeping  State = "sweeping"  // frequency sweep under way
	StateCompleted State = "completed" // the solver reported normal completion (or the run ended cleanly)
	StateFailed    State = "failed"    // the solver reported an execution error, or the job failed
	StateCancelled State = "cancelled" // the job was cancelled before the log said it ended
)

// States lists every state, for schemas and validation.
var States = []State{StateStarting, StateMeshing, StateAdaptive, StateConverged, StateSweeping, StateCompleted, StateFailed, StateCancelled}

// Final reports whether s is an end state.
func (s State) Final() bool {
	return s == StateCompleted || s == StateFailed || s == StateCancelled
}

// Summary is what a solver log says, as the API answers it. Strings are
// "" and pointers null when the log has not said.
type Summary struct {
	// Solver is what solves: "HFSS" or "SIwave"; SolverVersion its
	// version as the log gives it ("2025.2.0", "2026 R1").
	Solver        string `json:"solver"`
	SolverVersion string `json:"solver_version"`
	// Product, Version and Build are the desktop that ran the batch
	// ("Ansys Electronics Desktop", "2025.2.0", "2025-05-14 02:23:18").
	Product    string `json:"product"`
	Version    string `json:"version"`
	Build      string `json:"build"`
	DesignType string `json:"design_type"`
	Project    string `json:"project"`
	Design     string `json:"design"`
	Setup      string `json:"setup"`
	// ProjectPath is the project the batch solves (Batch Solve/Save).
	ProjectPath string `json:"project_path"`
	// CommandLine is the solver's command line as it reports it.
	CommandLine string `json:"command_line"`
	// User is the account the solver runs as.
	User string `json:"user"`
	// Host is the machine the solution process runs on.
	Host     string    `json:"host"`
	Machines []Machine `json:"machines"`
	// Cores is the cores of all machines together, when the log says.
	Cores *int `json:"cores"`

	State State `json:"state"`
	// Error says why the solve failed: the solver's fatal message, or the
	// last error it printed.
	Error string `json:"error"`

	// InitialMesh is the mesh the solve starts from (the Initial Meshing
	// stage), null until the log shows it.
	InitialMesh *InitialMesh `json:"initial_mesh"`
	Adaptive    *Adaptive    `json:"adaptive"`
	Sweep       *Sweep       `json:"sweep"`

	Warnings Messages `json:"warnings"`
	Errors   Messages `json:"errors"`

	// PeakMemoryMB is the most memory any profiled task used.
	PeakMemoryMB *float64 `json:"peak_memory_mb"`
	// Stages are the profile's sections (Initial Meshing, Adaptive
	// Meshing, Frequency Sweep) in order.
	Stages []Stage `json:"stages"`

	StartedAt    *time.Time `json:"started_at"`
	EndedAt      *time.Time `json:"ended_at"`
	LastActivity *time.Time `json:"last_activity"`
	// ElapsedSeconds runs from StartedAt to EndedAt, or to LastActivity
	// while the solve goes on.
	ElapsedSeconds *float64 `json:"elapsed_seconds"`
	// Lines is how many lines of log were read.
	Lines int `json:"lines"`
}

// Machine is one machine the solve runs on.
type Machine struct {
	Name            string   `json:"name"`
	Cores           *int     `json:"cores"`
	Tasks           *int     `json:"tasks"`
	MemoryGB        *float64 `json:"memory_gb"`
	RAMLimitPercent *float64 `json:"ram_limit_percent"`
}

// InitialMesh is the Initial Meshing stage: the tetrahedra of the mesh it
// ends with (after its port refinement, the mesh pass 1 solves on), its
// tasks' times added up and the most memory a task used.
type InitialMesh struct {
	Tetrahedra   *int64   `json:"tetrahedra"`
	RealSeconds  *float64 `json:"real_seconds"`
	CPUSeconds   *float64 `json:"cpu_seconds"`
	PeakMemoryMB *float64 `json:"peak_memory_mb"`
}

// Adaptive is the adaptive meshing of the latest adaptive solve.
type Adaptive struct {
	// Frequency is the adaptive frequency ("4GHz").
	Frequency string `json:"frequency"`
	// Passes are the finished passes, in order.
	Passes []Pass `json:"passes"`
	// CurrentPass is the pass under way, 0 when none is.
	CurrentPass int `json:"current_pass"`
	// Converged is true once the solver said the passes converged.
	Converged bool `json:"converged"`
	// TargetMaxMagDeltaS is the convergence target when a log line states
	// it (HFSS batch logs usually do not).
	TargetMaxMagDeltaS *float64 `json:"target_max_mag_delta_s"`
}

// Pass is one finished adaptive pass.
type Pass struct {
	Pass           int        `json:"pass"`
	Frequency      string     `json:"frequency"`
	SolvedElements *int64     `json:"solved_elements"`
	MaxMagDeltaS   *float64   `json:"max_mag_delta_s"`
	DeltaOutputVar *float64   `json:"delta_output_var"`
	MatrixSize     *int64     `json:"matrix_size"`
	ElapsedSeconds *float64   `json:"elapsed_seconds"`
	CPUSeconds     *float64   `json:"cpu_seconds"`
	PeakMemoryMB   *float64   `json:"peak_memory_mb"`
	EndedAt        *time.Time `json:"ended_at"`
}

// Sweep is the frequency sweep.
type Sweep struct {
	Name string `json:"name"`
	// Kind is "interpolating", "discrete" or "fast", "" if not said.
	Kind  string `json:"kind"`
	Start string `json:"start"`
	Stop  string `json:"stop"`
	// Points is how many frequencies the sweep has. An interpolating
	// sweep solves only some of them (its basis) and fits the rest.
	Points *int `json:"points"`
	// Solved counts the frequencies solved; Solving those started and
	// not yet finished.
	Solved        int    `json:"solved"`
	Solving       int    `json:"solving"`
	LastFrequency string `json:"last_frequency"`
	// BasisElements is the interpolating sweep's basis so far.
	BasisElements int  `json:"basis_elements"`
	Converged     bool `json:"converged"`
	// Done is true once the job completed with the sweep in it: an
	// interpolating sweep has then fitted all its points from the few it
	// solved.
	Done bool `json:"done"`
	// LastSolvedAt is when the last frequency was solved.
	LastSolvedAt *time.Time `json:"last_solved_at"`
}

// Messages are the warnings (or errors) of a log: how many, and the
// last few, oldest first.
type Messages struct {
	Count int       `json:"count"`
	Last  []Message `json:"last"`
}

// Message is one warning or error, without its level, its project and
// design prefix and its time stamp.
type Message struct {
	Time *time.Time `json:"time"`
	Text string     `json:"text"`
}

// Stage is one section of the solver's profile.
type Stage struct {
	Name      string     `json:"name"`
	StartedAt *time.Time `json:"started_at"`
	// ElapsedSeconds is null while the stage runs.
	ElapsedSeconds *float64 `json:"elapsed_seconds"`
}

// Settle makes a summary agree with how the job ended when the log itself
// did not say: status is the job's final status ("completed", "failed" or
// "cancelled"). A log that says the solve completed or failed keeps its
// word: ansysedt may exit 0 after an execution error.
//
// Whatever the log said, nothing is under way any more: no pass, stage or
// frequency is left running (see settleParts).
func (s *Summary) Settle(status string) {
	if s.State != StateCompleted && s.State != StateFailed {
		s.settleState(status)
	}
	if s.State.Final() {
		s.settleParts()
	}
}

// settleParts ends what the log left under way when the solve ended: the
// pass being solved, the frequencies being solved, the open stages (their
// time runs to the log's end). A completed solve completed its sweep.
func (s *Summary) settleParts() {
	if a := s.Adaptive; a != nil {
		a.CurrentPass = 0
	}
	end := s.EndedAt
	if end == nil {
		end = s.LastActivity
	}
	for i := range s.Stages {
		st := &s.Stages[i]
		if st.ElapsedSeconds == nil && st.StartedAt != nil && end != nil && !end.Before(*st.StartedAt) {
			st.ElapsedSeconds = ptr(end.Sub(*st.StartedAt).Seconds())
		}
	}
	if sw := s.Sweep; sw != nil {
		sw.Solving = 0
		sw.Done = s.State == StateCompleted
	}
}

// settleState is the state the job's end gives a log that did not say.
func (s *Summary) settleState(status string) {
	switch status {
	case "completed":
		s.State = StateCompleted
	case "failed":
		s.State = StateFailed
		if s.Error == "" && len(s.Errors.Last) > 0 {
			s.Error = s.Errors.Last[len(s.Errors.Last)-1].Text
		}
	case "cancelled":
		s.State = StateCancelled
	}
}

// Progress is the compact state of a solve that a job record carries and
// job_progress events announce. It changes only when something a person
// watching would care about changes.
type Progress struct {
	Solver string `json:"solver,omitempty"`
	Phase  State  `json:"phase"`
	// Pass is the last finished adaptive pass, MaxMagDeltaS and
	// SolvedElements its figures.
	Pass           int      `json:"pass,omitempty"`
	MaxMagDeltaS   *float64 `json:"max_mag_delta_s,omitempty"`
	SolvedElements int64    `json:"solved_elements,omitempty"`
	// CurrentPass is the adaptive pass being solved now, 0 between passes.
	CurrentPass int  `json:"current_pass,omitempty"`
	Converged   bool `json:"converged"`
	// SweepSolved and SweepPoints: frequencies solved, and the sweep's
	// size when the log says.
	SweepSolved int `json:"sweep_solved,omitempty"`
	SweepPoints int `json:"sweep_points,omitempty"`
	// SweepKind is the sweep's kind ("interpolating", ...); SweepDone is
	// true once it finished.
	SweepKind string `json:"sweep_kind,omitempty"`
	SweepDone bool   `json:"sweep_done,omitempty"`
	// Estimate is how far the part under way has come and when it should
	// end (Summary.Estimate), while the log says enough.
	Estimate *Estimate `json:"estimate,omitempty"`
	Warnings int       `json:"warnings"`
	Errors   int       `json:"errors"`
	Error    string    `json:"error,omitempty"`
}

// maxProgressError bounds Progress.Error.
const maxProgressError = 200

// Progress is the compact form of s.
func (s Summary) Progress() Progress {
	p := Progress{Solver: s.Solver, Phase: s.State, Warnings: s.Warnings.Count, Errors: s.Errors.Count}
	if a := s.Adaptive; a != nil {
		p.Converged, p.CurrentPass = a.Converged, a.CurrentPass
		if n := len(a.Passes); n > 0 {
			last := a.Passes[n-1]
			p.Pass, p.MaxMagDeltaS = last.Pass, last.MaxMagDeltaS
			if last.SolvedElements != nil {
				p.SolvedElements = *last.SolvedElements
			}
		}
	}
	if sw := s.Sweep; sw != nil {
		p.SweepSolved, p.SweepKind = sw.Solved, sw.Kind
		p.SweepDone = sw.Done || s.State == StateCompleted
		if sw.Points != nil {
			p.SweepPoints = *sw.Points
		}
	}
	if s.State == StateFailed {
		p.Error = truncate(s.Error, maxProgressError)
	}
	if e, ok := s.Estimate(); ok {
		p.Estimate = &e
	}
	return p
}

// Text is a job record's progress (JSON, as the engine stores it) for
// people: Progress.String when it is a solver's progress, else the JSON
// itself on one line; "" when there is none.
func Text(raw []byte) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var p Progress
	if json.Unmarshal(raw, &p) != nil || p.Phase == "" {
		return oneLine(string(raw))
	}
	return p.String()
}

// String is the progress for people: "adaptive pass 3: max ΔS 0.233,
// 29,074 elements; 2 warnings" (the figures of the last finished pass).
func (p Progress) String() string {
	var b strings.Builder
	converged := func() {
		fmt.Fprintf(&b, "converged at pass %d", p.Pass)
		if p.MaxMagDeltaS != nil {
			fmt.Fprintf(&b, " (max ΔS %s)", formatDelta(*p.MaxMagDeltaS))
		}
	}
	switch p.Phase {
	case StateAdaptive:
		if p.Pass == 0 {
			b.WriteString("adaptive meshing")
			break
		}
		fmt.Fprintf(&b, "adaptive pass %d", p.Pass)
		var figures []string
		if p.MaxMagDeltaS != nil {
			figures = append(figures, "max ΔS "+formatDelta(*p.MaxMagDeltaS))
		}
		if p.SolvedElements > 0 {
			figures = append(figures, group(p.SolvedElements)+" elements")
		}
		if len(figures) > 0 {
			b.WriteString(": " + strings.Join(figures, ", "))
		}
	case StateConverged:
		converged()
	case StateSweeping:
		b.WriteString("sweeping")
		switch {
		case p.SweepKind == "interpolating" && p.SweepPoints > 0:
			// It solves a few frequencies and fits the rest: n of the
			// points would read as a sweep barely begun.
			fmt.Fprintf(&b, ": %d frequencies solved to fit %d points", p.SweepSolved, p.SweepPoints)
		case p.SweepPoints > 0:
			fmt.Fprintf(&b, ": %d/%d frequencies", p.SweepSolved, p.SweepPoints)
		case p.SweepSolved > 0:
			fmt.Fprintf(&b, ": %d frequencies", p.SweepSolved)
		}
		if p.Converged && p.Pass > 0 {
			fmt.Fprintf(&b, " (converged at pass %d)", p.Pass)
		}
	case StateCompleted:
		b.WriteString("completed")
		if p.Pass > 0 {
			b.WriteString(": ")
			if p.Converged {
				converged()
			} else {
				fmt.Fprintf(&b, "%d adaptive passes, not converged", p.Pass)
			}
		}
		switch {
		case p.SweepDone && p.SweepKind == "interpolating" && p.SweepPoints > 0:
			fmt.Fprintf(&b, ", sweep of %d points done", p.SweepPoints)
		case p.SweepSolved > 0:
			fmt.Fprintf(&b, ", %d frequencies solved", p.SweepSolved)
		}
	case StateFailed:
		b.WriteString("failed")
		if p.Error != "" {
			b.WriteString(": " + oneLine(p.Error))
		}
	case "":
		b.WriteString("unknown")
	default:
		b.WriteString(oneLine(truncate(string(p.Phase), 40)))
	}
	var extra []string
	if p.Warnings > 0 {
		extra = append(extra, plural(p.Warnings, "warning"))
	}
	if p.Errors > 0 {
		extra = append(extra, plural(p.Errors, "error"))
	}
	if len(extra) > 0 {
		b.WriteString("; " + strings.Join(extra, ", "))
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// formatDelta shows a Delta S with three significant digits.
func formatDelta(f float64) string { return strconv.FormatFloat(f, 'g', 3, 64) }

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// oneLine flattens line breaks and other control characters to spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// truncate cuts s to at most n bytes on a character boundary, marking the
// cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (s State) valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}
