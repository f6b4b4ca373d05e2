// Package runner holds the places a job can run: the local host and the
// cluster schedulers, behind one interface.
package runner

import (
	"context"
	"errors"
	"time"
)

// State is what a runner reports about a job it started.
type State string

// The states a runner reports.
const (
	StateScheduled State = "scheduled" // accepted by an external scheduler, waiting there
	StateRunning   State = "running"
	StateCompleted State = "completed" // exit code 0
	StateFailed    State = "failed"    // non-zero exit, killed, lost, wall time exceeded
	StateCancelled State = "cancelled" // ended by Cancel
)

// Terminal reports whether s ends the job.
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateFailed || s == StateCancelled
}

// Every job's environment names it, so that its processes can be found
// and told apart (a local runner finds a job's process by them after a
// crash that left no pid on record).
const (
	EnvJobID   = "SIMJOBS_JOB_ID"
	EnvAttempt = "SIMJOBS_ATTEMPT"
)

// ErrUnknownJob: Cancel or Adopt named a job this runner does not track.
var ErrUnknownJob = errors.New("runner: unknown job")

// ErrUnavailable: Start could not reach the scheduler, and the job is not
// known to have been submitted. Starting it again later is safe: a
// scheduler runner looks the job up by name before it submits.
var ErrUnavailable = errors.New("scheduler unavailable")

// Spec is one attempt of a job to run.
type Spec struct {
	JobID   string
	Attempt int
	Argv    []string // argv[0] is the executable; never run through a shell
	Dir     string   // working directory
	Env     []string // KEY=VALUE added to the server's environment
	Stdout  string   // file receiving stdout (created, appended)
	Stderr  string   // file receiving stderr
	// WallTime ends the job as failed when it runs longer; 0 = no limit.
	WallTime time.Duration
	// Resources are what a cluster scheduler is asked for; the local runner
	// ignores them.
	Resources Resources
	// MachineList, when set, has a cluster runner's batch script replace
	// one argument with the ansysedt machine list of the hosts the
	// scheduler allocated, read at run time; nil leaves Argv as it is.
	MachineList *MachineList
}

// MachineList says where an HFSS solve spread over several hosts takes
// its hosts: Argv[Arg] (PyEDB's "numcores=N" after -machinelist) becomes
// "list=host1:tasks:cores:RAM%,host2:...", one entry per host the
// scheduler gave the job, in the order it lists them. The tasks and cores
// of an entry come from the scheduler's count for the host and the job's
// tasks_per_node and cores_per_node.
type MachineList struct {
	Arg         int // index in Argv of the value replaced
	Utilization int // the RAM percentage of every entry, 1 to 100
}

// Resources are the scheduler options of a job (PyEDB's SchedulerOptions).
type Resources struct {
	Queue        string
	Time         string // as submitted: HH:MM:SS, D.HH:MM:SS or minutes
	Nodes        int
	TasksPerNode int
	CoresPerNode int
	Memory       string
	Account      string
	Reservation  string
	QOS          string
	Constraints  string
	Exclusive    bool
	GPUs         int
	GPUType      string
	Priority     string
	Email        string
	RunAsAdmin   bool
}

// Handle identifies a started job so that a restarted server can find it.
type Handle struct {
	PID        int    // local process (group leader), 0 for schedulers
	PIDStart   uint64 // the process's start time (Linux clock ticks since boot), 0 if unknown
	ExternalID string // scheduler job id, "" for local
}

// Ref names a job a runner started, possibly in an earlier server process.
type Ref struct {
	JobID   string
	Attempt int
	Handle  Handle
}

// Update is a change in a job's state, delivered on Runner.Updates.
type Update struct {
	JobID    string
	Attempt  int
	State    State
	ExitCode *int   // set for completed and failed when known
	Message  string // why it failed, or what happened
	Time     time.Time
}

// Runner starts jobs somewhere and reports what becomes of them.
type Runner interface {
	// Name is the runner's scheduler type: "none" for local, "slurm", ...
	Name() string
	// Start launches spec and returns when it runs (local) or was accepted
	// (scheduler). Its later states arrive on Updates. A scheduler runner
	// first looks for a job it already submitted under the same JobID and
	// Attempt (a crash may have interrupted an earlier Start after the
	// scheduler accepted it) and returns that one instead of submitting
	// twice.
	Start(ctx context.Context, spec Spec) (Handle, error)
	// Cancel asks a job to stop: for local jobs SIGTERM to its process group,
	// then SIGKILL after the grace period. The end arrives on Updates as
	// StateCancelled.
	Cancel(ctx context.Context, ref Ref) error
	// Adopt resumes tracking of a job started by an earlier server process.
	// What becomes of it arrives on Updates (a local process that is gone is
	// reported failed, with the reason).
	Adopt(ctx context.Context, ref Ref) error
	// Updates delivers state changes in the order they happened per job.
	// It is closed by Close.
	Updates() <-chan Update
	// Close stops tracking (it does not cancel jobs) and closes Updates.
	Close() error
}

// Partition is a cluster partition (SLURM), queue (LSF, PBS) or node group
// (Windows HPC) with its use.
type Partition struct {
	Name          string  `json:"name"`
	NodesTotal    int     `json:"nodes_total"`
	NodesUsed     int     `json:"nodes_used"`
	CoresTotal    int     `json:"cores_total"`
	CoresUsed     int     `json:"cores_used"`
	MemoryTotalGB float64 `json:"memory_total_gb"`
	MemoryUsedGB  float64 `json:"memory_used_gb"`
}

// PartitionLister is implemented by scheduler runners that can describe
// their cluster.
type PartitionLister interface {
	Partitions(ctx context.Context) ([]Partition, error)
}
