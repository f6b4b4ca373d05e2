package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

var (
	scaleJobs     = flag.Int("scale-jobs", 1_000_000, "jobs in the store of the scale run (-only scale)")
	scaleRequests = flag.Int("scale-requests", 4000, "GET /jobs requests of the scale run's listing load")
)

// scaleListing is the listing the scale run times: a page of ended jobs,
// as a dashboard or a script pages through history.
const scaleListing = "/jobs?limit=50&status=completed"

// scale measures the real server (the simjobs binary) on a store holding
// -scale-jobs jobs of storetest's seed (cached under $TMPDIR; the first run
// seeds it, a few minutes): start-up to ready, resident memory after
// start-up and after the listing load, and the latency of
// GET /jobs?limit=50&status=completed from 4 clients. The baselines, from
// the same run: the same binary on an empty store, and the same store calls
// (the count for X-Total-Count and the page) made in this process.
func scale(cfg config) ([]row, error) {
	n, requests := *scaleJobs, *scaleRequests
	ctx := context.Background()
	seedPath, took, err := storetest.SeedCached(ctx, n, store.SchemaVersion(), func(ctx context.Context, path string) (storetest.Seeder, error) {
		s, err := store.Open(ctx, path, store.WithSynchronous(store.SynchronousNormal))
		if err != nil {
			return nil, err
		}
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if took > 0 {
		fmt.Fprintf(os.Stderr, "scale: seeded %d jobs into %s in %v\n", n, seedPath, took.Round(time.Second))
	}
	fi, err := os.Stat(seedPath)
	if err != nil {
		return nil, err
	}
	exe, err := simjobsBinary()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "simjobs-bench-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	// Jobs stay queued (no host has a petabyte free), so what is measured
	// is the listing and the start-up, not solver runs.
	args := []string{"--min-disk-gb", "1000000"}

	// Baseline: the same binary on an empty data dir, same load.
	base, err := startServer(exe, filepath.Join(work, "empty"), args...)
	if err != nil {
		return nil, err
	}
	baseReadyRSS, rssErr := base.rss()
	_, _, err = listLoad(base.url, requests)
	baseLoadedRSS, rssErr2 := base.rss()
	if err := errors.Join(err, rssErr, rssErr2, base.stop()); err != nil {
		return nil, fmt.Errorf("empty store: %w", err)
	}

	// The store alone, in this process, on the seeded file (read only).
	storeLat, completed, err := storeLoad(ctx, seedPath, requests)
	if err != nil {
		return nil, err
	}

	// The server on a copy of the seed: it writes (recovering the jobs that
	// were running, requeueing the pending ones).
	full := filepath.Join(work, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		return nil, err
	}
	if err := storetest.CopyFile(seedPath, filepath.Join(full, "simjobs.db")); err != nil {
		return nil, err
	}
	srv, err := startServer(exe, full, args...)
	if err != nil {
		return nil, err
	}
	readyRSS, err := srv.rss()
	if err != nil {
		srv.kill()
		return nil, err
	}
	lat, total, err := listLoad(srv.url, requests)
	if err != nil {
		srv.kill()
		return nil, err
	}
	loadedRSS, err := srv.rss()
	if err := errors.Join(err, srv.stop()); err != nil {
		return nil, err
	}
	if total != completed {
		return nil, fmt.Errorf("X-Total-Count %d, the store counts %d completed jobs", total, completed)
	}

	jobs := fmt.Sprintf("%s jobs", thousands(n))
	get := fmt.Sprintf("GET %s, %s, 4 clients", scaleListing, jobs)
	alone := "the store calls alone, in-process"
	p99 := quantile(lat, 0.99)
	const mb = 1 << 20
	return []row{
		{name: get + ", p50", ours: ms(quantile(lat, 0.5)), base: ms(quantile(storeLat, 0.5)), unit: " ms", baseNote: alone, ratio: true},
		{name: get + ", p99", ours: ms(p99), base: ms(quantile(storeLat, 0.99)), unit: " ms", baseNote: alone, ratio: true,
			target: "< 20 ms", met: p99 < 20*time.Millisecond},
		{name: get + ", max", ours: ms(quantile(lat, 1)), base: ms(quantile(storeLat, 1)), unit: " ms", baseNote: alone, ratio: true},
		{name: "server start-up to /readyz 200, " + jobs, ours: ms(srv.ready), base: ms(base.ready), unit: " ms",
			baseNote: "same binary, empty store", ratio: true, target: "< 3 s", met: srv.ready < 3*time.Second},
		{name: "server RSS after start-up, " + jobs, ours: float64(readyRSS) / mb, base: float64(baseReadyRSS) / mb, unit: " MB",
			baseNote: "empty store", ratio: true, target: "< 300 MB", met: readyRSS < 300*mb},
		{name: fmt.Sprintf("server RSS after %d listings, %s", requests, jobs), ours: float64(loadedRSS) / mb, base: float64(baseLoadedRSS) / mb, unit: " MB",
			baseNote: "empty store, same load", ratio: true, target: "< 300 MB", met: loadedRSS < 300*mb},
		{name: "database bytes per job (file size / jobs), " + jobs, ours: float64(fi.Size()) / float64(n), unit: " bytes"},
	}, nil
}

// thousands writes n with thousands separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// listLoad sends requests GET scaleListing requests from 4 clients and
// returns their latencies, sorted, and the X-Total-Count answered. Every
// reply must be a 200; every 100th is decoded and checked.
func listLoad(url string, requests int) ([]time.Duration, int, error) {
	const clients = 4
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]time.Duration, requests)
	var (
		mu       sync.Mutex
		total    = -1
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < requests; i += clients {
				t0 := time.Now()
				resp, err := client.Get(url + scaleListing)
				if err != nil {
					fail(err)
					return
				}
				var body []byte
				if i%100 == 0 {
					body, err = io.ReadAll(resp.Body)
				} else {
					_, err = io.Copy(io.Discard, resp.Body)
				}
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("GET %s: %s", scaleListing, resp.Status)
				}
				if err == nil && body != nil {
					err = checkListing(body)
				}
				if err != nil {
					fail(err)
					return
				}
				n, err := strconv.Atoi(resp.Header.Get("X-Total-Count"))
				if err != nil {
					fail(fmt.Errorf("X-Total-Count: %w", err))
					return
				}
				mu.Lock()
				total = n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, total, firstErr
}

// checkListing checks a reply holds a full page of completed jobs.
func checkListing(body []byte) error {
	var jobs []struct {
		ID     string        `json:"id"`
		Status engine.Status `json:"status"`
	}
	if err := json.Unmarshal(body, &jobs); err != nil {
		return fmt.Errorf("GET %s: %w", scaleListing, err)
	}
	for _, j := range jobs {
		if j.Status != engine.StatusCompleted {
			return fmt.Errorf("GET %s: job %s is %s", scaleListing, j.ID, j.Status)
		}
	}
	if len(jobs) != 50 && len(jobs) != 0 {
		return fmt.Errorf("GET %s: %d jobs, want a page of 50", scaleListing, len(jobs))
	}
	return nil
}

// storeLoad runs the listing's store calls (the count for X-Total-Count,
// the page) from 4 goroutines on the database at path, opened in this
// process, and returns their latencies, sorted, and the count.
func storeLoad(ctx context.Context, path string, requests int) ([]time.Duration, int, error) {
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	defer st.Close()
	p := engine.JobListParams{Statuses: []engine.Status{engine.StatusCompleted}, Limit: 50}
	lat := make([]time.Duration, requests)
	errs := make([]error, 4)
	counts := make([]int, 4)
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < requests; i += 4 {
				t0 := time.Now()
				n, err := st.JobCount(ctx, p)
				if err == nil {
					_, err = st.JobList(ctx, p)
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errs[c] = err
					return
				}
				counts[c] = n
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, counts[0], errors.Join(errs...)
}
