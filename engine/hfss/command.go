package hfss

import (
	"encoding/binary"
	"encoding/hex"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ramLimitPercent is the RAMLimitPercent every solver gets in -batchoptions.
// The newest PyEDB writes a fixed "90" for all five solvers rather than
// deriving it from a machine node's utilization (job_submission.py,
// HFSS3DLayoutBatchOptions.to_batch_options_dict), and a real log cannot tell
// the two apart (siwave.log runs at 90% utilization). We keep it fixed so our
// command lines stay byte-for-byte PyEDB's; the per-host RAM share is already
// the last field of each -machinelist entry.
const ramLimitPercent = "90"

// batchOption is one 'key'='value' pair of -batchoptions.
type batchOption struct{ key, value string }

// batchOptions returns the pairs in PyEDB's order, which Ansys does not need
// but which keeps our command lines comparable with PyEDB's logs.
func (o LayoutOptions) batchOptions() []batchOption {
	return []batchOption{
		{"HFSS 3D Layout Design/CreateStartingMesh", bit(o.CreateStartingMesh)},
		{"HFSS 3D Layout Design/DefaultProcessPriority", o.DefaultProcessPriority},
		{"HFSS 3D Layout Design/EnableGPU", bit(o.EnableGPU)},
		{"HFSS 3D Layout Design/MPIVendor", o.MPIVendor},
		{"HFSS 3D Layout Design/MPIVersion", o.MPIVersion},
		{"HFSS 3D Layout Design/RemoteSpawnCommand", o.RemoteSpawnCommand},
		{"HFSS 3D Layout Design/SolveAdaptiveOnly", bit(o.SolveAdaptiveOnly)},
		{"HFSS 3D Layout Design/ValidateOnly", bit(o.ValidateOnly)},
		{"HFSS 3D Layout Design/RAMLimitPercent", ramLimitPercent},
		{"HFSS/RAMLimitPercent", ramLimitPercent},
		{"Maxwell 2D/RAMLimitPercent", ramLimitPercent},
		{"Maxwell 3D/RAMLimitPercent", ramLimitPercent},
		{"Q3D Extractor/RAMLimitPercent", ramLimitPercent},
	}
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// BatchOptions returns the value of -batchoptions: space-separated
// 'key'='value' pairs, the quotes being part of the value ansysedt parses.
func (c Config) BatchOptions() string {
	var b strings.Builder
	for i, o := range c.LayoutOptions.batchOptions() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("'" + o.key + "'='" + o.value + "'")
	}
	return b.String()
}

// MachineList returns the value of the local -machinelist,
// "list=host:cores:max_cores:utilization%,...", or "" without nodes.
func (c Config) MachineList() string {
	if len(c.MachineNodes) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("list=")
	for i, n := range c.MachineNodes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n.Hostname + ":" + strconv.Itoa(n.Cores) + ":" + strconv.Itoa(n.MaxCores) + ":" + strconv.Itoa(n.Utilization) + "%")
	}
	return b.String()
}

// DesignString returns the argument of -batchsolve before the project:
// "design:mode:setup". PyEDB's argv form passes it even when every part is
// empty ("::"), and the solver accepts that as "everything" (siwave.log).
func (c Config) DesignString() string {
	return c.DesignName + ":" + c.DesignMode + ":" + c.SetupName
}

