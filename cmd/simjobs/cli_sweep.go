package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/server/apitype"
)

// planFlags are submit's --depends-on and --retry flags.
type planFlags struct {
	dependsOn multiFlag
	retry     int
	backoff   string
	on        string
}

// multiFlag collects a flag given many times (and comma-separated lists).
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*m = append(*m, s)
		}
	}
	return nil
}

func (p *planFlags) register(fs *flag.FlagSet) {
	fs.Var(&p.dependsOn, "depends-on", "start only after job `ID[:afterok|afterany|afternotok]` ended so (default afterok); repeat or comma-separate for several")
	fs.IntVar(&p.retry, "retry", 0, "run a failed job again, up to `N` attempts in all")
	fs.StringVar(&p.backoff, "retry-backoff", "30s", "wait before the first retry (`DURATION`), doubling each time")
	fs.StringVar(&p.on, "retry-on", "any", "retry `which` failures: any, or license (the solver's log shows a license checkout failure)")
}

func (p *planFlags) options(priority int) (client.SubmitOptions, error) {
	o := client.SubmitOptions{Priority: priority}
	for _, d := range p.dependsOn {
		id, cond, _ := strings.Cut(d, ":")
		if id == "" {
			return o, usagef("--depends-on %q: give a job ID", d)
		}
		o.DependsOn = append(o.DependsOn, apitype.Dependency{JobID: id, Condition: cond})
	}
	if p.retry < 0 {
		return o, usagef("--retry must be >= 0")
	}
	if p.retry > 0 {
		o.Retry = &apitype.RetryPolicy{MaxAttempts: p.retry, Backoff: p.backoff, On: p.on}
	}
	return o, nil
}

func sweepCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	show := fs.String("show", "", "show sweep `ID`: counts and one line per variation")
	cancel := fs.String("cancel", "", "cancel every job of sweep `ID` not yet ended")
	resubmit := fs.String("resubmit", "", "submit again the failed and cancelled jobs of sweep `ID`")
	asJSON := fs.Bool("json", false, "print the server's reply as JSON")
	quiet := fs.Bool("quiet", false, "print only the sweep ID")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		switch {
		case *show != "":
			return cx.showSweep(ctx, *show, *asJSON)
		case *cancel != "":
			r, err := cx.api.CancelSweep(ctx, *cancel)
			return cx.sweepReply(r, r.Message, err, *asJSON)
		case *resubmit != "":
			r, err := cx.api.ResubmitSweep(ctx, *resubmit)
			return cx.sweepReply(r, r.Message, err, *asJSON)
		}
		if len(args) != 1 || after != nil {
			return usagef("sweep takes one FILE.json (or - for stdin)")
		}
		var body []byte
		var err error
		if args[0] == "-" {
			body, err = io.ReadAll(cx.stdin)
		} else {
			body, err = os.ReadFile(args[0])
		}
		if err != nil {
			return usagef("read sweep: %v", err)
		}
		if !json.Valid(body) {
			return usagef("%s is not valid JSON", args[0])
		}
		r, err := cx.api.SubmitSweep(ctx, json.RawMessage(body))
		if err != nil {
			return err
		}
		switch {
		case *asJSON:
			return writeJSON(cx.stdout, r)
		case *quiet:
			fmt.Fprintln(cx.stdout, r.SweepID)
		default:
			fmt.Fprintln(cx.stdout, r.Message)
			fmt.Fprintf(cx.stdout, "see: simjobs sweep --show %s   or   simjobs jobs --sweep %s\n", r.SweepID, r.SweepID)
		}
		return nil
	}
}

func (cx *cli) showSweep(ctx context.Context, id string, asJSON bool) error {
	sw, err := cx.api.Sweep(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cx.stdout, sw)
	}
	fmt.Fprintf(cx.stdout, "%s  %s  (%s, %d jobs, max_parallel %d, by %s)\n", sw.ID, sw.Name, sw.Mode, sw.Total, sw.MaxParallel, sw.User)
	var st []string
	for s, n := range sw.Counts {
		st = append(st, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(st)
	fmt.Fprintln(cx.stdout, "  "+strings.Join(st, ", "))
	page, err := cx.api.Jobs(ctx, client.ListOptions{Sweep: id, Limit: 10000})
	if err != nil {
		return err
	}
	writeJobTable(cx.stdout, page.Jobs, time.Now())
	return nil
}

// sweepReply prints the answer to a sweep's cancel or resubmit: the reply
// as JSON, or its message.
func (cx *cli) sweepReply(reply any, message string, err error, asJSON bool) error {
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cx.stdout, reply)
	}
	fmt.Fprintln(cx.stdout, message)
	return nil
}
