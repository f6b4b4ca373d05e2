package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

// benchJobs is how many jobs the page benchmarks' store holds.
const benchJobs = 1_000_000

// benchStore returns a data dir whose simjobs.db holds benchJobs jobs of
// storetest's seed: a realistic mix, mostly ended, the newest thousand
// still queued, running, scheduled or pending, a hundred users, five
// projects. Seeding takes a while, so storetest.SeedCached keeps the
// database in os.TempDir (named by schema version) and it is copied for
// each run (the server writes to it).
func benchStore(b *testing.B) string {
	b.Helper()
	cache, took, err := storetest.SeedCached(b.Context(), benchJobs, store.SchemaVersion(), func(ctx context.Context, path string) (storetest.Seeder, error) {
		s, err := store.Open(ctx, path, store.WithSynchronous(store.SynchronousNormal))
		if err != nil {
			return nil, err
		}
		return s, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if took > 0 {
		b.Logf("seeded %d jobs into %s in %v", benchJobs, cache, took.Round(time.Millisecond))
	}
	dir := b.TempDir()
	if err := storetest.CopyFile(cache, filepath.Join(dir, "simjobs.db")); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkPagesMillionJobs is the server time of the overview and of the
// job table's pages with a million jobs in the store: one HTTP request over
// loopback, render included.
func BenchmarkPagesMillionJobs(b *testing.B) {
	dir := benchStore(b)
	h := start(b, opts{dir: dir, limits: engine.Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 1, MinMemoryGB: 0, MinDiskGB: 0}})
	if n, _ := h.m.CountJobs(b.Context(), engine.JobListParams{}); n < benchJobs {
		b.Fatalf("the store holds %d jobs", n)
	}
	for _, bb := range []struct{ name, path string }{
		{"overview", "/"},
		{"jobs_newest", "/ui/jobs"},
		{"jobs_page_middle", fmt.Sprintf("/ui/jobs?before=%d", benchJobs/2)},
		{"jobs_oldest", "/ui/jobs?order=oldest"},
		{"jobs_status_failed", "/ui/jobs?status=failed"},
		{"jobs_status_active", "/ui/jobs?status=active"},
		{"jobs_user", "/ui/jobs?user=user042"},
		{"jobs_search_id", "/ui/jobs?q=JOB_09999"},
		{"jobs_search_project", "/ui/jobs?q=antenna"},
		{"job_page", "/ui/jobs/JOB_0500000"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var worst time.Duration
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(h.url + bb.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", bb.path, resp.StatusCode)
				}
				worst = max(worst, time.Since(t0))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
		})
	}
}

// BenchmarkLiveFanout is one event reaching 1,000 open overview pages: the
// time from the change (a limits update) until each page's feed received
// its fragment. It reports the 50th and 99th percentile over every page
// and event.
func BenchmarkLiveFanout(b *testing.B) {
	const pages = 1000
	h := start(b, opts{})
	seq := h.m.Events().Seq()
	got := make(chan time.Time, pages)
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, 0, pages)
	dialer := &websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	for range pages {
		c, _, err := dialer.Dial(fmt.Sprintf("ws://%s/ui/live?page=overview&since=%d&boot=", h.addr, seq), nil)
		if err != nil {
			b.Fatalf("dial page %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		c.ReadMessage() // the page's state as of now
	}
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				got <- time.Now()
			}
		}()
	}
	var lat []time.Duration
	n := 1
	for b.Loop() {
		n = 3 - n // 1, 2, 1, ...
		t0 := time.Now()
		if _, _, err := h.m.SetLimits(engine.LimitsPatch{MaxConcurrentJobs: &n}); err != nil {
			b.Fatal(err)
		}
		for range pages {
			select {
			case at := <-got:
				lat = append(lat, at.Sub(t0))
			case <-time.After(30 * time.Second):
				b.Fatal("a page got no message")
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}
