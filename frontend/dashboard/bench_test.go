package dashboard_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store"
)

// benchJobs is how many jobs the page benchmarks' store holds.
const benchJobs = 1_000_000

// benchSeedVersion names the cached seed: change it when the seed changes.
const benchSeedVersion = 1

// benchStore returns a data dir whose simjobs.db holds benchJobs jobs: a
// realistic mix, mostly ended, the newest thousand still queued, a hundred
// users, five projects. Seeding takes a while, so the database is cached in
// os.TempDir and copied for each run (the server may write to it). The
// rows go in with plain SQL in one transaction, as the store's own
// benchmark seeds; store.Open made the schema first (and migrates a cached
// file forward if the schema grew since).
func benchStore(b *testing.B) string {
	b.Helper()
	cache := filepath.Join(os.TempDir(), fmt.Sprintf("simjobs-dashboard-bench-v%d-%d.db", benchSeedVersion, benchJobs))
	if _, err := os.Stat(cache); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		tmp := fmt.Sprintf("%s.%d.tmp", cache, os.Getpid())
		if err := seed(b.Context(), tmp); err != nil {
			os.Remove(tmp)
			b.Fatal(err)
		}
		if err := os.Rename(tmp, cache); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d jobs into %s in %v", benchJobs, cache, time.Since(start).Round(time.Millisecond))
	}
	dir := b.TempDir()
	src, err := os.Open(cache)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "simjobs.db"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

func seed(ctx context.Context, path string) error {
	st, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-1048576)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	ins, err := conn.PrepareContext(ctx, `INSERT INTO jobs (first_seq, id, seq, attempt, user, priority, status, kind,
		config, project_path, submit_time, start_time, end_time, return_code, error)
		VALUES (?, ?, ?, 1, ?, ?, ?, 'hfss', ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	projects := []string{"antenna", "connector", "package", "pcb_stackup", "filter"}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range benchJobs {
		seq := int64(i + 1)
		var st engine.Status
		switch k := i % 1000; {
		case i >= benchJobs-1000:
			st = engine.StatusQueued
		case k < 100:
			st = engine.StatusFailed
		case k < 150:
			st = engine.StatusCancelled
		default:
			st = engine.StatusCompleted
		}
		submit := t0 + int64(i)*int64(time.Second)
		var start, end, rc any
		errText := ""
		if st.Terminal() {
			start, end, rc = submit+int64(time.Second), submit+int64(time.Hour), 0
			if st == engine.StatusFailed {
				rc, errText = 1, "exit status 1"
			}
		}
		p := "/data/projects/" + projects[i%len(projects)] + ".aedb"
		cfg := `{"project_path":"` + p + `","jobid":"` + fmt.Sprintf("JOB_%07d", i) + `","solver":"Hfss3DLayout"}`
		if _, err := ins.ExecContext(ctx, seq, fmt.Sprintf("JOB_%07d", i), seq, fmt.Sprintf("user%03d", i%100), i%4-1,
			string(st), cfg, p, submit, start, end, rc, errText); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`INSERT INTO jobs_search (jobs_search) VALUES ('rebuild')`,
		fmt.Sprintf(`UPDATE meta SET value = %d WHERE key = 'next_seq'`, benchJobs+1),
		"COMMIT",
		"PRAGMA wal_checkpoint(TRUNCATE)",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
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
