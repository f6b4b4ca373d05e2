package hfss

import (
	"slices"
	"strings"
)

// The scheduler types a configuration may name. The server, not the client,
// decides which one a job really goes to.
const (
	SchedulerNone       = "none"
	SchedulerSLURM      = "slurm"
	SchedulerLSF        = "lsf"
	SchedulerPBS        = "pbs"
	SchedulerWindowsHPC = "windows_hpc"
	SchedulerSGE        = "sge"
)

// DefaultSolver is the solver name PyEDB puts in every configuration.
const DefaultSolver = "Hfss3DLayout"

// Config is PyEDB's HFSSSimulationConfig. The JSON names are PyEDB's, and a
// Config that Decode returned encodes with encoding/json to a document Decode
// reads back to the same Config (a nil MachineNodes would come back as the
// default node, but Decode never returns one).
type Config struct {
	// AnsysEDTPath is the client's idea of the solver; the server decides
	// whether it is used (SPEC section 6) and passes the real one to
	// CommandLine.
	AnsysEDTPath string `json:"ansys_edt_path"`
	Solver       string `json:"solver"`
	// JobID is empty until the caller generates one with NewJobID.
	JobID        string        `json:"jobid"`
	User         string        `json:"user"`
	Distributed  bool          `json:"distributed"`
	MachineNodes []MachineNode `json:"machine_nodes"`
	// Auto asks ansysedt for automatic HPC settings; PyEDB passes it to
	// schedulers only, so CommandLine never emits it.
	Auto          bool          `json:"auto"`
	NonGraphical  bool          `json:"non_graphical"`
	Monitor       bool          `json:"monitor"`
	LayoutOptions LayoutOptions `json:"layout_options"`
	ProjectPath   string        `json:"project_path"`
	// DesignName, DesignMode and SetupName form the "design:mode:setup"
	// argument of -batchsolve; empty parts solve the active design and all
	// of its setups.
	DesignName       string           `json:"design_name"`
	DesignMode       string           `json:"design_mode"`
	SetupName        string           `json:"setup_name"`
	SchedulerType    string           `json:"scheduler_type"`
	SchedulerOptions SchedulerOptions `json:"scheduler_options"`
}

// MachineNode is one entry of the local -machinelist. Ansys reads the four
// numbers as tasks, cores and the RAM percentage; PyEDB's names are kept.
type MachineNode struct {
	Hostname string `json:"hostname"`
	// Cores is the number of tasks on the host; -1 lets the solver use all.
	Cores       int `json:"cores"`
	MaxCores    int `json:"max_cores"`
	Utilization int `json:"utilization"`
}

// LayoutOptions is PyEDB's HFSS3DLayoutBatchOptions: the -batchoptions keys.
type LayoutOptions struct {
	CreateStartingMesh     bool   `json:"create_starting_mesh"`
	DefaultProcessPriority string `json:"default_process_priority"`
	EnableGPU              bool   `json:"enable_gpu"`
	MPIVendor              string `json:"mpi_vendor"`
	MPIVersion             string `json:"mpi_version"`
	RemoteSpawnCommand     string `json:"remote_spawn_command"`
	SolveAdaptiveOnly      bool   `json:"solve_adaptive_only"`
	ValidateOnly           bool   `json:"validate_only"`
	// TempDirectory is carried for PyEDB compatibility; PyEDB does not
	// pass it to the solver either.
	TempDirectory string `json:"temp_directory"`
}

// SchedulerOptions is PyEDB's SchedulerOptions: what a cluster scheduler is
// asked for. Time is also the local wall-time limit (see ParseWallTime).
type SchedulerOptions struct {
	Queue string `json:"queue"`
	Time  string `json:"time"`
	Nodes int    `json:"nodes"`
	// TasksPerNode stands in for CoresPerNode when that is 0 (see NumCores).
	TasksPerNode int `json:"tasks_per_node"`
	CoresPerNode int `json:"cores_per_node"`
	// Memory is per node, e.g. "4GB" (see ParseMemory); empty asks for the
	// scheduler's default.
	Memory             string `json:"memory"`
	Account            string `json:"account"`
	Reservation        string `json:"reservation"`
	QOS                string `json:"qos"`
	Constraints        string `json:"constraints"`
	Exclusive          bool   `json:"exclusive"`
	GPUs               int    `json:"gpus"`
	GPUType            string `json:"gpu_type"`
	Priority           string `json:"priority"`
	EmailNotification  string `json:"email_notification"`
	RunAsAdministrator bool   `json:"run_as_administrator"`
}

// Defaults of the fields whose zero value is not the default.
const (
	defaultProcessPriority = "Normal"
	defaultMPIVendor       = "Intel"
	defaultMPIVersion      = "Default"
	defaultRemoteSpawn     = "Scheduler"
	defaultQueue           = "default"
	defaultTime            = "24:00:00"
	defaultMemory          = "4GB"
	defaultPriority        = "Normal"
)

// DefaultMachineNode is the one node of Default's machine list.
func DefaultMachineNode() MachineNode {
	return MachineNode{Hostname: "localhost", Cores: -1, MaxCores: 20, Utilization: 90}
}

