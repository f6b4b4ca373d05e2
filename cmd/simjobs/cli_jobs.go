package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/frontend"
	"github.com/simjobs/simjobs/server/apitype"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// timeFormat is how times show in tables (local time; the header names
// the zone) and, with the zone, in status.
const (
	timeFormat     = "2006-01-02 15:04:05"
	timeZoneFormat = timeFormat + " MST"
)

// localZone names the zone the CLI prints times in: "CET".
func localZone() string { return time.Now().Format("MST") }

func jobsCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	status := fs.String("status", "", "only jobs in these `statuses` (comma-separated: pending,queued,scheduled,running,completed,failed,cancelled)")
	user := fs.String("user", "", "only the jobs of this `user`")
	search := fs.String("search", "", "only jobs whose id, user or project contains `text`")
	limit := fs.Int("limit", 50, "show the newest `N` jobs")
	all := fs.Bool("all", false, "show every job")
	asJSON := fs.Bool("json", false, "print the job records as JSON")
	idsOnly := fs.Bool("ids", false, "print only the job IDs, one per line")
	sweep := fs.String("sweep", "", "only the jobs of this sweep `ID`, in variation order")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) > 0 || after != nil {
			return usagef("jobs takes no arguments, got %q", append(args, after...))
		}
		if *limit < 1 {
			return usagef("--limit must be at least 1")
		}
		o := client.ListOptions{User: *user, Search: *search, Sweep: *sweep}
		for _, s := range splitList(*status) {
			o.Statuses = append(o.Statuses, apitype.Status(strings.ToLower(s)))
		}
		jobs, total, err := listJobs(ctx, cx.api, o, *limit, *all)
		if err != nil {
			return err
		}
		switch {
		case *asJSON:
			if jobs == nil {
				jobs = []apitype.Job{}
			}
			return writeJSON(cx.stdout, jobs)
		case *idsOnly:
			for _, j := range jobs {
				fmt.Fprintln(cx.stdout, j.ID)
			}
			return nil
		}
		if len(jobs) == 0 {
			fmt.Fprintln(cx.stderr, "no jobs")
			return nil
		}
		writeJobTable(cx.stdout, jobs, time.Now())
		if len(jobs) < total {
			fmt.Fprintf(cx.stderr, "showing the newest %d of %d jobs (--limit N, --all)\n", len(jobs), total)
		}
		return nil
	}
}

// listJobs fetches the newest limit jobs, or all of them, in submission
// order.
func listJobs(ctx context.Context, api *client.Client, o client.ListOptions, limit int, all bool) ([]apitype.Job, int, error) {
	// The server pages from the oldest; find the total first to ask for
	// the newest.
	o.Limit = 1
	first, err := api.Jobs(ctx, o)
	if err != nil {
		return nil, 0, err
	}
	total := first.Total
	const page = 10000
	o.Offset, o.Limit = max(total-limit, 0), min(limit, page)
	if all {
		o.Offset, o.Limit = 0, page
	}
	var jobs []apitype.Job
	for {
		p, err := api.Jobs(ctx, o)
		if err != nil {
			return nil, 0, err
		}
		jobs = append(jobs, p.Jobs...)
		o.Offset += len(p.Jobs)
		if len(p.Jobs) < o.Limit || (!all && len(jobs) >= limit) || o.Offset >= p.Total {
			return jobs, p.Total, nil
		}
	}
}

func writeJobTable(w io.Writer, jobs []apitype.Job, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPRIO\tUSER\tSUBMITTED ("+localZone()+")\tTIME\tEXIT\tWAITING\tWHAT")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Status, j.Priority, orDash(j.User),
			j.SubmitTime.Local().Format(timeFormat), orDash(runTime(j, now)), exitText(j), orDash(frontend.Waiting(wording(j))), what(j))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runTime is how long a job ran (or runs so far), "" when it never started.
func runTime(j apitype.Job, now time.Time) string {
	if j.StartTime == nil {
		return ""
	}
	end := now
	if j.EndTime != nil {
		end = *j.EndTime
	}
	return since(end.Sub(*j.StartTime))
}

func exitText(j apitype.Job) string {
	if j.ReturnCode == nil {
		return "-"
	}
	return strconv.Itoa(*j.ReturnCode)
}

// what says what a job runs: its project, or its command.
func what(j apitype.Job) string {
	var c struct {
		ProjectPath string   `json:"project_path"`
		Command     []string `json:"command"`
	}
	_ = json.Unmarshal(j.Config, &c)
	if len(c.Command) > 0 {
		s := "$ " + filepath.Base(c.Command[0])
		if len(c.Command) > 1 {
			s += " " + strings.Join(c.Command[1:], " ")
		}
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return s
	}
	return orDash(c.ProjectPath)
}

func statusCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	asJSON := fs.Bool("json", false, "print the job record as JSON")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("status takes one job ID")
		}
		j, err := cx.api.Job(ctx, args[0])
		if err != nil {
			return fmt.Errorf("job %s: %w", args[0], err)
		}
		if *asJSON {
			return writeJSON(cx.stdout, j)
		}
		writeJobDetail(cx.stdout, j, time.Now())
		if h, err := cx.api.JobHistory(ctx, j.ID); err == nil {
			writeDeliveries(cx.stdout, h.Deliveries)
		}
		return nil
	}
}

func writeJobDetail(w io.Writer, j apitype.Job, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Local().Format(timeZoneFormat)
	}
	row("id", j.ID)
	row("status", string(j.Status))
	row("exit code", strings.TrimPrefix(exitText(j), "-"))
	row("error", j.Error)
	row("waiting", frontend.Waiting(wording(j)))
	row("user", j.User)
	row("priority", strconv.Itoa(j.Priority))
	row("attempt", strconv.Itoa(j.Attempt))
	row("submitted", j.SubmitTime.Local().Format(timeZoneFormat))
	row("started", at(j.StartTime))
	row("ended", at(j.EndTime))
	row("run time", runTime(j, now))
	if j.SchedulerJobID != nil {
		row("scheduler id", *j.SchedulerJobID)
	}
	row("runs", what(j))
	row("progress", solverlog.Text(j.Progress))
	row("time left", frontend.TimeLeft(wording(j), now))
	tw.Flush()
}

func cancelCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) == 0 || after != nil {
			return usagef("cancel takes one or more job IDs")
		}
		code := exitOK
		for _, id := range args {
			r, err := cx.api.Cancel(ctx, id)
			if err != nil {
				code = max(code, cx.report("cancel", fmt.Errorf("job %s: %w", id, err)))
				continue
			}
			fmt.Fprintln(cx.stdout, r.Message)
			if !r.Success {
				code = max(code, exitError)
			}
		}
		return exitStatus(code)
	}
}

func priorityCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	return func(ctx context.Context, cx *cli, args, after []string) error {
		// A negative priority reads like a flag: accept it after "--" too.
		args = append(args, after...)
		if len(args) != 2 {
			return usagef("priority takes a job ID and a priority (simjobs priority ID -- -5 for a negative one)")
		}
		p, err := strconv.Atoi(args[1])
		if err != nil {
			return usagef("priority %q is not an integer", args[1])
		}
		r, err := cx.api.SetPriority(ctx, args[0], p)
		if err != nil {
			return fmt.Errorf("job %s: %w", args[0], err)
		}
		fmt.Fprintln(cx.stdout, r.Message)
		return nil
	}
}

func waitCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	all := fs.Bool("all", false, "wait for every job not yet ended")
	timeout := fs.Duration("timeout", 0, "give up after this `duration` (exit 124); 0 waits as long as it takes")
	quiet := fs.Bool("quiet", false, "no progress line")
	asJSON := fs.Bool("json", false, "print the final job records as JSON")
	solverCode := fs.Bool("exit-code", false, "when the one job waited for failed, exit with its own exit code (instead of 7)")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if after != nil || (len(args) == 0) == !*all {
			return usagef("wait takes job IDs, or --all")
		}
		ids := args
		if *all {
			jobs, _, err := listJobs(ctx, cx.api, client.ListOptions{Statuses: []apitype.Status{
				apitype.StatusPending, apitype.StatusQueued, apitype.StatusScheduled, apitype.StatusRunning}}, 0, true)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				ids = append(ids, j.ID)
			}
			if len(ids) == 0 {
				fmt.Fprintln(cx.stderr, "no job is waiting or running")
				return nil
			}
		}
		jobs, err := cx.follow(ctx, ids, *timeout, !*quiet)
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSON(cx.stdout, jobs); err != nil {
				return err
			}
		}
		if len(jobs) == 1 && !*all {
			return exitStatus(jobExitCode(jobs[0], *solverCode))
		}
		for _, j := range jobs {
			if j.Status != apitype.StatusCompleted {
				return exitStatus(exitError)
			}
		}
		return nil
	}
}

// jobExitCode is the exit code a command waiting for j ends with. The
// job's own code could be any number, the CLI's own among them (a solver's
// 3 would read as "server unreachable"), so it is passed on only when
// asked for (solverCode, --exit-code).
func jobExitCode(j apitype.Job, solverCode bool) int {
	switch j.Status {
	case apitype.StatusCompleted:
		return exitOK
	case apitype.StatusCancelled:
		return exitCancelled
	}
	if solverCode && j.ReturnCode != nil && *j.ReturnCode > 0 && *j.ReturnCode < 256 {
		return *j.ReturnCode
	}
	return exitJobFailed
}

