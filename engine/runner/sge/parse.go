package sge

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// parseQsub reads the job id `qsub -terse` prints: "42", or "42.1-10:1"
// for an array job.
func parseQsub(out []byte) (string, error) {
	lines := cluster.Lines(out)
	if len(lines) != 1 {
		return "", fmt.Errorf("qsub -terse: %w: %q, want a job id", cluster.ErrOutput, cluster.Shorten(string(out)))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(lines[0]), ".")
	if !cluster.Digits(id) {
		return "", fmt.Errorf("qsub -terse: %w: %q, want a job id", cluster.ErrOutput, cluster.Shorten(lines[0]))
	}
	return id, nil
}

// listed is one job of a `qstat -xml` listing.
type listed struct {
	Number    string `xml:"JB_job_number"`
	Name      string `xml:"JB_name"`
	State     string `xml:"state"`
	Start     string `xml:"JAT_start_time"`
	Submitted string `xml:"JB_submission_time"`
}

// qstatXML is `qstat -xml`: the running jobs under queue_info, the
// waiting ones under job_info.
type qstatXML struct {
	XMLName xml.Name `xml:"job_info"`
	Running []listed `xml:"queue_info>job_list"`
	Pending []listed `xml:"job_info>job_list"`
}

// parseQstat reads `qstat -xml` into the jobs it lists, by id, with
// their names. A job listed twice (an array job's tasks) keeps its first
// entry: the running ones come first.
func parseQstat(out []byte) (map[string]cluster.Status, map[string]string, error) {
	var q qstatXML
	if err := xml.Unmarshal(out, &q); err != nil {
		return nil, nil, fmt.Errorf("qstat -xml: %w: %v", cluster.ErrOutput, err)
	}
	st := make(map[string]cluster.Status)
	names := make(map[string]string)
	for _, j := range slices.Concat(q.Running, q.Pending) {
		id := strings.TrimSpace(j.Number)
		if !cluster.Digits(id) {
			return nil, nil, fmt.Errorf("qstat -xml: %w: job number %q", cluster.ErrOutput, cluster.Shorten(id))
		}
		if _, dup := st[id]; dup {
			continue
		}
		state := strings.TrimSpace(j.State)
		s := cluster.Status{State: stateOf(state), Detail: state}
		if s.State == runner.StateRunning {
			s.Time = xmlTime(j.Start)
		}
		if s.State == runner.StateFailed {
			s.End = &cluster.End{State: runner.StateFailed, Message: fmt.Sprintf("Grid Engine holds the job in error state %s (qstat -j %s says why)", state, id)}
		}
		st[id] = s
		names[id] = strings.TrimSpace(j.Name)
	}
	return st, names, nil
}

// stateOf maps qstat's state letters: E error (the job will not run
// until an operator clears it), then r t running or transferring, s S T
// suspended while holding its slots (still running as far as the job is
// concerned), d being deleted; everything else (qw hqw Rq) waits.
func stateOf(s string) runner.State {
	switch {
	case strings.Contains(s, "E"):
		return runner.StateFailed
	case strings.ContainsAny(s, "rtsST"):
		return runner.StateRunning
	}
	return runner.StateScheduled
}

// xmlTime reads qstat -xml's local "2026-12-03T13:05:43"; zero if absent
// or unreadable.
func xmlTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(s), time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}

// record is one job of `qacct -j`: its fields by name.
type record map[string]string

