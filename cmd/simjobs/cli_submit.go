package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"

	"github.com/simjobs/simjobs/client"
	"github.com/simjobs/simjobs/engine/hfss"
	"github.com/simjobs/simjobs/engine/projects"
	"github.com/simjobs/simjobs/server/apitype"
)

// configFlags are the common HFSS options as flags; a flag given on the
// command line overrides the same field of a config file.
type configFlags struct {
	fs         *flag.FlagSet
	project    string
	jobid      string
	design     string
	designMode string
	setup      string
	cores      int
	maxCores   int
	timeLimit  string
	queue      string
	nodes      int
	memory     string
	solver     string
	workdir    string
}

func (f *configFlags) register(fs *flag.FlagSet, withProject bool) {
	f.fs = fs
	if withProject {
		fs.StringVar(&f.project, "project", "", "the project to solve (`PATH` of an .aedt or .aedb)")
		fs.StringVar(&f.jobid, "jobid", "", "job `ID` (letters, digits, _ and -); also the idempotency key (default: generated)")
		fs.StringVar(&f.workdir, "workdir", "", "working `DIR` of a plain command job")
	}
	fs.StringVar(&f.design, "design", "", "design `NAME` to solve (default: the active design)")
	fs.StringVar(&f.designMode, "design-mode", "", "design `MODE` (variation)")
	fs.StringVar(&f.setup, "setup", "", "setup `NAME` to solve (default: every setup)")
	fs.IntVar(&f.cores, "cores", 0, "cores for the solver (machine_nodes[0].cores and max_cores, as PyEDB's --num-cores)")
	fs.IntVar(&f.maxCores, "max-cores", 0, "machine_nodes[0].max_cores, when it differs from --cores")
	fs.StringVar(&f.timeLimit, "time", "", "wall-time limit: `HH:MM:SS`, D.HH:MM:SS or minutes")
	fs.StringVar(&f.queue, "queue", "", "scheduler queue or partition `NAME`")
	fs.IntVar(&f.nodes, "nodes", 0, "scheduler nodes")
	fs.StringVar(&f.memory, "memory", "", "scheduler memory per node, e.g. `64GB`")
	fs.StringVar(&f.solver, "ansys-edt-path", "", "the solver (`PATH` of ansysedt) for --local-fallback; a server always runs its own")
}

