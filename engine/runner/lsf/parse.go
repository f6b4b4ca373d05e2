package lsf

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// bjobsFormat is what simjobs asks bjobs for: the name is not among the
// fields, so no field can hold the delimiter.
const bjobsFormat = "jobid stat exit_code delimiter='|'"

var bsubOut = regexp.MustCompile(`^Job <([0-9]+)> is submitted to (default )?queue <[^<>]*>\.$`)

// parseBsub reads "Job <123> is submitted to queue <normal>." from bsub's
// output, which may hold other lines (warnings) too.
func parseBsub(out []byte) (string, error) {
	for _, line := range cluster.Lines(out) {
		if m := bsubOut.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("%w: bsub printed %q, not \"Job <id> is submitted to queue <q>.\"", cluster.ErrOutput, cluster.Shorten(string(out)))
}

// noJobs reports bjobs's way of saying it found nothing, which it prints
// on stderr with exit status 0 or 255 depending on the site's
// LSB_BJOBS_CONSISTENT_EXIT_CODE.
func noJobs(stderr string) bool {
	for _, l := range cluster.Lines([]byte(stderr)) {
		if l != "No job found" && l != "No unfinished job found" &&
			!(strings.HasPrefix(l, "Job <") && strings.HasSuffix(l, "> is not found")) {
			return false
		}
	}
	return true
}

// parseBjobs reads `bjobs -a -noheader -o "jobid stat exit_code
// delimiter='|'"`. DONE and EXIT carry the end: bjobs -a is LSF's
// accounting of recent jobs (CLEAN_PERIOD, an hour by default).
func parseBjobs(out []byte) (map[string]cluster.Status, error) {
	res := make(map[string]cluster.Status)
	for n, line := range cluster.Lines(out) {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 3 || !cluster.Digits(f[0]) {
			return nil, fmt.Errorf("%w: bjobs line %d is %q, want id|stat|exit_code", cluster.ErrOutput, n+1, cluster.Shorten(line))
		}
		s := cluster.Status{Detail: f[1]}
		switch f[1] {
		case "PEND", "PSUSP", "WAIT":
			s.State = runner.StateScheduled
		case "RUN", "USUSP", "SSUSP", "PROV", "UNKWN":
			s.State = runner.StateRunning
		case "DONE":
			zero := 0
			s.State = runner.StateCompleted
			s.End = &cluster.End{State: runner.StateCompleted, ExitCode: &zero}
		case "EXIT", "ZOMBI":
			s.State = runner.StateFailed
			e := &cluster.End{State: runner.StateFailed, Message: "LSF state " + f[1]}
			if f[2] != "-" && f[2] != "" {
				code, err := strconv.Atoi(f[2])
				if err != nil || code < 0 {
					return nil, fmt.Errorf("%w: bjobs line %d: exit code %q", cluster.ErrOutput, n+1, cluster.Shorten(f[2]))
				}
				e.ExitCode = &code
				e.Message = fmt.Sprintf("exit code %d", code)
			}
			s.End = e
		default:
			return nil, fmt.Errorf("%w: bjobs line %d: unknown state %q", cluster.ErrOutput, n+1, cluster.Shorten(f[1]))
		}
		res[f[0]] = s
	}
	return res, nil
}

// queue is one queue of `bqueues -l` with its HOSTS line.
type queue struct {
	name  string
	hosts []string
}

// parseBqueues reads the queue names and HOSTS lines of `bqueues -l`.
func parseBqueues(out []byte) ([]queue, error) {
	var qs []queue
	for n, line := range cluster.Lines(out) {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "QUEUE:"):
			name := strings.TrimSpace(strings.TrimPrefix(t, "QUEUE:"))
			if name == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("%w: bqueues line %d is %q", cluster.ErrOutput, n+1, cluster.Shorten(line))
			}
			qs = append(qs, queue{name: name})
		case strings.HasPrefix(t, "HOSTS:"):
			if len(qs) == 0 {
				return nil, fmt.Errorf("%w: bqueues line %d: HOSTS before any QUEUE", cluster.ErrOutput, n+1)
			}
			qs[len(qs)-1].hosts = strings.Fields(strings.TrimPrefix(t, "HOSTS:"))
		}
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%w: bqueues -l printed no QUEUE: %q", cluster.ErrOutput, cluster.Shorten(string(out)))
	}
	return qs, nil
}

// host is what bhosts, lshosts and lsload say of one host.
type host struct {
	name      string
	status    string
	slots     int // MAX; 0 when "-"
	run       int
	ncpus     int
	memGB     float64 // lshosts maxmem
	availGB   float64 // lsload mem
	haveAvail bool
}

// table reads a whitespace table with a header line into rows of
// column -> value, keyed by the first column. Rows may have extra
// trailing fields (lshosts RESOURCES with spaces).
func table(out []byte, cmd string) (map[string]map[string]string, []string, error) {
	ls := cluster.Lines(out)
	if len(ls) == 0 {
		return nil, nil, fmt.Errorf("%w: %s printed nothing", cluster.ErrOutput, cmd)
	}
	head := strings.Fields(ls[0])
	if len(head) < 2 || head[0] != "HOST_NAME" {
		return nil, nil, fmt.Errorf("%w: %s header is %q", cluster.ErrOutput, cmd, cluster.Shorten(ls[0]))
	}
	rows := make(map[string]map[string]string)
	var order []string
	for n, line := range ls[1:] {
		// A host that is down may show only its name and status.
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, nil, fmt.Errorf("%w: %s line %d is %q", cluster.ErrOutput, cmd, n+2, cluster.Shorten(line))
		}
		row := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(f) {
				row[h] = f[i]
			}
		}
		rows[f[0]] = row
		order = append(order, f[0])
	}
	return rows, order, nil
}