// follow waits for jobs to end, showing a progress line on stderr and one
// line per ended job on stdout.
func (cx *cli) follow(ctx context.Context, ids []string, timeout time.Duration, show bool) ([]apitype.Job, error) {
	wctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p := &progress{cx: cx, ctx: wctx, show: show, ids: ids, jobs: map[string]apitype.Job{}, ended: map[string]bool{}}
	type result struct {
		jobs []apitype.Job
		err  error
	}
	done := make(chan result, 1)
	go func() {
		jobs, err := cx.api.Wait(wctx, ids, p.update)
		done <- result{jobs, err}
	}()
	var tick <-chan time.Time
	if show && cx.tty {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case r := <-done:
			p.clear()
			switch {
			case r.err == nil:
				return r.jobs, nil
			case errors.Is(r.err, context.DeadlineExceeded) && ctx.Err() == nil:
				fmt.Fprintf(cx.stderr, "simjobs: timed out after %s; %s\n", timeout, p.left())
				return nil, exitStatus(exitTimeout)
			case ctx.Err() != nil:
				fmt.Fprintf(cx.stderr, "simjobs: stopped waiting; %s on the server (simjobs cancel ID stops one)\n", p.left())
				return nil, exitStatus(exitInterrupted)
			}
			return nil, r.err
		case <-tick:
			p.draw()
		}
	}
}

// progress is the live line shown while waiting.
type progress struct {
	cx   *cli
	ctx  context.Context
	show bool
	ids  []string

	mu    sync.Mutex
	jobs  map[string]apitype.Job
	ended map[string]bool
	queue *apitype.QueueReply
	last  string // the last line drawn
}

// update is called by client.Wait with each event and job record.
func (p *progress) update(u client.WaitUpdate) {
	// Another job's start, end or move changes what ours waits for; an
	// event of ours is followed by a fresh record instead.
	if u.Event != nil && u.Event.Name != apitype.EventResourcesUpdated && !slices.Contains(p.ids, u.Event.JobID()) {
		p.refreshQueue()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if u.Job == nil {
		p.drawLocked()
		return
	}
	j := *u.Job
	p.jobs[j.ID] = j
	if j.Status.Terminal() && !p.ended[j.ID] {
		p.ended[j.ID] = true
		p.clearLocked()
		line := endLine(j)
		if why := p.cx.firstError(p.ctx, j); why != "" && !strings.Contains(line, why) {
			line += " — " + why
		}
		fmt.Fprintln(p.cx.stdout, line)
	}
	p.drawLocked()
}

// refreshQueue reads the queue while a waited-for job is queued, to say
// what it waits for.
func (p *progress) refreshQueue() {
	p.mu.Lock()
	queued := false
	for _, j := range p.jobs {
		queued = queued || j.Status == apitype.StatusQueued
	}
	p.mu.Unlock()
	if !queued || !p.show {
		return
	}
	q, err := p.cx.api.Queue(p.ctx)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.queue = &q
	p.mu.Unlock()
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked()
}

func (p *progress) drawLocked() {
	if !p.show {
		return
	}
	line := p.lineLocked(time.Now())
	if line == "" {
		return
	}
	if p.cx.tty {
		fmt.Fprint(p.cx.stderr, "\r\x1b[K"+line)
		p.last = line
		return
	}
	// Not a terminal: a line per change of state, without the clock.
	if bare := stripClock(line); bare != p.last {
		fmt.Fprintln(p.cx.stderr, bare)
		p.last = bare
	}
}

func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *progress) clearLocked() {
	if p.show && p.cx.tty && p.last != "" {
		fmt.Fprint(p.cx.stderr, "\r\x1b[K")
		p.last = ""
	}
}

// left says which jobs have not ended and go on.
func (p *progress) left() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for _, id := range p.ids {
		if !p.ended[id] {
			ids = append(ids, id)
		}
	}
	if len(ids) == 1 {
		return "job " + ids[0] + " keeps running"
	}
	return fmt.Sprintf("%d jobs keep running", len(ids))
}

// clockMark separates a line from its ticking clock.
const clockMark = " · "

func stripClock(line string) string {
	if i := strings.LastIndex(line, clockMark); i >= 0 {
		return line[:i]
	}
	return line
}

func (p *progress) lineLocked(now time.Time) string {
	var waiting []apitype.Job
	for _, id := range p.ids {
		if j, ok := p.jobs[id]; ok && !p.ended[id] {
			waiting = append(waiting, j)
		}
	}
	switch len(waiting) {
	case 0:
		return ""
	case 1:
		return p.oneLine(waiting[0], now)
	}
	count := map[apitype.Status]int{}
	for _, j := range waiting {
		count[j.Status]++
	}
	var parts []string
	for _, st := range apitype.Statuses {
		if count[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[st], st))
		}
	}
	return fmt.Sprintf("waiting for %d jobs: %s; %d ended", len(waiting), strings.Join(parts, ", "), len(p.ended))
}

