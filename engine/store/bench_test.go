package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// benchClients is how many API clients submit at once.
const benchClients = 32

// BenchmarkJobInsertParallel measures submissions per second from 32
// concurrent clients, each JobInsert durable before it returns, under both
// synchronous settings (see SynchronousFull).
func BenchmarkJobInsertParallel(b *testing.B) {
	for _, mode := range []string{SynchronousFull, SynchronousNormal} {
		b.Run("sync="+mode, func(b *testing.B) {
			s, err := Open(b.Context(), filepath.Join(b.TempDir(), "jobs.db"), WithSynchronous(mode))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n, batches atomic.Int64
			s.testHookBatch = func(int) { batches.Add(1) }
			config := benchConfig("bench")
			b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprint("JOB_", n.Add(1))
					_, err := s.JobInsert(context.Background(), engine.JobInsertParams{
						ID: id, User: "alice", Status: engine.StatusQueued, Kind: engine.KindHFSS,
						Config: config, SubmitTime: time.Now(), Message: "submitted",
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "inserts/s")
			b.ReportMetric(float64(b.N)/float64(batches.Load()), "writes/batch")
		})
	}
}

// BenchmarkJobInsertSerial is one client submitting alone: every insert is
// its own batch, so this is the latency of one durable commit.
func BenchmarkJobInsertSerial(b *testing.B) {
	for _, mode := range []string{SynchronousFull, SynchronousNormal} {
		b.Run("sync="+mode, func(b *testing.B) {
			s, err := Open(b.Context(), filepath.Join(b.TempDir(), "jobs.db"), WithSynchronous(mode))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			config := benchConfig("bench")
			for i := 0; b.Loop(); i++ {
				if _, err := s.JobInsert(context.Background(), engine.JobInsertParams{
					ID: fmt.Sprint("JOB_", i), User: "alice", Status: engine.StatusQueued,
					Kind: engine.KindHFSS, Config: config, SubmitTime: time.Now(),
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const benchJobs = 1_000_000

// BenchmarkJobListPage lists one dashboard page (50 rows) of a store holding
// a million jobs, in each shape the dashboard asks for.
func BenchmarkJobListPage(b *testing.B) {
	s := openBenchStore(b)
	mid := int64(benchJobs / 2)
	q, r := engine.StatusQueued, engine.StatusRunning
	for _, bb := range []struct {
		name string
		p    engine.JobListParams
	}{
		{"first", engine.JobListParams{Limit: 50}},
		{"newest", engine.JobListParams{Limit: 50, Descending: true}},
		{"keyset_middle", engine.JobListParams{Limit: 50, AfterSeq: mid}},
		{"offset_10000", engine.JobListParams{Limit: 50, Offset: 10_000}},
		{"status_queued", engine.JobListParams{Limit: 50, Statuses: []engine.Status{q}}},
		{"status_completed_newest", engine.JobListParams{Limit: 50, Statuses: []engine.Status{engine.StatusCompleted}, Descending: true}},
		{"active_statuses", engine.JobListParams{Limit: 50, Statuses: []engine.Status{engine.StatusPending, q, engine.StatusScheduled, r}}},
		{"user", engine.JobListParams{Limit: 50, User: "user042", Descending: true}},
		{"user_running", engine.JobListParams{Limit: 50, User: "user042", Statuses: []engine.Status{r}}},
		{"search_common", engine.JobListParams{Limit: 50, Search: "antenna"}},
		{"search_rare", engine.JobListParams{Limit: 50, Search: "JOB_0999999"}},
		{"search_short", engine.JobListParams{Limit: 50, Search: "99"}},
		{"search_status", engine.JobListParams{Limit: 50, Search: "JOB_099", Statuses: []engine.Status{q}}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				jobs, err := s.JobList(b.Context(), bb.p)
				if err != nil {
					b.Fatal(err)
				}
				if len(jobs) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
	for _, bb := range []struct {
		name string
		p    engine.JobListParams
	}{
		{"count_all", engine.JobListParams{}},
		{"count_status", engine.JobListParams{Statuses: []engine.Status{q, r}}},
		{"count_user", engine.JobListParams{User: "user042"}},
		{"count_search_rare", engine.JobListParams{Search: "JOB_0999999"}},
		{"count_search_common", engine.JobListParams{Search: "antenna"}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.JobCount(b.Context(), bb.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJobCountByStatus is the dashboard's status summary at a million
// jobs.
func BenchmarkJobCountByStatus(b *testing.B) {
	s := openBenchStore(b)
	for b.Loop() {
		counts, err := s.JobCountByStatus(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if counts[engine.StatusCompleted] == 0 {
			b.Fatal("no completed jobs")
		}
	}
}

func BenchmarkJobGet(b *testing.B) {
	s := openBenchStore(b)
	for i := 0; b.Loop(); i++ {
		if _, err := s.JobGet(b.Context(), benchID(i*7919%benchJobs)); err != nil {
			b.Fatal(err)
		}
	}
}

// openBenchStore opens a store holding benchJobs jobs. Seeding takes a
// few minutes, so the file is kept in os.TempDir, named by schema version
// and a digest of the schema (so an edited migration is not served a stale
// file), and reused by later runs; the benchmarks only read it.
func openBenchStore(b *testing.B) *SQLite {
	b.Helper()
	digest := sha256.Sum256([]byte(strings.Join(migrations, "\x00")))
	path := filepath.Join(os.TempDir(), fmt.Sprintf("simjobs-store-bench-v%d-%x-%d.db", schemaVersion, digest[:4], benchJobs))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		if err := seedBench(b.Context(), tmp, benchJobs); err != nil {
			os.Remove(tmp)
			b.Fatal(err)
		}
		// Seeded and closed (so checkpointed) before it gets its name: a
		// run killed while seeding leaves no half-filled cache behind.
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d jobs into %s in %v", benchJobs, path, time.Since(start).Round(time.Millisecond))
	}
	s, err := Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchID(i int) string { return fmt.Sprintf("JOB_%07d", i) }

var benchProjects = []string{"antenna", "connector", "package", "pcb_stackup", "filter"}

func benchConfig(project string) json.RawMessage {
	return json.RawMessage(`{"ansys_edt_path":"/opt/AnsysEM/v252/Linux64/ansysedt","solver":"Hfss3DLayout",` +
		`"user":"","distributed":true,"machine_nodes":[{"hostname":"localhost","cores":-1,"max_cores":20,"utilization":90}],` +
		`"auto":false,"non_graphical":true,"monitor":true,"layout_options":{"create_starting_mesh":false,` +
		`"default_process_priority":"Normal","enable_gpu":false,"mpi_vendor":"Intel","mpi_version":"Default",` +
		`"remote_spawn_command":"Scheduler","solve_adaptive_only":false,"validate_only":false,"temp_directory":""},` +
		`"project_path":"/data/projects/` + project + `.aedb","design_name":"","design_mode":"","setup_name":"",` +
		`"scheduler_type":"none","scheduler_options":{"queue":"default","time":"24:00:00","nodes":1,` +
		`"tasks_per_node":1,"cores_per_node":0,"memory":"4GB","gpus":0,"priority":"Normal"}}`)
}

// seedBench writes n jobs in one transaction straight through the writer's
// connection (the writer goroutine is idle): about a realistic mix, mostly
// finished, a thousand or so still active, a hundred users.
func seedBench(ctx context.Context, path string, n int) error {
	s, err := Open(ctx, path, WithSynchronous(SynchronousNormal))
	if err != nil {
		return err
	}
	defer s.Close()
	c := s.wconn
	// A large page cache keeps the one big transaction from spilling.
	if _, err := c.ExecContext(ctx, "PRAGMA cache_size = -1048576"); err != nil {
		return err
	}
	ins, err := c.PrepareContext(ctx, `INSERT INTO jobs (first_seq, id, seq, attempt, user, priority, status, kind,
		config, project_path, submit_time, start_time, end_time, return_code, error)
		VALUES (?, ?, ?, 1, ?, ?, ?, 'hfss', ?, ?, ?, ?, ?, ?, '')`)
	if err != nil {
		return err
	}
	defer ins.Close()
	tr, err := c.PrepareContext(ctx, `INSERT INTO transitions (job_id, attempt, status, time, message) VALUES (?, 1, ?, ?, '')`)
	if err != nil {
		return err
	}
	defer tr.Close()
	configs := map[string]string{}
	for _, p := range benchProjects {
		configs[p] = string(benchConfig(p))
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range n {
		seq := int64(i + 1)
		var status engine.Status
		switch k := i % 1000; {
		case i >= n-1000: // the newest are still in the system
			status = []engine.Status{engine.StatusQueued, engine.StatusQueued, engine.StatusRunning, engine.StatusScheduled, engine.StatusPending}[i%5]
		case k < 100:
			status = engine.StatusFailed
		case k < 150:
			status = engine.StatusCancelled
		default:
			status = engine.StatusCompleted
		}
		submit := t0 + int64(i)*int64(time.Second)
		var start, end, rc any
		if status.Terminal() || status == engine.StatusRunning {
			start = submit + int64(time.Second)
		}
		if status.Terminal() {
			end, rc = submit+int64(time.Hour), 0
			if status == engine.StatusFailed {
				rc = 1
			}
		}
		project := benchProjects[i%len(benchProjects)]
		if _, err := ins.ExecContext(ctx, seq, benchID(i), seq, fmt.Sprintf("user%03d", i%100), i%4-1,
			string(status), configs[project], "/data/projects/"+project+".aedb", submit, start, end, rc); err != nil {
			return err
		}
		if _, err := tr.ExecContext(ctx, benchID(i), string(status), submit); err != nil {
			return err
		}
	}
	// Build the search index in one pass rather than a row at a time.
	if _, err := c.ExecContext(ctx, `INSERT INTO jobs_search (jobs_search) VALUES ('rebuild')`); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'next_seq'`, n+1); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	s.nextSeq = int64(n + 1)
	return errors.Join(ins.Close(), tr.Close(), s.Close())
}
