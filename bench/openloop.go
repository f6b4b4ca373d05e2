package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/server"
)

var (
	openRate = flag.Float64("openloop-rate", 500, "submissions per second of the open-loop run (-only openloop)")
	openFor  = flag.Duration("openloop-for", 30*time.Second, "how long the open-loop run sends")
)

// openLoop sends PyEDB submissions to the real server (the simjobs binary,
// synchronous FULL) on a fixed schedule, -openloop-rate a second for
// -openloop-for, whatever the replies do: request i is due at start + i/rate
// and its latency runs from that due time, so a server that stalls is
// charged for every request that waited behind the stall (no coordinated
// omission). The baseline is the same schedule against a bare Fiber handler
// that only decodes the JSON, in this process. Every acknowledged job must
// then be listed by the server.
func openLoop(cfg config) ([]row, error) {
	rate, dur := *openRate, *openFor
	if rate <= 0 || dur <= 0 {
		return nil, errors.New("-openloop-rate and -openloop-for must be positive")
	}
	work, err := os.MkdirTemp("", "simjobs-bench-openloop-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	project := filepath.Join(work, "board.aedt")
	if err := os.WriteFile(project, []byte("x"), 0o644); err != nil {
		return nil, err
	}
	body := pyedbBody(project)

	bareURL, stopBare, err := bareDecodeServer()
	if err != nil {
		return nil, err
	}
	base := sendOpenLoop(bareURL+"/jobs/submit", body, "bare", rate, dur)
	stopBare()
	if base.errors > 0 {
		return nil, fmt.Errorf("baseline: %d errors, the first: %v", base.errors, base.firstErr)
	}

	exe, err := simjobsBinary()
	if err != nil {
		return nil, err
	}
	// Jobs stay queued (no host has a petabyte free): submission alone is
	// measured. The solver must exist for HFSS submissions to be accepted.
	srv, err := startServer(exe, filepath.Join(work, "data"), "--min-disk-gb", "1000000", "--ansys-edt-path", noop,
		// Many clients, one address: the per-caller limit (50/s by default)
		// would answer most of them 429.
		"--rate-limit", "off")
	if err != nil {
		return nil, err
	}
	ours := sendOpenLoop(srv.url+"/jobs/submit", body, "ol", rate, dur)
	if ours.errors > 0 {
		fmt.Fprintf(os.Stderr, "openloop: %d errors, the first: %v\n", ours.errors, ours.firstErr)
	}
	listed, lerr := totalJobs(srv.url)
	if err := errors.Join(lerr, srv.stop()); err != nil {
		return nil, err
	}
	if acked := ours.sent - ours.errors; listed != acked {
		return nil, fmt.Errorf("%d submissions acknowledged, the server lists %d jobs", acked, listed)
	}

	name := fmt.Sprintf("open loop, %.0f submissions/s for %v (latency from each request's due time)", rate, dur)
	note := "bare Fiber handler decoding the same JSON, same schedule"
	p99 := quantile(ours.lat, 0.99)
	return []row{
		{name: name + ", p50", ours: ms(quantile(ours.lat, 0.5)), base: ms(quantile(base.lat, 0.5)), unit: " ms", baseNote: note, ratio: true},
		{name: name + ", p99", ours: ms(p99), base: ms(quantile(base.lat, 0.99)), unit: " ms", baseNote: note, ratio: true,
			target: "< 20 ms", met: p99 < 20*time.Millisecond && ours.errors == 0},
		{name: name + ", max", ours: ms(quantile(ours.lat, 1)), base: ms(quantile(base.lat, 1)), unit: " ms", baseNote: note, ratio: true},
		{name: name + ", errors (non-200 or no reply)", ours: float64(ours.errors), unit: " errors", target: "0", met: ours.errors == 0},
		{name: name + ", sender lateness p99 (due to sent)", ours: ms(quantile(ours.late, 0.99)), base: ms(quantile(base.late, 0.99)), unit: " ms", baseNote: "same, against the bare handler"},
	}, nil
}

// openResult is what one open-loop run saw.
type openResult struct {
	lat      []time.Duration // from due time to the reply read, every request
	late     []time.Duration // from due time to the request being sent
	sent     int
	errors   int
	firstErr error
}

// sendOpenLoop posts body (with job id prefix+i) to url at rate a second
// for dur, each request on its own goroutine when it is due.
func sendOpenLoop(url string, body []byte, prefix string, rate float64, dur time.Duration) openResult {
	n := int(rate * dur.Seconds())
	// Connections are never the bottleneck: a request due finds one idle
	// or opens one, as many independent clients would.
	tr := &http.Transport{MaxIdleConnsPerHost: 1024}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	res := openResult{lat: make([]time.Duration, n), late: make([]time.Duration, n), sent: n}
	var errs atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	interval := float64(time.Second) / rate
	start := time.Now().Add(100 * time.Millisecond)
	for i := range n {
		due := start.Add(time.Duration(float64(i) * interval))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.late[i] = time.Since(due)
			err := postOnce(client, url, withID(body, prefix+strconv.Itoa(i)))
			res.lat[i] = time.Since(due)
			if err != nil {
				errs.Add(1)
				once.Do(func() { res.firstErr = err })
			}
		}()
	}
	wg.Wait()
	res.errors = int(errs.Load())
	slices.Sort(res.lat)
	slices.Sort(res.late)
	return res
}

func postOnce(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return nil
}

// totalJobs is the server's X-Total-Count of all jobs.
func totalJobs(url string) (int, error) {
	resp, err := http.Get(url + "/jobs?limit=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var page []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return 0, err
	}
	return strconv.Atoi(resp.Header.Get("X-Total-Count"))
}

// bareDecodeServer serves POST /jobs/submit with a bare Fiber handler that
// only decodes the JSON and answers as simjobs does.
func bareDecodeServer() (url string, stop func(), err error) {
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
		return "", nil, err
	}
	go app.Listener(ln)
	return "http://" + ln.Addr().String(), func() { app.ShutdownWithTimeout(time.Second) }, nil
}
