package slurm

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// The formats simjobs asks SLURM for. Fields are separated by '|', which
// no field in them can contain (job names are not asked for).
const (
	squeueFormat = "%i|%T|%S|%r"
	sacctFields  = "JobID,State,ExitCode,Start,End"
	sinfoFields  = "NodeList:|,Partition:|,StateLong:|,CPUsState:|,Memory:|,AllocMem:|"
)

// parseSbatch reads the job id from `sbatch --parsable`: "5", or
// "5;cluster" on a multi-cluster setup.
func parseSbatch(out []byte) (string, error) {
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	id, _, _ := strings.Cut(strings.TrimSpace(line), ";")
	if !isJobID(id) {
		return "", fmt.Errorf("%w: sbatch --parsable printed %q, not a job id", cluster.ErrOutput, cluster.Shorten(string(out)))
	}
	return id, nil
}

// isListedID accepts any id squeue may list for the user, including
// pending array ranges ("123_[1-5]") that simjobs never submits.
func isListedID(s string) bool {
	return s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, " \t")
}

// isJobID accepts "123" and array or het-job forms ("123_4", "123+1").
func isJobID(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '_' || c == '+') {
			return false
		}
	}
	return true
}

// parseSqueue reads `squeue -h -t all -o '%i|%T|%S|%r'`.
func parseSqueue(out []byte) (map[string]cluster.Status, error) {
	res := make(map[string]cluster.Status)
	for n, line := range cluster.Lines(out) {
		f := strings.Split(line, "|")
		if len(f) != 4 || !isListedID(f[0]) || f[1] == "" {
			return nil, fmt.Errorf("%w: squeue line %d is %q, want id|state|start|reason", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		st, terminal, ok := jobState(f[1])
		if !ok {
			return nil, fmt.Errorf("%w: squeue line %d: unknown job state %q", cluster.ErrOutput, n+1, cluster.Shorten(f[1]))
		}
		s := cluster.Status{State: st, Detail: f[1]}
		if terminal {
			s.State = terminalGuess(f[1])
		}
		if st == runner.StateRunning {
			s.Time = parseTime(f[2])
		}
		if f[3] != "" && f[3] != "None" {
			s.Detail += ", " + f[3]
		}
		res[f[0]] = s
	}
	return res, nil
}

// jobState maps a SLURM job state to scheduled or running, or says it is
// terminal. ok is false for a word SLURM does not use.
func jobState(s string) (st runner.State, terminal, ok bool) {
	word, _, _ := strings.Cut(s, " ") // sacct: "CANCELLED by 0"
	word = strings.TrimSuffix(word, "+")
	switch word {
	case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT", "POWER_UP_NODE":
		return runner.StateScheduled, false, true
	case "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING", "UPDATE_DB":
		return runner.StateRunning, false, true
	case "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "REVOKED":
		return "", true, true
	}
	return "", false, false
}

// terminalGuess is what a terminal state word means before accounting
// gives the exit code.
func terminalGuess(word string) runner.State {
	switch {
	case word == "COMPLETED":
		return runner.StateCompleted
	case strings.HasPrefix(word, "CANCELLED"):
		return runner.StateCancelled
	}
	return runner.StateFailed
}

// end turns a terminal state and an "exit:signal" code into an End.
func end(state, exitCode string) (cluster.End, error) {
	word, _, _ := strings.Cut(state, " ")
	code, sig, err := parseExitCode(exitCode)
	if err != nil {
		return cluster.End{}, err
	}
	e := cluster.End{}
	if word == "COMPLETED" && (code != 0 || sig != 0) {
		word = "FAILED" // the exit code is the more specific fact
	}
	switch word {
	case "COMPLETED":
		e.State = runner.StateCompleted
		e.ExitCode = &code
	case "FAILED":
		e.State = runner.StateFailed
		if sig != 0 {
			e.Message = fmt.Sprintf("killed by signal %d (SLURM state FAILED)", sig)
		} else {
			e.ExitCode = &code
			e.Message = fmt.Sprintf("exit code %d", code)
		}
	case "CANCELLED":
		e.State = runner.StateCancelled
	case "TIMEOUT":
		e.State = runner.StateFailed
		e.Message = "wall-time limit exceeded (SLURM state TIMEOUT)"
	case "OUT_OF_MEMORY":
		e.State = runner.StateFailed
		e.Message = "out of memory (SLURM state OUT_OF_MEMORY)"
	default:
		e.State = runner.StateFailed
		e.Message = "ended by SLURM: " + word
	}
	return e, nil
}

// parseExitCode reads SLURM's "exit:signal" ("3:0", "0:15").
func parseExitCode(s string) (code, sig int, err error) {
	a, b, ok := strings.Cut(s, ":")
	code, err1 := strconv.Atoi(a)
	sig, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || code < 0 || sig < 0 || code > 255 || sig > 255 {
		return 0, 0, fmt.Errorf("%w: exit code %q, want exit:signal", cluster.ErrOutput, cluster.Shorten(s))
	}
	return code, sig, nil
}

// parseSacct reads `sacct -n -P -X -o JobID,State,ExitCode,Start,End`.
// Jobs sacct shows still active are left out: they have no end yet.
func parseSacct(out []byte) (map[string]cluster.End, error) {
	res := make(map[string]cluster.End)
	for n, line := range cluster.Lines(out) {
		f := strings.Split(line, "|")
		if len(f) != 5 || !isJobID(f[0]) {
			return nil, fmt.Errorf("%w: sacct line %d is %q, want id|state|exit|start|end", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		_, terminal, ok := jobState(f[1])
		if !ok {
			return nil, fmt.Errorf("%w: sacct line %d: unknown job state %q", cluster.ErrOutput, n+1, cluster.Shorten(f[1]))
		}
		if !terminal {
			continue
		}
		e, err := end(f[1], f[2])
		if err != nil {
			return nil, fmt.Errorf("sacct line %d: %w", n+1, err)
		}
		e.Start, e.Time = parseTime(f[3]), parseTime(f[4])
		res[f[0]] = e
	}
	return res, nil
}

// parseSacctNamed reads `sacct -n -P -X -o JobID,State,JobName` and
// returns the ids of the jobs named name. The name is last: it may hold
// the separator.
func parseSacctNamed(out []byte, name string) ([]string, error) {
	var ids []string
	for n, line := range cluster.Lines(out) {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 || !isListedID(f[0]) {
			return nil, fmt.Errorf("%w: sacct line %d is %q, want id|state|name", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		if f[2] == name && isJobID(f[0]) {
			ids = append(ids, f[0])
		}
	}
	return ids, nil
}

// parseScontrol reads `scontrol show job -o`: one job per line of
// Key=Value pairs. Values with spaces (WorkDir, Command) make some pairs
// ambiguous, so only the keys needed are read, each the first of its name.
func parseScontrol(out []byte) (map[string]cluster.End, error) {
	res := make(map[string]cluster.End)
	for n, line := range cluster.Lines(out) {
		kv := scontrolPairs(line)
		id, state, code := kv["JobId"], kv["JobState"], kv["ExitCode"]
		if !isJobID(id) || state == "" {
			return nil, fmt.Errorf("%w: scontrol line %d has no JobId and JobState: %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		_, terminal, ok := jobState(state)
		if !ok {
			return nil, fmt.Errorf("%w: scontrol line %d: unknown job state %q", cluster.ErrOutput, n+1, cluster.Shorten(state))
		}
		if !terminal {
			continue
		}
		if state == "CANCELLED" {
			code = "0:0" // scontrol shows the signal (0:15) of a cancel; sacct does not
		}
		e, err := end(state, code)
		if err != nil {
			return nil, fmt.Errorf("scontrol line %d: %w", n+1, err)
		}
		e.Start, e.Time = parseTime(kv["StartTime"]), parseTime(kv["EndTime"])
		res[id] = e
	}
	return res, nil
}

func scontrolPairs(line string) map[string]string {
	kv := make(map[string]string)
	for _, w := range strings.Fields(line) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			continue
		}
		if _, seen := kv[k]; !seen {
			kv[k] = v
		}
	}
	return kv
}

// parseSinfo reads the node-per-line `sinfo -h -N -O` listing and sums it
// per partition. A node in two partitions counts in both.
func parseSinfo(out []byte) ([]runner.Partition, error) {
	parts := make(map[string]*runner.Partition)
	var order []string
	for n, line := range cluster.Lines(out) {
		f := strings.Split(strings.TrimSuffix(line, "|"), "|")
		if len(f) != 6 {
			return nil, fmt.Errorf("%w: sinfo line %d is %q, want node|partition|state|cpus|memory|allocmem", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f[1]), "*"))
		cpus := strings.Split(strings.TrimSpace(f[3]), "/")
		mem, err1 := strconv.ParseFloat(strings.TrimSpace(f[4]), 64)
		alloc, err2 := strconv.ParseFloat(strings.TrimSpace(f[5]), 64)
		if name == "" || len(cpus) != 4 || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: sinfo line %d is %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		var c [4]int
		for i, s := range cpus {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: sinfo line %d: CPU counts %q", cluster.ErrOutput, n+1, cluster.Shorten(f[3]))
			}
			c[i] = v
		}
		p, ok := parts[name]
		if !ok {
			p = &runner.Partition{Name: name}
			parts[name] = p
			order = append(order, name)
		}
		p.NodesTotal++
		if c[0] > 0 {
			p.NodesUsed++
		}
		p.CoresUsed += c[0]
		p.CoresTotal += c[3]
		p.MemoryTotalGB += mem / 1024
		p.MemoryUsedGB += alloc / 1024
	}
	sort.Strings(order)
	res := make([]runner.Partition, 0, len(order))
	for _, name := range order {
		res = append(res, *parts[name])
	}
	return res, nil
}

// parseTime reads SLURM's local "2006-01-02T15:04:05"; "N/A", "Unknown",
// "None" and anything else are the zero time.
func parseTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(s), time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}
