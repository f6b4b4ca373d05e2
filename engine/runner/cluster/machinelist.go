package cluster

import (
	"fmt"
	"strings"

	"github.com/simjobs/simjobs/engine/hfss"
	"github.com/simjobs/simjobs/engine/runner"
)

// MachineListVar is the shell variable a batch script builds the machine
// list of a multi-host solve in (see runner.MachineList).
const MachineListVar = "SIMJOBS_MACHINELIST"

// Hosts is how a POSIX batch job reads the hosts its scheduler gave it.
type Hosts struct {
	// Scheduler and From name the scheduler and the variable read, for
	// the message of a job that cannot read them.
	Scheduler, From string
	// List is shell text printing one line per host ("host count ...")
	// or per slot ("host"). It is ours, never from a request.
	List string
	// Counts is what a line's count counts: "tasks" or "cores".
	Counts string
	// LineIsNode: a line without a count is a whole node (tasks_per_node
	// tasks), not one task.
	LineIsNode bool
}

// machineListAwk turns "host [count]" lines into ansysedt's machine list,
// one entry per host in the order first seen, counts of repeated hosts
// summed. The tasks and cores of an entry are the count and the count
// scaled by the job's cores per task (t tasks, c cores per node). It
// exits non-zero when there is no host, or a host name that a machine
// list cannot carry.
const machineListAwk = `{ h = $1; n = (NF > 1 ? $2 : (node ? t : 1)) + 0; if (h !~ /^[A-Za-z0-9][A-Za-z0-9._-]*$/ || n < 1) { bad = 1; next } if (!(h in cnt)) o[++k] = h; cnt[h] += n } ` +
	`END { if (bad || !k) exit 1; for (i = 1; i <= k; i++) { n = cnt[o[i]]; if (counts == "tasks") { tk = n; co = int(n * c / t) } else { co = n; tk = int(n * t / c) } if (tk < 1) tk = 1; if (co < tk) co = tk; s = s (i > 1 ? "," : "list=") o[i] ":" tk ":" co ":" u "%" } print s }`

// JobBody is the end of a POSIX batch script: for a multi-host solve
// (spec.MachineList set) the lines that build its machine list from the
// scheduler's allocation, print it to the job's log and put it in place
// of the argument it replaces; then ShellBody's cd, exports and exec.
func JobBody(spec runner.Spec, env [][2]string, h Hosts) (string, error) {
	ml := spec.MachineList
	if ml == nil {
		return ShellBody(spec.Dir, env, spec.Argv), nil
	}
	if ml.Arg < 1 || ml.Arg >= len(spec.Argv) {
		return "", invalidf("machine list argument %d: the command has %d arguments", ml.Arg, len(spec.Argv))
	}
	if ml.Utilization < 1 || ml.Utilization > 100 {
		return "", invalidf("machine list utilization %d: must be 1 to 100", ml.Utilization)
	}
	r := spec.Resources
	t := max(r.TasksPerNode, 1)
	c := r.CoresPerNode
	if c <= 0 {
		c = t
	}
	node := 0
	if h.LineIsNode {
		node = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# the hosts %s gave the job (%s) as ansysedt's -machinelist host:tasks:cores:RAM%%\n", h.Scheduler, h.From)
	fmt.Fprintf(&b, "%s=$(%s | awk -v node=%d -v counts=%s -v t=%d -v c=%d -v u=%d '%s') || { echo \"simjobs: cannot read the hosts %s gave the job from %s\" >&2; exit 1; }\n",
		MachineListVar, h.List, node, h.Counts, t, c, ml.Utilization, machineListAwk, h.Scheduler, h.From)
	fmt.Fprintf(&b, "echo \"simjobs: -machinelist $%s\"\n", MachineListVar)
	b.WriteString(shellPrelude(spec.Dir, env))
	words := make([]string, len(spec.Argv))
	for i, a := range spec.Argv {
		words[i] = hfss.PosixCommandLine([]string{a})
	}
	words[ml.Arg] = `"$` + MachineListVar + `"`
	b.WriteString("exec " + strings.Join(words, " ") + "\n")
	return b.String(), nil
}
