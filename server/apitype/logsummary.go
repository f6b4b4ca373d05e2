package apitype

import "time"

// LogState is how far a solve has come, as its log says.
type LogState string

// The states of a solve, in the order a typical HFSS solve goes through
// them. Completed, Failed and Cancelled are final.
const (
	LogStateStarting  LogState = "starting"
	LogStateMeshing   LogState = "meshing"
	LogStateAdaptive  LogState = "adaptive"
	LogStateConverged LogState = "converged"
	LogStateSweeping  LogState = "sweeping"
	LogStateCompleted LogState = "completed"
	LogStateFailed    LogState = "failed"
	LogStateCancelled LogState = "cancelled"
)

// LogStates lists every state.
var LogStates = []LogState{LogStateStarting, LogStateMeshing, LogStateAdaptive, LogStateConverged, LogStateSweeping, LogStateCompleted, LogStateFailed, LogStateCancelled}

// Final reports whether s is an end state.
func (s LogState) Final() bool {
	return s == LogStateCompleted || s == LogStateFailed || s == LogStateCancelled
}

// LogSummary is what a job's solver log says (GET /api/jobs/{id}/log).
// Strings are "" and pointers nil when the log has not said.
type LogSummary struct {
	// Solver is "HFSS" or "SIwave"; SolverVersion its version as the log
	// gives it.
	Solver        string `json:"solver"`
	SolverVersion string `json:"solver_version"`
	// Product, Version and Build are the desktop that ran the batch.
	Product     string       `json:"product"`
	Version     string       `json:"version"`
	Build       string       `json:"build"`
	DesignType  string       `json:"design_type"`
	Project     string       `json:"project"`
	Design      string       `json:"design"`
	Setup       string       `json:"setup"`
	ProjectPath string       `json:"project_path"`
	CommandLine string       `json:"command_line"`
	User        string       `json:"user"`
	Host        string       `json:"host"`
	Machines    []LogMachine `json:"machines"`
	// Cores is the cores of all machines together, when the log says.
	Cores *int `json:"cores"`

	State LogState `json:"state"`
	// Error says why the solve failed.
	Error string `json:"error"`

	InitialMesh *LogInitialMesh `json:"initial_mesh"`
	Adaptive    *LogAdaptive    `json:"adaptive"`
	Sweep       *LogSweep       `json:"sweep"`

	Warnings LogMessages `json:"warnings"`
	Errors   LogMessages `json:"errors"`

	// PeakMemoryMB is the most memory any profiled task used.
	PeakMemoryMB *float64 `json:"peak_memory_mb"`
	// Stages are the profile's sections in order.
	Stages []LogStage `json:"stages"`

	StartedAt    *time.Time `json:"started_at"`
	EndedAt      *time.Time `json:"ended_at"`
	LastActivity *time.Time `json:"last_activity"`
	// ElapsedSeconds runs from StartedAt to EndedAt, or to LastActivity
	// while the solve goes on.
	ElapsedSeconds *float64 `json:"elapsed_seconds"`
	// Lines is how many lines of log were read.
	Lines int `json:"lines"`
}

// LogMachine is one machine the solve runs on.
type LogMachine struct {
	Name            string   `json:"name"`
	Cores           *int     `json:"cores"`
	Tasks           *int     `json:"tasks"`
	MemoryGB        *float64 `json:"memory_gb"`
	RAMLimitPercent *float64 `json:"ram_limit_percent"`
}

// LogInitialMesh is the Initial Meshing stage.
type LogInitialMesh struct {
	Tetrahedra   *int64   `json:"tetrahedra"`
	RealSeconds  *float64 `json:"real_seconds"`
	CPUSeconds   *float64 `json:"cpu_seconds"`
	PeakMemoryMB *float64 `json:"peak_memory_mb"`
}

// LogAdaptive is the adaptive meshing of the latest adaptive solve.
type LogAdaptive struct {
	Frequency string    `json:"frequency"`
	Passes    []LogPass `json:"passes"`
	// CurrentPass is the pass under way, 0 when none is.
	CurrentPass        int      `json:"current_pass"`
	Converged          bool     `json:"converged"`
	TargetMaxMagDeltaS *float64 `json:"target_max_mag_delta_s"`
}

// LogPass is one finished adaptive pass.
type LogPass struct {
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

// LogSweep is the frequency sweep.
type LogSweep struct {
	Name string `json:"name"`
	// Kind is "interpolating", "discrete" or "fast", "" if not said.
	Kind          string     `json:"kind"`
	Start         string     `json:"start"`
	Stop          string     `json:"stop"`
	Points        *int       `json:"points"`
	Solved        int        `json:"solved"`
	Solving       int        `json:"solving"`
	LastFrequency string     `json:"last_frequency"`
	BasisElements int        `json:"basis_elements"`
	Converged     bool       `json:"converged"`
	Done          bool       `json:"done"`
	LastSolvedAt  *time.Time `json:"last_solved_at"`
}

// LogMessages are the warnings (or errors) of a log: how many, and the
// last few, oldest first.
type LogMessages struct {
	Count int          `json:"count"`
	Last  []LogMessage `json:"last"`
}

// LogMessage is one warning or error.
type LogMessage struct {
	Time *time.Time `json:"time"`
	Text string     `json:"text"`
}

// LogStage is one section of the solver's profile.
type LogStage struct {
	Name      string     `json:"name"`
	StartedAt *time.Time `json:"started_at"`
	// ElapsedSeconds is nil while the stage runs.
	ElapsedSeconds *float64 `json:"elapsed_seconds"`
}

// Progress is the compact state of a solve: Job.Progress and the data of
// job_progress events.
type Progress struct {
	Solver string   `json:"solver,omitempty"`
	Phase  LogState `json:"phase"`
	// Pass is the last finished adaptive pass, MaxMagDeltaS and
	// SolvedElements its figures.
	Pass           int      `json:"pass,omitempty"`
	MaxMagDeltaS   *float64 `json:"max_mag_delta_s,omitempty"`
	SolvedElements int64    `json:"solved_elements,omitempty"`
	// CurrentPass is the adaptive pass being solved now, 0 between passes.
	CurrentPass int    `json:"current_pass,omitempty"`
	Converged   bool   `json:"converged"`
	SweepSolved int    `json:"sweep_solved,omitempty"`
	SweepPoints int    `json:"sweep_points,omitempty"`
	SweepKind   string `json:"sweep_kind,omitempty"`
	SweepDone   bool   `json:"sweep_done,omitempty"`
	// Estimate is how far the part under way has come and when it should
	// end, while the log says enough.
	Estimate *Estimate `json:"estimate,omitempty"`
	Warnings int       `json:"warnings"`
	Errors   int       `json:"errors"`
	Error    string    `json:"error,omitempty"`
}

// Estimate is how far the part of the solve under way has come.
type Estimate struct {
	// Of is "adaptive" or "sweep".
	Of      string  `json:"of"`
	Percent float64 `json:"percent"`
	Done    int     `json:"done"`
	Total   int     `json:"total"`
	// End is when it should end.
	End time.Time `json:"end"`
}
