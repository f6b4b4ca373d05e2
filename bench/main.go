// Command bench is the load harness behind `make bench`. Each figure is
// measured against a baseline run in the same process on the same machine,
// and reported as a ratio, so a noisy shared machine moves both sides. Every
// scenario runs -repeat times (3 by default) and the table gives the range.
//
// The scenarios are the table below; a new one is a function returning rows,
// in a file of its own, and one line in scenarios.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/testdata/pyedb"
)

// scenario is one measurement of the harness: it returns its rows, each
// with its own same-run baseline.
type scenario struct {
	name string // for -only
	run  func(cfg config) ([]row, error)
}

// scenarios run in this order. Add a line for a new one.
var scenarios = []scenario{
	{"submit", submissions},
	{"jobs", noopJobs},
	{"latency", startLatency},
	{"firstjob", firstJobLatency},
	{"scale", scale},
	{"openloop", openLoop},
	{"ws", wsFanout},
}

// config is what the flags set for every scenario.
type config struct {
	dur  time.Duration // how long a throughput run lasts
	jobs int           // jobs per run of a job-throughput scenario
	sync string        // the store's synchronous mode
	log  *slog.Logger
	// work holds the data dirs of every stack, removed only when the whole
	// run is over: on ext4 without a journal (this VM) the inode allocator
	// steps over every inode freed in the last minutes, so removing a
	// run's thousands of job folders made the job folders of the runs
	// after it cost up to ten times as much (measured in the README), a
	// cost the bare baselines, which make no files, never pay.
	work string
}

// row is one figure of one run. Rows of the same name from repeated runs
// are merged into one line of the table.
type row struct {
	name     string
	ours     float64
	base     float64 // 0: no baseline
	unit     string  // "/s" or " ms"
	baseNote string  // what the baseline is, when the name does not say
	ratio    bool    // show ours/base
	target   string  // "" when there is none
	met      bool
}

func main() {
	out := flag.String("out", "", "write the results table (markdown) to this file too")
	dur := flag.Duration("duration", 5*time.Second, "how long each throughput run lasts")
	jobs := flag.Int("jobs", 400, "no-op jobs per run of the job throughput test")
	only := flag.String("only", "", "run only these scenarios (comma-separated): "+names())
	repeat := flag.Int("repeat", 3, "run every scenario this many times and report the range")
	syncMode := flag.String("sync", store.SynchronousFull, "SQLite synchronous mode of the store: FULL or NORMAL")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	cfg := config{dur: *dur, jobs: *jobs, sync: *syncMode, log: slog.New(slog.DiscardHandler)}
	work, err := os.MkdirTemp("", "simjobs-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	cfg.work = work
	err = run(cfg, *out, *only, *repeat)
	os.RemoveAll(work)
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func names() string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

func run(cfg config, out, only string, repeat int) error {
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	for n := range want {
		if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == n }) {
			return fmt.Errorf("-only: no scenario %q (there are: %s)", n, names())
		}
	}
	var order []string
	runs := map[string][]row{}
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		for i := 0; i < max(repeat, 1); i++ {
			rows, err := s.run(cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			for _, r := range rows {
				if _, seen := runs[r.name]; !seen {
					order = append(order, r.name)
				}
				runs[r.name] = append(runs[r.name], r)
				fmt.Fprintf(os.Stderr, "%s run %d: %s: %s (baseline %s)\n", s.name, i+1, r.name, num(r.ours, r.unit), num(r.base, r.unit))
			}
		}
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs, %s, store synchronous %s; each row is the range over %d runs (`make bench`).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), cfg.sync, max(repeat, 1))
	fmt.Fprintln(&b, "| benchmark | simjobs | baseline (same run) | ratio | target | |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	for _, name := range order {
		rs := runs[name]
		ours, base, ratio := spread(rs, func(r row) float64 { return r.ours }), spread(rs, func(r row) float64 { return r.base }), ""
		if rs[0].ratio {
			ratio = spread(rs, func(r row) float64 { return r.ours / r.base }).fmt("x", "%.2f")
		}
		baseCell := ""
		if rs[0].base != 0 {
			baseCell = base.fmt(rs[0].unit, format(rs[0].unit))
			if rs[0].baseNote != "" {
				baseCell += " (" + rs[0].baseNote + ")"
			}
		}
		verdict := ""
		if rs[0].target != "" {
			met := 0
			for _, r := range rs {
				if r.met {
					met++
				}
			}
			verdict = fmt.Sprintf("met %d/%d", met, len(rs))
			if met < len(rs) {
				verdict = fmt.Sprintf("**missed** (met %d/%d)", met, len(rs))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, ours.fmt(rs[0].unit, format(rs[0].unit)), baseCell, ratio, rs[0].target, verdict)
	}
	os.Stdout.Write(b.Bytes())
	if out != "" {
		return os.WriteFile(out, b.Bytes(), 0o644)
	}
	return nil
}

