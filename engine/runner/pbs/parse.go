package pbs

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// qsubID is what qsub prints: "<seq>.<server>", "<seq>[].<server>" for
// arrays, or a bare sequence number on some installations.
var qsubID = regexp.MustCompile(`^[0-9]+(\[[0-9]*\])?(\.[A-Za-z0-9._-]+)?$`)

// parseQsub reads the job id qsub printed.
func parseQsub(out []byte) (string, error) {
	id := strings.TrimSpace(string(out))
	if !qsubID.MatchString(id) {
		return "", fmt.Errorf("%w: qsub printed %q, not a job id", cluster.ErrOutput, cluster.Shorten(id))
	}
	return id, nil
}

// seq is the sequence number of a job id ("123.server" -> "123"), which
// the qstat table keeps even when it cuts a long id.
func seq(id string) string {
	s, _, _ := strings.Cut(id, ".")
	s, _, _ = strings.Cut(s, "*")
	return s
}

// state maps a PBS state letter; terminal reports F (finished) and X
// (finished subjob), which need the full record for the exit status.
func state(letter string) (st runner.State, terminal, ok bool) {
	switch letter {
	case "Q", "H", "W", "T", "M":
		return runner.StateScheduled, false, true
	case "R", "E", "S", "U", "B":
		return runner.StateRunning, false, true
	case "F", "X":
		return runner.StateFailed, true, true
	}
	return "", false, false
}