// given reports whether a flag was on the command line.
func (f *configFlags) given(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// apply writes the flags given into an HFSS config.
func (f *configFlags) apply(cfg map[string]any) error {
	str := func(flagName, path, v string) {
		if f.given(flagName) {
			hfss.SetField(cfg, path, v)
		}
	}
	if f.given("project") {
		abs, err := filepath.Abs(f.project)
		if err != nil {
			return usagef("--project: %v", err)
		}
		hfss.SetField(cfg, "project_path", abs)
	}
	str("jobid", "jobid", f.jobid)
	str("design", "design_name", f.design)
	str("design-mode", "design_mode", f.designMode)
	str("setup", "setup_name", f.setup)
	str("time", "scheduler_options.time", f.timeLimit)
	str("queue", "scheduler_options.queue", f.queue)
	str("memory", "scheduler_options.memory", f.memory)
	str("ansys-edt-path", "ansys_edt_path", f.solver)
	if f.given("nodes") {
		hfss.SetField(cfg, "scheduler_options.nodes", f.nodes)
	}
	if f.given("cores") || f.given("max-cores") {
		node := firstNode(cfg)
		if f.given("cores") {
			node["cores"] = f.cores
			node["max_cores"] = max(f.cores, 1)
		}
		if f.given("max-cores") {
			node["max_cores"] = f.maxCores
		}
	}
	return nil
}

// firstNode returns machine_nodes[0], creating it.
func firstNode(cfg map[string]any) map[string]any {
	nodes, _ := cfg["machine_nodes"].([]any)
	if len(nodes) == 0 {
		nodes = []any{map[string]any{}}
		cfg["machine_nodes"] = nodes
	}
	node, ok := nodes[0].(map[string]any)
	if !ok {
		node = map[string]any{}
		nodes[0] = node
	}
	return node
}

func submitCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	var cf configFlags
	cf.register(fs, true)
	priority := fs.Int("priority", 0, "priority: higher runs first; negative is low")
	wait := fs.Bool("wait", false, "wait for the job, showing its progress; exit 0 if it completed, 7 if it failed, 8 if it was cancelled")
	fallback := fs.Bool("local-fallback", false, "when the server cannot be reached, run the job here in the foreground")
	localDir := fs.String("local-dir", "", "where --local-fallback keeps job logs (default: the user cache folder, simjobs/local)")
	quiet := fs.Bool("quiet", false, "print only the job ID")
	asJSON := fs.Bool("json", false, "print the server's reply (with --wait: the final job record) as JSON")
	solverCode := fs.Bool("exit-code", false, "with --wait: when the job failed, exit with its own exit code (instead of 7)")
	var plan planFlags
	plan.register(fs)
	nf := registerNotifyFlags(fs)
	return func(ctx context.Context, cx *cli, args, after []string) error {
		cx.solverCode = *solverCode
		cfg, prio, err := cx.buildConfig(&cf, args, after)
		if err != nil {
			return err
		}
		if cf.given("priority") || prio == nil {
			prio = priority
		}
		opts, err := plan.options(*prio)
		if err != nil {
			return err
		}
		if spec := nf.spec(); spec != nil {
			opts.Notify = spec
		}
		reply, err := cx.api.SubmitWith(ctx, cfg, opts)
		if errors.Is(err, client.ErrUnreachable) && *fallback {
			return cx.runLocal(ctx, cfg, cf.solver, *localDir, err)
		}
		if err != nil {
			return err
		}
		switch {
		case *asJSON && !*wait:
			if err := writeJSON(cx.stdout, reply); err != nil {
				return err
			}
		case *quiet:
			fmt.Fprintln(cx.stdout, reply.JobID)
		case !*asJSON:
			fmt.Fprintln(cx.stdout, reply.Message)
		}
		if !*wait {
			return nil
		}
		jobs, err := cx.follow(ctx, []string{reply.JobID}, 0, !*quiet)
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSON(cx.stdout, jobs[0]); err != nil {
				return err
			}
		}
		return exitStatus(jobExitCode(jobs[0], cx.solverCode))
	}
}

// buildConfig makes the config to submit from a file (or stdin), the
// --project flag, or a command after "--", with the flags given applied.
// A file holding a whole submit body ({"config": ..., "priority": N})
// gives its priority too.
func (cx *cli) buildConfig(cf *configFlags, args, after []string) (map[string]any, *int, error) {
	sources := 0
	for _, b := range []bool{len(args) > 0, cf.given("project"), after != nil} {
		if b {
			sources++
		}
	}
	switch {
	case len(args) > 1:
		return nil, nil, usagef("give one config file, got %q", args)
	case sources == 0:
		return nil, nil, usagef("give a config file (or - for stdin), --project PATH, or -- COMMAND [ARG...]")
	case sources > 1:
		return nil, nil, usagef("give only one of: a config file, --project, -- COMMAND")
	}
	if after != nil {
		if len(after) == 0 {
			return nil, nil, usagef("give the command after --")
		}
		cfg := map[string]any{"command": after}
		if cf.given("jobid") {
			cfg["jobid"] = cf.jobid
		}
		if cf.given("workdir") {
			abs, err := filepath.Abs(cf.workdir)
			if err != nil {
				return nil, nil, usagef("--workdir: %v", err)
			}
			cfg["working_directory"] = abs
		}
		if cf.given("time") {
			cfg["time"] = cf.timeLimit
		}
		return cfg, nil, nil
	}
	cfg := map[string]any{}
	var prio *int
	if len(args) == 1 {
		var data []byte
		var err error
		if args[0] == "-" {
			data, err = io.ReadAll(cx.stdin)
		} else {
			data, err = os.ReadFile(args[0])
		}
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&cfg); err != nil || cfg == nil {
			return nil, nil, usagef("config %s is not a JSON object: %v", args[0], err)
		}
		if inner, ok := cfg["config"].(map[string]any); ok {
			if p, ok := cfg["priority"].(json.Number); ok {
				n, err := p.Int64()
				if err != nil {
					return nil, nil, usagef("config %s: priority %s is not an integer", args[0], p)
				}
				v := int(n)
				prio = &v
			}
			cfg = inner
		}
	}
	if _, isCommand := cfg["command"]; !isCommand {
		if err := cf.apply(cfg); err != nil {
			return nil, nil, err
		}
	} else if cf.given("jobid") {
		cfg["jobid"] = cf.jobid
	}
	return cfg, prio, nil
}