type span struct{ lo, hi float64 }

func spread(rs []row, f func(row) float64) span {
	s := span{f(rs[0]), f(rs[0])}
	for _, r := range rs[1:] {
		s.lo, s.hi = min(s.lo, f(r)), max(s.hi, f(r))
	}
	return s
}

func (s span) fmt(unit, verb string) string {
	if fmt.Sprintf(verb, s.lo) == fmt.Sprintf(verb, s.hi) {
		return fmt.Sprintf(verb, s.lo) + unit
	}
	return fmt.Sprintf(verb+"–"+verb, s.lo, s.hi) + unit
}

func format(unit string) string {
	if unit == " ms" {
		return "%.2f"
	}
	return "%.0f"
}

func num(v float64, unit string) string { return fmt.Sprintf(format(unit), v) + unit }

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// noop is the solver of the job scenarios: a process that does nothing,
// so that what is measured is simjobs' own cost per job.
const noop = "/bin/true"

// stack is a server with its engine on a fresh data dir.
type stack struct {
	url   string
	m     *engine.Manager
	st    *store.SQLite
	dir   string
	stop  func()
	hfss  []byte // a submit body with a PyEDB HFSS config
	busy  *host.FakeSource
	local *local.Runner
}

func newStack(cfg config, limits engine.Limits, cpu float64) (*stack, error) {
	log := cfg.log
	dir, err := os.MkdirTemp(cfg.work, "stack-")
	if err != nil {
		return nil, err
	}
	s := &stack{dir: dir, busy: host.NewFakeSource(host.Sample{CPUPercent: cpu, MemoryFreeGB: 64, DiskFreeGB: 500})}
	project := filepath.Join(dir, "board.aedt")
	if err := os.WriteFile(project, []byte("x"), 0o644); err != nil {
		return nil, err
	}
	policy, err := engine.NewPolicy(noop, nil, nil, "none")
	if err != nil {
		return nil, err
	}
	if s.st, err = store.Open(context.Background(), filepath.Join(dir, "simjobs.db"), store.WithSynchronous(cfg.sync)); err != nil {
		return nil, err
	}
	s.local = local.New(local.Options{KillGrace: time.Second, Logger: log})
	s.m, err = engine.New(context.Background(), engine.Options{Store: s.st, Runner: s.local, Telemetry: s.busy, Policy: policy, Limits: limits, DataDir: dir, Logger: log})
	if err != nil {
		return nil, err
	}
	srv := server.New(server.Options{Manager: s.m, Sampler: s.busy, Logger: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln, time.Second); close(done) }()
	s.url = "http://" + ln.Addr().String()
	s.stop = func() {
		cancel()
		<-done
		c, stop := context.WithTimeout(context.Background(), 30*time.Second)
		s.m.Close(c)
		stop()
		s.st.Close() // the data dir stays until the run ends (see config.work)
	}
	s.hfss = pyedbBody(project)
	return s, nil
}

// pyedbBody is a submission as PyEDB serialises it.
func pyedbBody(project string) []byte {
	cfg := pyedb.Config("JOBID", project)
	cfg["design_name"], cfg["setup_name"] = "board", "Setup1"
	b, _ := json.Marshal(map[string]any{"config": cfg, "priority": 0})
	return b
}

// withID puts a unique job id into the body.
func withID(body []byte, id string) []byte {
	return bytes.Replace(body, []byte(`"JOBID"`), []byte(`"`+id+`"`), 1)
}

// hammer posts bodies from conc goroutines for d and counts 200s.
func hammer(url string, body []byte, conc int, d time.Duration, acked *sync.Map) (int64, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var ok, n atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("b%d_%d", w, i)
				resp, err := client.Post(url, "application/json", bytes.NewReader(withID(body, id)))
				n.Add(1)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
					if acked != nil {
						acked.Store(id, true)
					}
				} else {
					firstErr.CompareAndSwap(nil, fmt.Errorf("status %d", resp.StatusCode))
				}
			}
		}(w)
	}
	wg.Wait()
	if e, _ := firstErr.Load().(error); e != nil && ok.Load() == 0 {
		return 0, e
	}
	return ok.Load(), nil
}
