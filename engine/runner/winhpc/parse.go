package winhpc

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

var submitOut = regexp.MustCompile(`Job has been submitted\. ID: ([0-9]+)\.?`)

// parseSubmit reads "Job has been submitted. ID: 123." from job submit.
func parseSubmit(out []byte) (string, error) {
	if m := submitOut.FindSubmatch(out); m != nil {
		return string(m[1]), nil
	}
	return "", fmt.Errorf("%w: job submit printed %q, not \"Job has been submitted. ID: <id>.\"", cluster.ErrOutput, cluster.Shorten(string(out)))
}

// parseList reads HPC Pack's /format:list output: records of
// "Key : Value" lines separated by blank lines. Keys are compared without
// spaces or case ("Exit Code" and "ExitCode" are the same key). A trailing
// summary line without " : " is ignored.
func parseList(out []byte, cmd string) ([]map[string]string, error) {
	var recs []map[string]string
	var cur map[string]string
	for n, line := range strings.Split(string(out), "\n") {
		line = strings.TrimRight(line, " \r")
		if strings.TrimSpace(line) == "" {
			cur = nil
			continue
		}
		k, v, ok := strings.Cut(line, " : ")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
			if !ok || strings.ContainsAny(strings.TrimSpace(k), "\t") {
				continue // "3 matching jobs for CONTOSO\alice"
			}
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(k), " ", ""))
		if key == "" {
			return nil, fmt.Errorf("%w: %s line %d is %q", cluster.ErrOutput, cmd, n+1, cluster.Shorten(line))
		}
		if cur == nil {
			cur = map[string]string{}
			recs = append(recs, cur)
		}
		cur[key] = strings.TrimSpace(v)
	}
	return recs, nil
}

// jobState maps an HPC Pack job or task state.
func jobState(s string) (st runner.State, ok bool) {
	switch strings.ToLower(s) {
	case "configuring", "submitted", "validating", "externalvalidation", "queued", "dispatching":
		return runner.StateScheduled, true
	case "running", "finishing", "canceling":
		return runner.StateRunning, true
	case "finished":
		return runner.StateCompleted, true
	case "failed":
		return runner.StateFailed, true
	case "canceled", "cancelled":
		return runner.StateCancelled, true
	}
	return "", false
}

// parseJobs reads `job list /format:list`: id -> status (and name).
func parseJobs(out []byte) (map[string]cluster.Status, map[string]string, error) {
	recs, err := parseList(out, "job list")
	if err != nil {
		return nil, nil, err
	}
	res := make(map[string]cluster.Status, len(recs))
	names := make(map[string]string, len(recs))
	for _, r := range recs {
		id, state := r["id"], r["state"]
		st, ok := jobState(state)
		if !cluster.Digits(id) || !ok {
			return nil, nil, fmt.Errorf("%w: job list record with Id %q and State %q", cluster.ErrOutput, cluster.Shorten(id), cluster.Shorten(state))
		}
		res[id] = cluster.Status{State: st, Detail: state}
		names[id] = r["name"]
	}
	return res, names, nil
}

// parseTasks reads `job listtasks <id> /format:list` into the job's end:
// the state and exit code of its task (simjobs submits one task per job),
// or nothing while it has not ended.
func parseTasks(out []byte) (cluster.End, bool, error) {
	recs, err := parseList(out, "job listtasks")
	if err != nil {
		return cluster.End{}, false, err
	}
	if len(recs) == 0 {
		return cluster.End{}, false, fmt.Errorf("%w: job listtasks printed no task", cluster.ErrOutput)
	}
	r := recs[0]
	st, ok := jobState(r["state"])
	if !ok {
		return cluster.End{}, false, fmt.Errorf("%w: task state %q", cluster.ErrOutput, cluster.Shorten(r["state"]))
	}
	if !st.Terminal() {
		return cluster.End{}, false, nil
	}
	e := cluster.End{State: st, Start: parseTime(r["starttime"]), Time: parseTime(r["endtime"])}
	if raw := r["exitcode"]; raw != "" {
		code, err := strconv.Atoi(raw)
		if err != nil {
			return cluster.End{}, false, fmt.Errorf("%w: task exit code %q", cluster.ErrOutput, cluster.Shorten(raw))
		}
		e.ExitCode = &code
	}
	switch {
	case st == runner.StateCompleted && e.ExitCode != nil && *e.ExitCode != 0:
		e.State = runner.StateFailed
		e.Message = fmt.Sprintf("exit code %d", *e.ExitCode)
	case st == runner.StateCompleted && e.ExitCode == nil:
		zero := 0
		e.ExitCode = &zero
	case st == runner.StateFailed:
		e.Message = r["errormessage"]
		if e.Message == "" && e.ExitCode != nil {
			e.Message = fmt.Sprintf("exit code %d", *e.ExitCode)
		}
	}
	return e, true, nil
}

// parseNodes reads `node list /format:list` into one partition.
func parseNodes(out []byte, group string) (runner.Partition, error) {
	recs, err := parseList(out, "node list")
	if err != nil {
		return runner.Partition{}, err
	}
	p := runner.Partition{Name: group}
	for _, r := range recs {
		name := r["nodename"]
		if name == "" {
			name = r["name"]
		}
		total, err1 := strconv.Atoi(r["max"])
		run, err2 := strconv.Atoi(r["run"])
		if name == "" || err1 != nil || err2 != nil || total < 0 || run < 0 {
			return runner.Partition{}, fmt.Errorf("%w: node list record %q: Max %q, Run %q", cluster.ErrOutput, cluster.Shorten(name), cluster.Shorten(r["max"]), cluster.Shorten(r["run"]))
		}
		p.NodesTotal++
		if run > 0 {
			p.NodesUsed++
		}
		p.CoresTotal += total
		p.CoresUsed += min(run, total)
	}
	return p, nil
}

// parseTime reads HPC Pack's time as an en-US head node prints it
// ("11/25/2026 1:00:54 PM"); other locales' forms give the zero time, and
// the update is stamped when simjobs saw it instead.
func parseTime(s string) time.Time {
	t, err := time.ParseInLocation("1/2/2006 3:04:05 PM", strings.TrimSpace(s), time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}

func sortPartitions(ps []runner.Partition) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
}