func (p *progress) oneLine(j apitype.Job, now time.Time) string {
	switch j.Status {
	case apitype.StatusQueued, apitype.StatusPending:
		s := fmt.Sprintf("%s %s (priority %d", j.ID, j.Status, j.Priority)
		// A snapshot taken after the job left the queue says nothing
		// about it.
		if q := p.queue; q != nil && q.TotalQueued > 0 {
			s += fmt.Sprintf("; %d waiting, %d/%d running", q.TotalQueued, q.RunningJobs, q.MaxConcurrent)
			if q.BlockedBy != "" {
				s += "; held: " + q.BlockedBy
			}
		}
		// What holds this job itself (a license, a gate), when not the queue.
		if j.WaitingReason != "" && (p.queue == nil || j.WaitingReason != p.queue.BlockedBy) {
			s += "; " + j.WaitingReason
		}
		return s + ")" + clockMark + since(now.Sub(j.SubmitTime))
	case apitype.StatusScheduled:
		id := ""
		if j.SchedulerJobID != nil {
			id = " as " + *j.SchedulerJobID
		}
		return fmt.Sprintf("%s scheduled%s", j.ID, id) + clockMark + since(now.Sub(j.SubmitTime))
	case apitype.StatusRunning:
		s := j.ID + " running"
		if p := solverlog.Text(j.Progress); p != "" {
			s += ": " + p
		}
		start := j.SubmitTime
		if j.StartTime != nil {
			start = *j.StartTime
		}
		return s + clockMark + since(now.Sub(start))
	}
	return j.ID + " " + string(j.Status)
}

// endLine is the line printed when a job ends.
func endLine(j apitype.Job) string {
	took := ""
	if t := runTime(j, time.Now()); t != "" {
		took = " after " + t
	}
	switch j.Status {
	case apitype.StatusCompleted:
		return fmt.Sprintf("%s completed%s (exit 0)", j.ID, took)
	case apitype.StatusFailed:
		s := fmt.Sprintf("%s failed%s", j.ID, took)
		if j.Error != "" {
			s += ": " + j.Error
		} else if j.ReturnCode != nil {
			s += fmt.Sprintf(": exit code %d", *j.ReturnCode)
		}
		return s
	}
	s := fmt.Sprintf("%s %s%s", j.ID, j.Status, took)
	if j.Error != "" {
		s += ": " + j.Error
	}
	return s
}

func limitsCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	var p apitype.LimitsPatch
	maxConc := fs.Int("max-concurrent", 0, "jobs running at once on the server's host")
	maxCPU := fs.Float64("max-cpu-percent", 0, "start no job while host CPU is above this `percent`")
	minMem := fs.Float64("min-memory-gb", 0, "start no job while free memory is below this many `GB`")
	minDisk := fs.Float64("min-disk-gb", 0, "start no job while free disk is below this many `GB`")
	asJSON := fs.Bool("json", false, "print the limits as JSON")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) > 0 || after != nil {
			return usagef("limits takes flags only, got %q", append(args, after...))
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "max-concurrent":
				p.MaxConcurrentJobs = maxConc
			case "max-cpu-percent":
				p.MaxCPUPercent = maxCPU
			case "min-memory-gb":
				p.MinMemoryGB = minMem
			case "min-disk-gb":
				p.MinDiskGB = minDisk
			}
		})
		var lim apitype.Limits
		if p == (apitype.LimitsPatch{}) {
			l, err := cx.api.Limits(ctx)
			if err != nil {
				return err
			}
			lim = l
		} else {
			r, err := cx.api.SetLimits(ctx, p)
			if err != nil {
				return fmt.Errorf("set limits: %w", err)
			}
			lim = r.Limits
			if !*asJSON {
				fmt.Fprintln(cx.stderr, r.Message)
			}
		}
		if *asJSON {
			return writeJSON(cx.stdout, lim)
		}
		tw := tabwriter.NewWriter(cx.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "max_concurrent_jobs\t%d\n", lim.MaxConcurrentJobs)
		fmt.Fprintf(tw, "max_cpu_percent\t%g\n", lim.MaxCPUPercent)
		fmt.Fprintf(tw, "min_memory_gb\t%g\n", lim.MinMemoryGB)
		fmt.Fprintf(tw, "min_disk_gb\t%g\n", lim.MinDiskGB)
		return tw.Flush()
	}
}

// wording carries what the dashboard's wording helpers (frontend.Waiting,
// frontend.TimeLeft) read of a job, so the CLI words a job the way the
// pages do.
func wording(j apitype.Job) engine.Job {
	return engine.Job{Status: engine.Status(j.Status), WaitingReason: j.WaitingReason, Error: j.Error,
		QueuePosition: j.QueuePosition, Progress: j.Progress}
}
