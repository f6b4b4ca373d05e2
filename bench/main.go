// Command bench is the load harness behind `make bench`. Each figure is
// measured against a baseline run in the same process on the same machine,
// and reported as a ratio, so a noisy shared machine moves both sides:
//
//   - REST submissions per second at concurrency 32, against a bare Fiber
//     handler that only decodes the same JSON; afterwards every acknowledged
//     job must be in the store;
//   - no-op local jobs completed per second at max_concurrent 4, against a
//     bare Go loop that fork/execs the same fake solver with 4 workers;
//   - submit-to-start latency on an idle server (p50, p99).
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
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/server"
	"github.com/simjobs/simjobs/testdata/fakesolver"
	"github.com/simjobs/simjobs/testdata/pyedb"
)

// syncMode is the store's synchronous setting for the run (-sync).
var syncMode = store.SynchronousFull

func main() {
	out := flag.String("out", "", "write the results table (markdown) to this file too")
	dur := flag.Duration("duration", 5*time.Second, "how long each throughput run lasts")
	jobs := flag.Int("jobs", 400, "no-op jobs per run of the job throughput test")
	only := flag.String("only", "", "run only this part: submit, jobs, latency or ws")
	flag.StringVar(&syncMode, "sync", syncMode, "SQLite synchronous mode of the store: FULL or NORMAL")
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
	if err := run(*out, *only, *dur, *jobs); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	name, ours, base, ratio, target, verdict string
}

func run(out, only string, dur time.Duration, nJobs int) error {
	var rows []result
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	if only == "" || only == "submit" {
		sub, err := submissions(dur, log)
		if err != nil {
			return fmt.Errorf("submissions: %w", err)
		}
		rows = append(rows, sub)
	}
	if only == "" || only == "jobs" {
		jr, err := jobThroughput(nJobs, log)
		if err != nil {
			return fmt.Errorf("job throughput: %w", err)
		}
		rows = append(rows, jr)
	}
	if only == "" || only == "latency" {
		lat, err := startLatency(200, log)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		rows = append(rows, lat...)
	}
	if only == "" || only == "ws" {
		ws, err := wsRows(log)
		if err != nil {
			return fmt.Errorf("websocket fan-out: %w", err)
		}
		rows = append(rows, ws...)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs, %s (`make bench`).\n\n", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(&b, "| benchmark | simjobs | baseline (same run) | ratio | target | |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.name, r.ours, r.base, r.ratio, r.target, r.verdict)
	}
	os.Stdout.Write(b.Bytes())
	if out != "" {
		return os.WriteFile(out, b.Bytes(), 0o644)
	}
	return nil
}

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