// parseQacctRecords splits `qacct -j` output into its records, each
// starting with a line of '='.
func parseQacctRecords(out []byte) ([]record, error) {
	var recs []record
	var cur record
	for _, line := range cluster.Lines(out) {
		if strings.HasPrefix(line, "====") {
			cur = record{}
			recs = append(recs, cur)
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		if key == "" || strings.ContainsAny(key, "\t:") {
			return nil, fmt.Errorf("qacct: %w: line %q", cluster.ErrOutput, cluster.Shorten(line))
		}
		if cur == nil { // output without the leading separator
			cur = record{}
			recs = append(recs, cur)
		}
		cur[key] = strings.TrimSpace(val)
	}
	for _, r := range recs {
		if !cluster.Digits(r["jobnumber"]) {
			return nil, fmt.Errorf("qacct: %w: a record without a job number", cluster.ErrOutput)
		}
	}
	return recs, nil
}

// parseQacct reads the end of each job `qacct -j` describes. Of several
// records of one job (it was rescheduled and ran again) the last counts.
func parseQacct(out []byte) (map[string]cluster.End, error) {
	recs, err := parseQacctRecords(out)
	if err != nil {
		return nil, err
	}
	res := make(map[string]cluster.End, len(recs))
	for _, r := range recs {
		e, err := endOf(r)
		if err != nil {
			return nil, err
		}
		res[r["jobnumber"]] = e
	}
	return res, nil
}

// endOf turns an accounting record into the job's end. "failed" is Grid
// Engine's own verdict: 0 when the job ran and exited by itself (its
// exit_status is the job's), else the reason it did not ("100 : assumedly
// after job" for a job killed by a signal, qdel or a limit), when the
// exit status is the shell's 128+signal and not an exit code of the job.
func endOf(r record) (cluster.End, error) {
	id := r["jobnumber"]
	failedText := r["failed"]
	code, _, _ := strings.Cut(failedText, " ")
	failed, err := strconv.Atoi(code)
	if err != nil {
		return cluster.End{}, fmt.Errorf("qacct: %w: job %s: failed %q", cluster.ErrOutput, id, cluster.Shorten(failedText))
	}
	exitText := r["exit_status"]
	first, _, _ := strings.Cut(exitText, " ")
	exit, err := strconv.Atoi(first)
	if err != nil {
		return cluster.End{}, fmt.Errorf("qacct: %w: job %s: exit_status %q", cluster.ErrOutput, id, cluster.Shorten(exitText))
	}
	e := cluster.End{Start: acctTime(r["start_time"]), Time: acctTime(r["end_time"])}
	switch {
	case failed == 0 && exit == 0:
		e.State, e.ExitCode = runner.StateCompleted, &exit
	case failed == 0:
		e.State, e.ExitCode = runner.StateFailed, &exit
		e.Message = fmt.Sprintf("exit code %d", exit)
	default:
		e.State = runner.StateFailed
		e.Message = fmt.Sprintf("Grid Engine: failed %s, exit status %s", strings.Join(strings.Fields(failedText), " "), strings.Join(strings.Fields(exitText), " "))
	}
	return e, nil
}

// acctTime reads qacct's local "Thu Dec  3 13:05:44 2026"; zero for
// "-/-" (never started) and the epoch Grid Engine writes for it.
func acctTime(s string) time.Time {
	t, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", strings.Join(strings.Fields(s), " "), time.Local)
	if err != nil {
		t, err = time.ParseInLocation("Mon Jan 2 15:04:05 2006", strings.Join(strings.Fields(s), " "), time.Local)
	}
	if err != nil || t.Year() < 1980 {
		return time.Time{}
	}
	return t
}

// qhostHost is one host of `qhost -q` with its queue instances.
type qhostHost struct {
	memTotal, memUsed float64 // GB
	queues            []qhostQueue
}

type qhostQueue struct {
	name            string
	used, resv, tot int
}

// parseQhost reads `qhost -q` into one partition per cluster queue: the
// hosts that carry it, their slots (used counts reserved ones) and the
// memory of those hosts. The "global" pseudo host is skipped.
func parseQhost(out []byte) ([]runner.Partition, error) {
	lines := cluster.Lines(out)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "HOSTNAME") || !strings.HasPrefix(lines[1], "---") {
		return nil, fmt.Errorf("qhost -q: %w: %q, want the HOSTNAME header", cluster.ErrOutput, cluster.Shorten(string(out)))
	}
	var hostList []*qhostHost
	var cur *qhostHost
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if line[0] == ' ' || line[0] == '\t' {
			// "   all.q   BIP   0/1/8   [states]"
			if len(f) < 3 {
				return nil, fmt.Errorf("qhost -q: %w: queue line %q", cluster.ErrOutput, cluster.Shorten(line))
			}
			q, err := slotsOf(f[0], f[2])
			if err != nil {
				return nil, err
			}
			if cur != nil {
				cur.queues = append(cur.queues, q)
			}
			continue
		}
		if len(f) != 11 {
			return nil, fmt.Errorf("qhost -q: %w: host line %q", cluster.ErrOutput, cluster.Shorten(line))
		}
		if f[0] == "global" {
			cur = nil
			continue
		}
		total, err := memGB(f[7])
		if err != nil {
			return nil, err
		}
		used, err := memGB(f[8])
		if err != nil {
			return nil, err
		}
		cur = &qhostHost{memTotal: total, memUsed: used}
		hostList = append(hostList, cur)
	}
	byName := map[string]*runner.Partition{}
	for _, h := range hostList {
		for _, q := range h.queues {
			p := byName[q.name]
			if p == nil {
				p = &runner.Partition{Name: q.name}
				byName[q.name] = p
			}
			p.NodesTotal++
			if q.used+q.resv > 0 {
				p.NodesUsed++
			}
			p.CoresTotal += q.tot
			p.CoresUsed += q.used + q.resv
			p.MemoryTotalGB += h.memTotal
			p.MemoryUsedGB += h.memUsed
		}
	}
	parts := make([]runner.Partition, 0, len(byName))
	for _, p := range byName {
		parts = append(parts, *p)
	}
	slices.SortFunc(parts, func(a, b runner.Partition) int { return strings.Compare(a.Name, b.Name) })
	return parts, nil
}