// parseQstat reads the default `qstat -x` table:
//
//	Job id            Name             User              Time Use S Queue
//	----------------  ---------------- ----------------  -------- - -----
//	1.server          simjobs.abc.J*   alice             00:00:00 R workq
//
// keyed by sequence number.
func parseQstat(out []byte) (map[string]cluster.Status, error) {
	res := make(map[string]cluster.Status)
	for n, line := range cluster.Lines(out) {
		if strings.HasPrefix(line, "Job id") || strings.HasPrefix(line, "---") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 6 {
			return nil, fmt.Errorf("%w: qstat line %d is %q, want id name user time state queue", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		st, terminal, ok := state(f[4])
		if !ok || seq(f[0]) == "" || !cluster.Digits(seq(f[0])) {
			return nil, fmt.Errorf("%w: qstat line %d is %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		s := cluster.Status{State: st, Detail: "state " + f[4]}
		if terminal {
			s.State = runner.StateFailed // until the full record says more
		}
		res[seq(f[0])] = s
	}
	return res, nil
}

// record is one "Job Id:" block of `qstat -f`.
type record struct {
	id    string
	attrs map[string]string
}

// parseFull reads `qstat -x -f` output: "Job Id: <id>" then indented
// "key = value" lines; a value continues on lines that start with a tab.
func parseFull(out []byte) ([]record, error) {
	var recs []record
	var last string
	for n, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "Job Id:"):
			id := strings.TrimSpace(strings.TrimPrefix(line, "Job Id:"))
			if !cluster.Digits(seq(id)) {
				return nil, fmt.Errorf("%w: qstat -f line %d: job id %q", cluster.ErrOutput, n+1, cluster.Shorten(id))
			}
			recs = append(recs, record{id: id, attrs: map[string]string{}})
			last = ""
		case strings.HasPrefix(line, "\t"):
			if len(recs) == 0 || last == "" {
				return nil, fmt.Errorf("%w: qstat -f line %d continues nothing", cluster.ErrOutput, n+1)
			}
			recs[len(recs)-1].attrs[last] += strings.TrimSpace(line)
		default:
			k, v, ok := strings.Cut(line, " = ")
			if !ok || len(recs) == 0 || !strings.HasPrefix(line, " ") {
				return nil, fmt.Errorf("%w: qstat -f line %d is %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
			}
			last = strings.TrimSpace(k)
			recs[len(recs)-1].attrs[last] = strings.TrimSpace(v)
		}
	}
	return recs, nil
}

// parseFinal reads the ends of finished jobs from `qstat -x -f`, keyed by
// sequence number. Jobs not finished are left out.
//
// Exit_status, as PBS Professional sets it: 0 success; 1 to 255 the
// script's exit status (128+n when the shell reports signal n); 256+n the
// job was killed by PBS with signal n (qdel, walltime); negative: PBS could
// not run the job. A finished job without one was deleted before it ran.
func parseFinal(out []byte) (map[string]cluster.End, error) {
	recs, err := parseFull(out)
	if err != nil {
		return nil, err
	}
	res := make(map[string]cluster.End)
	for _, r := range recs {
		letter := r.attrs["job_state"]
		_, terminal, ok := state(letter)
		if !ok {
			return nil, fmt.Errorf("%w: job %s: job_state %q", cluster.ErrOutput, r.id, cluster.Shorten(letter))
		}
		if !terminal {
			continue
		}
		e := cluster.End{Start: parseTime(r.attrs["stime"]), Time: parseTime(r.attrs["obittime"])}
		if e.Time.IsZero() {
			e.Time = parseTime(r.attrs["mtime"])
		}
		raw, has := r.attrs["Exit_status"]
		code, err := strconv.Atoi(raw)
		switch {
		case !has:
			e.State = runner.StateCancelled
			e.Message = "deleted before it started"
		case err != nil:
			return nil, fmt.Errorf("%w: job %s: Exit_status %q", cluster.ErrOutput, r.id, cluster.Shorten(raw))
		case code == 0:
			e.State = runner.StateCompleted
			e.ExitCode = &code
		case code > 0 && code < 256:
			e.State = runner.StateFailed
			e.ExitCode = &code
			e.Message = fmt.Sprintf("exit code %d", code)
		case code >= 256:
			e.State = runner.StateFailed
			e.Message = fmt.Sprintf("killed by PBS with signal %d (Exit_status %d)", code-256, code)
		default:
			e.State = runner.StateFailed
			e.Message = fmt.Sprintf("PBS could not run the job (Exit_status %d)", code)
		}
		res[seq(r.id)] = e
	}
	return res, nil
}

// parseQselect reads job ids, one a line.
func parseQselect(out []byte) ([]string, error) {
	var ids []string
	for n, line := range cluster.Lines(out) {
		id := strings.TrimSpace(line)
		if !qsubID.MatchString(id) {
			return nil, fmt.Errorf("%w: qselect line %d is %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// parseQueues reads the execution queues of `qstat -Q`.
func parseQueues(out []byte) ([]string, error) {
	var qs []string
	for n, line := range cluster.Lines(out) {
		if strings.HasPrefix(line, "Queue") || strings.HasPrefix(line, "---") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 12 {
			return nil, fmt.Errorf("%w: qstat -Q line %d is %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		if f[11] == "Exec" {
			qs = append(qs, f[0])
		}
	}
	return qs, nil
}

// node is one vnode of `pbsnodes -a`.
type node struct {
	name             string
	queue            string
	state            string
	ncpus, usedCPUs  int
	memGB, usedMemGB float64
}

// parseNodes reads `pbsnodes -a`: a node name at the start of a line,
// then indented "key = value" lines.
func parseNodes(out []byte) ([]node, error) {
	var nodes []node
	for n, line := range cluster.Lines(out) {
		if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			nodes = append(nodes, node{name: strings.TrimSpace(line)})
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if !ok || len(nodes) == 0 {
			return nil, fmt.Errorf("%w: pbsnodes line %d is %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		nd := &nodes[len(nodes)-1]
		var err error
		switch k {
		case "queue":
			nd.queue = v
		case "state":
			nd.state = v
		case "resources_available.ncpus":
			nd.ncpus, err = strconv.Atoi(v)
		case "resources_assigned.ncpus":
			nd.usedCPUs, err = strconv.Atoi(v)
		case "resources_available.mem":
			nd.memGB, err = sizeGB(v)
		case "resources_assigned.mem":
			nd.usedMemGB, err = sizeGB(v)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: pbsnodes line %d: %s %q", cluster.ErrOutput, n+1, k, cluster.Shorten(v))
		}
	}
	return nodes, nil
}

// partitions sums nodes per queue the way PBS places jobs: a queue with
// nodes tied to it (the node's "queue" attribute) runs on those; the
// others share the nodes tied to no queue.
func partitions(queues []string, nodes []node) []runner.Partition {
	tied := map[string]bool{}
	for _, nd := range nodes {
		if nd.queue != "" {
			tied[nd.queue] = true
		}
	}
	var res []runner.Partition
	for _, q := range queues {
		p := runner.Partition{Name: q}
		for _, nd := range nodes {
			if (tied[q] && nd.queue != q) || (!tied[q] && nd.queue != "") {
				continue
			}
			p.NodesTotal++
			if nd.usedCPUs > 0 || strings.Contains(nd.state, "job-") {
				p.NodesUsed++
			}
			p.CoresTotal += nd.ncpus
			p.CoresUsed += nd.usedCPUs
			p.MemoryTotalGB += nd.memGB
			p.MemoryUsedGB += nd.usedMemGB
		}
		res = append(res, p)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res
}

// sizeGB reads a PBS size ("32690268kb", "4gb", "512mb", "1024") in GiB.
func sizeGB(s string) (float64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	units := []struct {
		suffix string
		gb     float64
	}{{"tb", 1024}, {"gb", 1}, {"mb", 1.0 / 1024}, {"kb", 1.0 / (1024 * 1024)}, {"b", 1.0 / (1024 * 1024 * 1024)}}
	mult := 1.0 / (1024 * 1024 * 1024) // bare numbers are bytes
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.gb
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q", s)
	}
	return v * mult, nil
}

// parseTime reads PBS's ctime format, "Wed Nov 25 13:00:54 2026", in
// local time; anything else is the zero time.
func parseTime(s string) time.Time {
	t, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", strings.Join(strings.Fields(s), " "), time.Local)
	if err != nil {
		t, err = time.ParseInLocation("Mon Jan 2 15:04:05 2006", strings.Join(strings.Fields(s), " "), time.Local)
		if err != nil {
			return time.Time{}
		}
	}
	return t
}