// Default returns the configuration a client gets by sending an empty object.
// Auto is true as in PyEDB (it only reaches scheduler command lines). User
// is empty: the server decides who owns a job. TempDirectory is empty rather than the host's temp
// folder, which would make the defaults depend on where they are computed.
func Default() Config {
	return Config{
		Solver:       DefaultSolver,
		Distributed:  true,
		Auto:         true,
		MachineNodes: []MachineNode{DefaultMachineNode()},
		NonGraphical: true,
		Monitor:      true,
		LayoutOptions: LayoutOptions{
			DefaultProcessPriority: defaultProcessPriority,
			MPIVendor:              defaultMPIVendor,
			MPIVersion:             defaultMPIVersion,
			RemoteSpawnCommand:     defaultRemoteSpawn,
		},
		SchedulerType: SchedulerNone,
		SchedulerOptions: SchedulerOptions{
			Queue:        defaultQueue,
			Time:         defaultTime,
			Nodes:        1,
			TasksPerNode: 1,
			Memory:       defaultMemory,
			Priority:     defaultPriority,
		},
	}
}

// The spellings Ansys and the schedulers expect, in the order messages list them.
var (
	processPriorities   = []string{"Normal", "Low", "High", "Idle"}
	mpiVendors          = []string{"Microsoft", "Intel", "Open MPI"}
	schedulerPriorities = []string{"Low", "BelowNormal", "Normal", "AboveNormal", "High"}
	schedulerTypes      = []string{SchedulerNone, SchedulerSLURM, SchedulerLSF, SchedulerPBS, SchedulerWindowsHPC, SchedulerSGE}
)

// ProcessPriorities are the values of layout_options.default_process_priority,
// MPIVendors of layout_options.mpi_vendor and SchedulerPriorities of
// scheduler_options.priority, spelt as Ansys and the schedulers expect. The
// submit form offers them and the scheduler backends check them: each is a
// copy, so no caller can change what the others see.
func ProcessPriorities() []string   { return slices.Clone(processPriorities) }
func MPIVendors() []string          { return slices.Clone(mpiVendors) }
func SchedulerPriorities() []string { return slices.Clone(schedulerPriorities) }

// Normalize trims surrounding white space, gives case-insensitive names the
// spelling Ansys expects ("open mpi" becomes "Open MPI", "SLURM" "slurm"),
// and puts the default back where a client sent an empty string for a field
// that has no meaningful empty value. It never makes an invalid value valid
// in a way a human would not expect, and running it twice changes nothing.
func (c *Config) Normalize() {
	for _, s := range []*string{
		&c.AnsysEDTPath, &c.Solver, &c.JobID, &c.User, &c.ProjectPath,
		&c.DesignName, &c.DesignMode, &c.SetupName, &c.SchedulerType,
	} {
		*s = strings.TrimSpace(*s)
	}
	orDefault(&c.Solver, DefaultSolver)
	c.SchedulerType = strings.ToLower(c.SchedulerType)
	orDefault(&c.SchedulerType, SchedulerNone)
	c.ProjectPath = trimProjectPath(c.ProjectPath)

	// Config is copied by value, so the slice may be shared with the
	// caller's copy: normalise a copy of it.
	c.MachineNodes = slices.Clone(c.MachineNodes)
	for i := range c.MachineNodes {
		c.MachineNodes[i].Hostname = strings.TrimSpace(c.MachineNodes[i].Hostname)
	}

	lo := &c.LayoutOptions
	for _, s := range []*string{&lo.DefaultProcessPriority, &lo.MPIVendor, &lo.MPIVersion, &lo.RemoteSpawnCommand, &lo.TempDirectory} {
		*s = strings.TrimSpace(*s)
	}
	orDefault(&lo.DefaultProcessPriority, defaultProcessPriority)
	orDefault(&lo.MPIVendor, defaultMPIVendor)
	orDefault(&lo.MPIVersion, defaultMPIVersion)
	orDefault(&lo.RemoteSpawnCommand, defaultRemoteSpawn)
	lo.DefaultProcessPriority = canonical(lo.DefaultProcessPriority, processPriorities)
	lo.MPIVendor = canonical(lo.MPIVendor, mpiVendors)
	if strings.EqualFold(lo.MPIVendor, "OpenMPI") {
		lo.MPIVendor = "Open MPI"
	}

	so := &c.SchedulerOptions
	for _, s := range []*string{
		&so.Queue, &so.Time, &so.Memory, &so.Account, &so.Reservation, &so.QOS,
		&so.Constraints, &so.GPUType, &so.Priority, &so.EmailNotification,
	} {
		*s = strings.TrimSpace(*s)
	}
	orDefault(&so.Queue, defaultQueue)
	orDefault(&so.Time, defaultTime)
	orDefault(&so.Priority, defaultPriority)
	so.Priority = canonical(so.Priority, schedulerPriorities)
}

func orDefault(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

// canonical returns the entry of names equal to s ignoring case, or s.
func canonical(s string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return n
		}
	}
	return s
}

// trimProjectPath drops trailing separators from a project path: an .aedb
// project is a folder, and clients that picked the folder send "x.aedb/".
func trimProjectPath(p string) string {
	t := strings.TrimRight(p, `/\`)
	if t != "" && hasProjectExt(t) {
		return t
	}
	return p
}

func hasProjectExt(p string) bool {
	if len(p) < 5 {
		return false
	}
	ext := p[len(p)-5:]
	return strings.EqualFold(ext, ".aedt") || strings.EqualFold(ext, ".aedb")
}