// slotsOf reads a queue instance's "resv/used/tot." (or, from older
// versions, "used/tot").
func slotsOf(name, s string) (qhostQueue, error) {
	parts := strings.Split(s, "/")
	n := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return qhostQueue{}, fmt.Errorf("qhost -q: %w: queue %s slots %q", cluster.ErrOutput, cluster.Shorten(name), cluster.Shorten(s))
		}
		n[i] = v
	}
	switch len(n) {
	case 3:
		return qhostQueue{name: name, resv: n[0], used: n[1], tot: n[2]}, nil
	case 2:
		return qhostQueue{name: name, used: n[0], tot: n[1]}, nil
	}
	return qhostQueue{}, fmt.Errorf("qhost -q: %w: queue %s slots %q", cluster.ErrOutput, cluster.Shorten(name), cluster.Shorten(s))
}

// memGB reads qhost's memory figures ("23.5G", "525.5M", "1.0T", "-"
// for a host that does not report) in GB.
func memGB(s string) (float64, error) {
	if s == "-" {
		return 0, nil
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'K':
		mult = 1.0 / (1 << 20)
	case 'M':
		mult = 1.0 / (1 << 10)
	case 'G':
		mult = 1
	case 'T':
		mult = 1 << 10
	}
	num := strings.TrimRight(s, "KMGT")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v > 1e12 {
		return 0, fmt.Errorf("qhost -q: %w: memory %q", cluster.ErrOutput, cluster.Shorten(s))
	}
	if num == s { // bytes
		mult = 1.0 / (1 << 30)
	}
	return v * mult, nil
}

// deletedBeforeStart reports whether qdel's answer says it removed a
// job that had not started ("root has deleted job 3"); for a running
// job it says "root has registered the job 4 for deletion".
func deletedBeforeStart(out []byte, id string) bool {
	for _, l := range cluster.Lines(out) {
		if strings.HasSuffix(l, " has deleted job "+id) {
			return true
		}
	}
	return false
}

// notFound reports whether a qacct or qdel answer says only that the job
// is unknown: never accounted yet, or an accounting file with no jobs.
func notFound(out cluster.Output) bool {
	text := slices.Concat(cluster.Lines(out.Stdout), cluster.Lines(out.Stderr))
	if len(text) == 0 {
		return false
	}
	for _, l := range text {
		switch {
		case strings.HasPrefix(l, "error: job id ") && strings.HasSuffix(l, " not found"),
			strings.HasPrefix(l, "error: job name ") && strings.HasSuffix(l, " not found"),
			l == "no jobs running since startup",
			strings.HasPrefix(l, "denied: job ") && strings.HasSuffix(l, " does not exist"),
			bytes.HasSuffix([]byte(l), []byte(": No such file or directory")):
		default:
			return false
		}
	}
	return true
}
