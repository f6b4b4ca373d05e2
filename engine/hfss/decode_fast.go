package hfss

import "encoding/json"

// The wire types mirror Config with a pointer for every field, so that one
// json.Unmarshal pass can tell absent and null (nil: keep the default) from
// given values. Decode tries this pass first; every submission goes through
// it, and the field-by-field decoder, which names the field of any error,
// runs only when this pass fails.
type wireConfig struct {
	AnsysEDTPath     *string       `json:"ansys_edt_path"`
	Solver           *string       `json:"solver"`
	JobID            *string       `json:"jobid"`
	User             *string       `json:"user"`
	Distributed      *bool         `json:"distributed"`
	MachineNodes     *[]*wireNode  `json:"machine_nodes"`
	Auto             *bool         `json:"auto"`
	NonGraphical     *bool         `json:"non_graphical"`
	Monitor          *bool         `json:"monitor"`
	LayoutOptions    *wireLayout   `json:"layout_options"`
	ProjectPath      *string       `json:"project_path"`
	DesignName       *string       `json:"design_name"`
	DesignMode       *string       `json:"design_mode"`
	SetupName        *string       `json:"setup_name"`
	SchedulerType    *string       `json:"scheduler_type"`
	SchedulerOptions *wireSchedule `json:"scheduler_options"`
}

type wireNode struct {
	Hostname    *string `json:"hostname"`
	Cores       *int    `json:"cores"`
	MaxCores    *int    `json:"max_cores"`
	Utilization *int    `json:"utilization"`
}

type wireLayout struct {
	CreateStartingMesh     *bool   `json:"create_starting_mesh"`
	DefaultProcessPriority *string `json:"default_process_priority"`
	EnableGPU              *bool   `json:"enable_gpu"`
	MPIVendor              *string `json:"mpi_vendor"`
	MPIVersion             *string `json:"mpi_version"`
	RemoteSpawnCommand     *string `json:"remote_spawn_command"`
	SolveAdaptiveOnly      *bool   `json:"solve_adaptive_only"`
	ValidateOnly           *bool   `json:"validate_only"`
	TempDirectory          *string `json:"temp_directory"`
}

type wireSchedule struct {
	Queue              *string `json:"queue"`
	Time               *string `json:"time"`
	Nodes              *int    `json:"nodes"`
	TasksPerNode       *int    `json:"tasks_per_node"`
	CoresPerNode       *int    `json:"cores_per_node"`
	Memory             *string `json:"memory"`
	Account            *string `json:"account"`
	Reservation        *string `json:"reservation"`
	QOS                *string `json:"qos"`
	Constraints        *string `json:"constraints"`
	Exclusive          *bool   `json:"exclusive"`
	GPUs               *int    `json:"gpus"`
	GPUType            *string `json:"gpu_type"`
	Priority           *string `json:"priority"`
	EmailNotification  *string `json:"email_notification"`
	RunAsAdministrator *bool   `json:"run_as_administrator"`
}

// decodeFast is Decode's one-pass path. It reports false whenever the
// field-by-field decoder must decide: a document that is not an object, any
// decoding error (to name the field), a null machine node, an integer
// outside Decode's range, or a key encoding/json might have matched
// ignoring case (Decode's names are case-sensitive, as PyEDB's are).
func decodeFast(data []byte) (Config, bool) {
	if !plainKeys(data) {
		return Config{}, false
	}
	var w wireConfig
	if err := json.Unmarshal(data, &w); err != nil {
		return Config{}, false
	}
	c := Default()
	ok := true
	str := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	boolean := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	integer := func(dst *int, v *int) {
		if v != nil {
			if *v < minInt || *v > maxInt {
				ok = false
			}
			*dst = *v
		}
	}
	str(&c.AnsysEDTPath, w.AnsysEDTPath)
	str(&c.Solver, w.Solver)
	str(&c.JobID, w.JobID)
	str(&c.User, w.User)
	boolean(&c.Distributed, w.Distributed)
	if w.MachineNodes != nil {
		nodes := make([]MachineNode, 0, len(*w.MachineNodes))
		for _, wn := range *w.MachineNodes {
			if wn == nil {
				return Config{}, false
			}
			n := DefaultMachineNode()
			str(&n.Hostname, wn.Hostname)
			integer(&n.Cores, wn.Cores)
			integer(&n.MaxCores, wn.MaxCores)
			integer(&n.Utilization, wn.Utilization)
			nodes = append(nodes, n)
		}
		c.MachineNodes = nodes
	}
	boolean(&c.Auto, w.Auto)
	boolean(&c.NonGraphical, w.NonGraphical)
	boolean(&c.Monitor, w.Monitor)
	if lo := w.LayoutOptions; lo != nil {
		o := &c.LayoutOptions
		boolean(&o.CreateStartingMesh, lo.CreateStartingMesh)
		str(&o.DefaultProcessPriority, lo.DefaultProcessPriority)
		boolean(&o.EnableGPU, lo.EnableGPU)
		str(&o.MPIVendor, lo.MPIVendor)
		str(&o.MPIVersion, lo.MPIVersion)
		str(&o.RemoteSpawnCommand, lo.RemoteSpawnCommand)
		boolean(&o.SolveAdaptiveOnly, lo.SolveAdaptiveOnly)
		boolean(&o.ValidateOnly, lo.ValidateOnly)
		str(&o.TempDirectory, lo.TempDirectory)
	}
	str(&c.ProjectPath, w.ProjectPath)
	str(&c.DesignName, w.DesignName)
	str(&c.DesignMode, w.DesignMode)
	str(&c.SetupName, w.SetupName)
	str(&c.SchedulerType, w.SchedulerType)
	if so := w.SchedulerOptions; so != nil {
		o := &c.SchedulerOptions
		str(&o.Queue, so.Queue)
		str(&o.Time, so.Time)
		integer(&o.Nodes, so.Nodes)
		integer(&o.TasksPerNode, so.TasksPerNode)
		integer(&o.CoresPerNode, so.CoresPerNode)
		str(&o.Memory, so.Memory)
		str(&o.Account, so.Account)
		str(&o.Reservation, so.Reservation)
		str(&o.QOS, so.QOS)
		str(&o.Constraints, so.Constraints)
		boolean(&o.Exclusive, so.Exclusive)
		integer(&o.GPUs, so.GPUs)
		str(&o.GPUType, so.GPUType)
		str(&o.Priority, so.Priority)
		str(&o.EmailNotification, so.EmailNotification)
		boolean(&o.RunAsAdministrator, so.RunAsAdministrator)
	}
	if !ok {
		return Config{}, false
	}
	return c, true
}

// plainKeys reports whether data is a JSON object whose keys, at any depth,
// hold no upper-case letter, escape or non-ASCII byte: for such keys
// encoding/json's case-insensitive matching cannot differ from an exact
// one (every field name is lower-case ASCII). It is one pass over bytes
// that json.Unmarshal validates afterwards, so it need not check syntax.
func plainKeys(data []byte) bool {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return false
	}
	for ; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		plain := true
		for i++; i < len(data) && data[i] != '"'; i++ {
			switch b := data[i]; {
			case b == '\\':
				plain = false
				i++ // skip the escaped byte
			case b >= 'A' && b <= 'Z', b >= 0x80:
				plain = false
			}
		}
		j := i + 1
		for j < len(data) && isSpace(data[j]) {
			j++
		}
		if j < len(data) && data[j] == ':' && !plain {
			return false
		}
	}
	return true
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