func batchCommand(fs *flag.FlagSet) func(context.Context, *cli, []string, []string) error {
	var cf configFlags
	cf.register(fs, false)
	recursive := fs.Bool("recursive", false, "look into sub-folders too")
	concurrency := fs.Int("concurrency", 4, "submissions in flight at once")
	priority := fs.Int("priority", 0, "priority of every job")
	wait := fs.Bool("wait", false, "then wait for every job submitted; exit 0 if all completed, 1 if not")
	return func(ctx context.Context, cx *cli, args, after []string) error {
		if len(args) != 1 || after != nil {
			return usagef("batch takes one folder")
		}
		if *concurrency < 1 {
			return usagef("--concurrency must be at least 1")
		}
		dir := args[0]
		found, err := projects.Discover(dir, *recursive)
		if err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		if len(found) == 0 {
			fmt.Fprintf(cx.stderr, "no projects in %s (looked for .aedt files and .aedb without a sibling .aedt", dir)
			if !*recursive {
				fmt.Fprint(cx.stderr, "; --recursive looks into sub-folders")
			}
			fmt.Fprintln(cx.stderr, ")")
			return nil
		}
		type outcome struct {
			reply string
			jobID string
			err   error
		}
		results := make([]outcome, len(found))
		sem := make(chan struct{}, *concurrency)
		var wg sync.WaitGroup
		for i, p := range found {
			cfg := map[string]any{"project_path": p}
			if err := cf.apply(cfg); err != nil {
				return err
			}
			// The same project gives the same job id: running the batch
			// again starts each job's next attempt, not a copy of it.
			if _, ok := cfg["jobid"]; !ok {
				design, _ := cfg["design_name"].(string)
				setup, _ := cfg["setup_name"].(string)
				cfg["jobid"] = projects.JobID(p, design, setup)
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				r, err := cx.api.Submit(ctx, cfg, *priority)
				results[i] = outcome{jobID: r.JobID, err: err}
				if err == nil {
					results[i].reply = string(r.Status)
					if r.Duplicate {
						results[i].reply = "already " + string(r.Status)
					}
				}
			}()
		}
		wg.Wait()
		root, _ := filepath.Abs(dir)
		tw := tabwriter.NewWriter(cx.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tJOB ID\tRESULT")
		failed, unreachable := 0, 0
		for i, p := range found {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				rel = p
			}
			r := results[i]
			if r.err != nil {
				failed++
				if errors.Is(r.err, client.ErrUnreachable) {
					unreachable++
				}
				msg, _ := cx.explain(r.err)
				fmt.Fprintf(tw, "%s\t-\terror: %s\n", rel, firstLine(msg))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", rel, r.jobID, r.reply)
		}
		tw.Flush()
		fmt.Fprintf(cx.stdout, "%d projects: %d submitted, %d failed\n", len(found), len(found)-failed, failed)
		switch {
		case unreachable == len(found):
			msg, code := cx.explain(results[0].err)
			fmt.Fprintf(cx.stderr, "simjobs batch: %s\n", msg)
			return exitStatus(code)
		case failed > 0 && !*wait:
			return exitStatus(exitError)
		}
		if !*wait {
			return nil
		}
		var ids []string
		for _, r := range results {
			if r.err == nil {
				ids = append(ids, r.jobID)
			}
		}
		jobs, err := cx.follow(ctx, ids, 0, true)
		if err != nil {
			return err
		}
		done := 0
		for _, j := range jobs {
			if j.Status == apitype.StatusCompleted {
				done++
			}
		}
		fmt.Fprintf(cx.stdout, "%d jobs: %d completed, %d did not\n", len(jobs), done, len(jobs)-done)
		if done < len(jobs) || failed > 0 {
			return exitStatus(exitError)
		}
		return nil
	}
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