// NumCores is the core count a scheduler run asks the solver for:
// nodes × cores_per_node, or nodes × tasks_per_node when cores_per_node is 0
// (PyEDB's _num_cores_for_scheduler). It saturates instead of overflowing.
func (c Config) NumCores() int {
	o := c.SchedulerOptions
	per := o.CoresPerNode
	if per <= 0 {
		per = o.TasksPerNode
	}
	n := int64(o.Nodes) * int64(per)
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// CommandLine returns the argv of a local run as PyEDB's
// generate_command_list builds it for scheduler_type "none":
//
//	solver -jobid ID -machinelist list=... [-ng] [-monitor] -batchoptions OPTS -batchsolve design:mode:setup PROJECT
//
// solver is argv[0] (the server's executable, which replaces the client's
// ansys_edt_path; when empty, AnsysEDTPath is used). Local runs never get
// -distributed or -auto, whatever the configuration says: PyEDB leaves them to
// schedulers, and the real logs show neither. -jobid is left out while JobID
// is empty, which only a caller that skipped NewJobID sees, so that no
// argument is ever empty.
func (c Config) CommandLine(solver string) []string {
	argv := c.head(solver)
	if ml := c.MachineList(); ml != "" {
		argv = append(argv, "-machinelist", ml)
	}
	return c.tail(argv)
}

// SchedulerCommandLine returns the argv PyEDB's generate_command_list builds
// for a run under a cluster scheduler, where the scheduler picks the hosts:
//
//	solver -jobid ID [-distributed -machinelist numcores=N] [-auto] [-ng] [-monitor] -batchoptions OPTS -batchsolve design:mode:setup PROJECT
//
// N is NumCores. The batch-script generators wrap this argv (srun, mpirun)
// and quote it with PosixCommandLine or WindowsCommandLine.
func (c Config) SchedulerCommandLine(solver string) []string {
	argv := c.head(solver)
	if c.Distributed {
		argv = append(argv, "-distributed", "-machinelist", "numcores="+strconv.Itoa(c.NumCores()))
	}
	if c.Auto {
		argv = append(argv, "-auto")
	}
	return c.tail(argv)
}

// AllocatedHosts reports whether a scheduler run spreads over several
// slots (nodes × tasks_per_node > 1) with -distributed, so that its
// -machinelist must name the hosts the scheduler allocates: known only at
// run time, inside the batch job. arg is the index in argv (from
// SchedulerCommandLine) of the "numcores=N" value the batch script
// replaces with "list=host:tasks:cores:RAM%,..." (the format of the local
// MachineList); utilization is each entry's RAM percentage, that of the
// first machine node (90, PyEDB's default, without one).
func (c Config) AllocatedHosts(argv []string) (arg, utilization int, ok bool) {
	o := c.SchedulerOptions
	if !c.Distributed || int64(max(o.Nodes, 1))*int64(max(o.TasksPerNode, 1)) < 2 {
		return 0, 0, false
	}
	for i := 1; i+1 < len(argv); i++ {
		if argv[i] == "-machinelist" && strings.HasPrefix(argv[i+1], "numcores=") {
			arg = i + 1
			break
		}
	}
	if arg == 0 {
		return 0, 0, false
	}
	utilization = DefaultMachineNode().Utilization
	if len(c.MachineNodes) > 0 && c.MachineNodes[0].Utilization > 0 {
		utilization = c.MachineNodes[0].Utilization
	}
	return arg, utilization, true
}

func (c Config) head(solver string) []string {
	if solver == "" {
		solver = c.AnsysEDTPath
	}
	argv := make([]string, 0, 16)
	argv = append(argv, solver)
	if c.JobID != "" {
		argv = append(argv, "-jobid", c.JobID)
	}
	return argv
}

func (c Config) tail(argv []string) []string {
	if c.NonGraphical {
		argv = append(argv, "-ng")
	}
	if c.Monitor {
		argv = append(argv, "-monitor")
	}
	return append(argv,
		"-batchoptions", c.BatchOptions(),
		"-batchsolve", c.DesignString(), c.ProjectPath,
	)
}

// NewJobID returns a job id in the form PyEDB's job manager generates,
// JOB_<yyyymmdd_hhmmss>_<8 lower-case hex digits>, with the time in now's
// location and the hex digits read from r (crypto/rand.Reader in
// production). Should r fail, the digits come from now's nanoseconds: an id
// that might collide is better than none, and the caller's idempotency check
// catches a collision.
func NewJobID(now time.Time, r io.Reader) string {
	var b [4]byte
	if r == nil {
		binary.BigEndian.PutUint32(b[:], uint32(now.UnixNano()))
	} else if _, err := io.ReadFull(r, b[:]); err != nil {
		binary.BigEndian.PutUint32(b[:], uint32(now.UnixNano()))
	}
	return "JOB_" + now.Format("20060102_150405") + "_" + hex.EncodeToString(b[:])
}