func newStack(limits engine.Limits, cpu float64, log *slog.Logger) (*stack, error) {
	dir, err := os.MkdirTemp("", "simjobs-bench-")
	if err != nil {
		return nil, err
	}
	s := &stack{dir: dir, busy: host.NewFakeSource(host.Sample{CPUPercent: cpu, MemoryFreeGB: 64, DiskFreeGB: 500})}
	project := filepath.Join(dir, "board.aedt")
	if err := os.WriteFile(project, []byte("x"), 0o644); err != nil {
		return nil, err
	}
	policy, err := engine.NewPolicy(fakesolver.Path(), nil, nil, "none")
	if err != nil {
		return nil, err
	}
	if s.st, err = store.Open(context.Background(), filepath.Join(dir, "simjobs.db"), store.WithSynchronous(syncMode)); err != nil {
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
		s.st.Close()
		os.RemoveAll(dir)
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

func submissions(d time.Duration, log *slog.Logger) (result, error) {
	// Baseline: a bare Fiber handler decoding the same JSON.
	app := fiber.New(fiber.Config{DisableStartupMessage: true, BodyLimit: server.MaxBody})
	app.Post("/jobs/submit", func(c *fiber.Ctx) error {
		var v map[string]any
		if err := json.Unmarshal(c.Body(), &v); err != nil {
			return c.Status(400).SendString(err.Error())
		}
		return c.JSON(fiber.Map{"success": true, "job_id": "x", "message": "ok"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	go app.Listener(ln)
	defer app.ShutdownWithTimeout(time.Second)
	project := filepath.Join(os.TempDir(), "bench.aedt")
	body := pyedbBody(project)
	base := int64(1)
	if os.Getenv("BENCH_SKIP_BASELINE") == "" {
		base, err = hammer("http://"+ln.Addr().String()+"/jobs/submit", body, 32, d, nil)
		if err != nil {
			return result{}, err
		}
	}

	// simjobs: jobs stay queued (CPU gate closed) so only submission is measured.
	s, err := newStack(engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 50, MinMemoryGB: 1, MinDiskGB: 1}, 99, log)
	if err != nil {
		return result{}, err
	}
	defer s.stop()
	var acked sync.Map
	ours, err := hammer(s.url+"/jobs/submit", s.hfss, 32, d, &acked)
	if err != nil {
		return result{}, err
	}
	// Every acknowledged job must be committed.
	missing := 0
	acked.Range(func(k, _ any) bool {
		if _, err := s.st.JobGet(context.Background(), k.(string)); err != nil {
			missing++
		}
		return true
	})
	if missing > 0 {
		return result{}, fmt.Errorf("%d acknowledged submissions are not in the store", missing)
	}
	oursRate, baseRate := float64(ours)/d.Seconds(), float64(base)/d.Seconds()
	return ratioRow("REST submissions/s, concurrency 32 (all acked jobs verified in the store)", oursRate, baseRate, "/s", 0.25, "≥ 25%"), nil
}

func jobThroughput(n int, log *slog.Logger) (result, error) {
	fake := fakesolver.Path()
	// Baseline: 4 workers fork/exec'ing the fake solver.
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := exec.Command(fake).Run(); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if failed.Load() > 0 {
		return result{}, fmt.Errorf("baseline: %d runs failed", failed.Load())
	}
	baseRate := float64(n) / time.Since(start).Seconds()

	s, err := newStack(engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100, MinMemoryGB: 0, MinDiskGB: 0}, 0, log)
	if err != nil {
		return result{}, err
	}
	defer s.stop()
	sub := s.m.Events().Subscribe(-1, n*4+16)
	defer sub.Close()
	cmd := func(i int) json.RawMessage {
		b, _ := json.Marshal(engine.CommandConfig{Command: []string{fake}, JobID: fmt.Sprintf("noop%d", i)})
		return b
	}
	start = time.Now()
	for i := 0; i < n; i++ {
		if _, err := s.m.Submit(context.Background(), engine.SubmitRequest{Config: cmd(i)}); err != nil {
			return result{}, err
		}
	}
	done := 0
	for done < n {
		ev := <-sub.C
		if ev.Name == engine.EventJobCompleted {
			if d := ev.Data.(engine.JobEndedData); d.Status != engine.StatusCompleted {
				return result{}, fmt.Errorf("job %s %s: %s", d.JobID, d.Status, d.Error)
			}
			done++
		}
	}
	oursRate := float64(n) / time.Since(start).Seconds()
	return ratioRow(fmt.Sprintf("no-op local jobs completed/s, max_concurrent 4 (%d jobs)", n), oursRate, baseRate, "/s", 0.70, "≥ 70%"), nil
}

func startLatency(n int, log *slog.Logger) ([]result, error) {
	s, err := newStack(engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100, MinMemoryGB: 0, MinDiskGB: 0}, 0, log)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	fake := fakesolver.Path()
	client := &http.Client{Timeout: 10 * time.Second}
	var lats []time.Duration
	for i := 0; i < n; i++ {
		sub := s.m.Events().Subscribe(-1, 64)
		body, _ := json.Marshal(map[string]any{"config": engine.CommandConfig{Command: []string{fake}, JobID: fmt.Sprintf("lat%d", i)}})
		resp, err := client.Post(s.url+"/jobs/submit", "application/json", bytes.NewReader(body))
		if err != nil {
			sub.Close()
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		acked := time.Now()
		started := false
		for ev := range sub.C {
			if ev.Name == engine.EventJobStarted && !started {
				lats = append(lats, time.Since(acked))
				started = true
			}
			if ev.Name == engine.EventJobCompleted {
				if d := ev.Data.(engine.JobEndedData); !started || d.Status != engine.StatusCompleted {
					sub.Close()
					return nil, fmt.Errorf("job %s ended %s without a clean run: %s", d.JobID, d.Status, d.Error)
				}
				break
			}
		}
		sub.Close()
	}
	slices.Sort(lats)
	p := func(q float64) time.Duration { return lats[int(q*float64(len(lats)-1))] }
	// The baseline: how long a bare fork/exec of the same solver takes to
	// return from Start on this machine (the floor under any job start).
	var execs []time.Duration
	for i := 0; i < n; i++ {
		c := exec.Command(fake)
		t0 := time.Now()
		if err := c.Start(); err != nil {
			return nil, err
		}
		execs = append(execs, time.Since(t0))
		c.Wait()
	}
	slices.Sort(execs)
	pe := func(q float64) time.Duration { return execs[int(q*float64(len(execs)-1))] }
	verdict := "met"
	if p(0.99) >= 5*time.Millisecond {
		verdict = "missed"
	}
	return []result{
		{name: fmt.Sprintf("submit-to-start latency p50, idle server (%d jobs; ack to job_started)", n), ours: ms(p(0.5)), base: ms(pe(0.5)) + " (bare exec Start)", ratio: fmt.Sprintf("%.1fx", float64(p(0.5))/float64(pe(0.5))), target: "", verdict: ""},
		{name: "submit-to-start latency p99", ours: ms(p(0.99)), base: ms(pe(0.99)) + " (bare exec Start)", ratio: fmt.Sprintf("%.1fx", float64(p(0.99))/float64(pe(0.99))), target: "< 5 ms", verdict: verdict},
	}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func ratioRow(name string, ours, base float64, unit string, want float64, target string) result {
	r := ours / base
	verdict := "met"
	if r < want {
		verdict = "missed"
	}
	return result{name: name, ours: fmt.Sprintf("%.0f%s", ours, unit), base: fmt.Sprintf("%.0f%s", base, unit), ratio: fmt.Sprintf("%.0f%%", 100*r), target: target, verdict: verdict}
}