// parseHosts joins `bhosts -w`, `lshosts -w` and `lsload -w`.
func parseHosts(bhosts, lshosts, lsload []byte) (map[string]*host, error) {
	bh, order, err := table(bhosts, "bhosts")
	if err != nil {
		return nil, err
	}
	lh, _, err := table(lshosts, "lshosts")
	if err != nil {
		return nil, err
	}
	ll, _, err := table(lsload, "lsload")
	if err != nil {
		return nil, err
	}
	res := make(map[string]*host, len(bh))
	for _, name := range order {
		row := bh[name]
		h := &host{name: name, status: row["STATUS"]}
		if h.slots, err = count(row["MAX"]); err != nil {
			return nil, fmt.Errorf("%w: bhosts %s MAX %q", cluster.ErrOutput, name, cluster.Shorten(row["MAX"]))
		}
		if h.run, err = count(row["RUN"]); err != nil {
			return nil, fmt.Errorf("%w: bhosts %s RUN %q", cluster.ErrOutput, name, cluster.Shorten(row["RUN"]))
		}
		if r, ok := lh[name]; ok {
			h.ncpus, _ = count(r["ncpus"])
			h.memGB, _ = sizeGB(r["maxmem"])
		}
		if r, ok := ll[name]; ok {
			if v, err := sizeGB(r["mem"]); err == nil {
				h.availGB, h.haveAvail = v, true
			}
		}
		res[name] = h
	}
	return res, nil
}

// parseBmgroup reads `bmgroup -w`: GROUP_NAME then its members.
func parseBmgroup(out []byte) (map[string][]string, error) {
	groups := make(map[string][]string)
	for n, line := range cluster.Lines(out) {
		f := strings.Fields(line)
		if n == 0 && len(f) > 0 && f[0] == "GROUP_NAME" {
			continue
		}
		if len(f) == 0 {
			continue
		}
		groups[f[0]] = f[1:]
	}
	return groups, nil
}

// expand turns a queue's HOSTS tokens into host names: "all", "~host"
// (excluded), "group/" (its members), "host+2" (a preference).
func expand(tokens []string, hosts map[string]*host, groups map[string][]string) []string {
	in := map[string]bool{}
	add := func(h string) {
		if _, ok := hosts[h]; ok {
			in[h] = true
		}
	}
	var exclude []string
	for _, tok := range tokens {
		if i := strings.LastIndexByte(tok, '+'); i > 0 {
			tok = tok[:i]
		}
		switch {
		case tok == "all" || tok == "others":
			for h := range hosts {
				add(h)
			}
		case strings.HasPrefix(tok, "~"):
			exclude = append(exclude, strings.TrimSuffix(tok[1:], "/"))
		case strings.HasSuffix(tok, "/"):
			for _, h := range groups[strings.TrimSuffix(tok, "/")] {
				add(h)
			}
		default:
			add(tok)
		}
	}
	for _, x := range exclude {
		drop := []string{x}
		if members, ok := groups[x]; ok {
			drop = members
		}
		for _, h := range drop {
			delete(in, h)
		}
	}
	out := make([]string, 0, len(in))
	for h := range in {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

func partitions(qs []queue, hosts map[string]*host, groups map[string][]string) []runner.Partition {
	res := make([]runner.Partition, 0, len(qs))
	for _, q := range qs {
		p := runner.Partition{Name: q.name}
		for _, name := range expand(q.hosts, hosts, groups) {
			h := hosts[name]
			p.NodesTotal++
			if h.run > 0 || h.status == "closed_Full" {
				p.NodesUsed++
			}
			slots := h.slots
			if slots == 0 {
				slots = h.ncpus
			}
			p.CoresTotal += slots
			p.CoresUsed += min(h.run, slots)
			p.MemoryTotalGB += h.memGB
			if h.haveAvail && h.availGB <= h.memGB {
				p.MemoryUsedGB += h.memGB - h.availGB
			}
		}
		res = append(res, p)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res
}

// count reads a number of a bhosts column; "-" is 0.
func count(s string) (int, error) {
	if s == "-" || s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("count %q", s)
	}
	return v, nil
}

// sizeGB reads an LSF size ("31.8G", "233M", "4231M", "2T", "1024K") in
// GiB; a bare number is MB.
func sizeGB(s string) (float64, error) {
	s = strings.TrimSpace(s)
	mult := 1.0 / 1024
	if s != "" {
		switch s[len(s)-1] {
		case 'K', 'k':
			mult, s = 1.0/(1024*1024), s[:len(s)-1]
		case 'M', 'm':
			mult, s = 1.0/1024, s[:len(s)-1]
		case 'G', 'g':
			mult, s = 1, s[:len(s)-1]
		case 'T', 't':
			mult, s = 1024, s[:len(s)-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q", s)
	}
	return v * mult, nil
}
