package store

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store/storetest"
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

// openBenchStore opens a store holding benchJobs jobs of storetest's seed.
// Seeding takes a minute or two, so the file is cached in os.TempDir by
// storetest.SeedCached (named by schema version) and reused by later runs;
// the benchmarks only read it.
func openBenchStore(b *testing.B) *SQLite {
	b.Helper()
	path, took, err := storetest.SeedCached(b.Context(), benchJobs, SchemaVersion(), openSeed)
	if err != nil {
		b.Fatal(err)
	}
	if took > 0 {
		b.Logf("seeded %d jobs into %s in %v", benchJobs, path, took.Round(time.Millisecond))
	}
	s, err := Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// openSeed opens a store to seed: one commit, so durability to the disk
// is not worth waiting for.
func openSeed(ctx context.Context, path string) (storetest.Seeder, error) {
	s, err := Open(ctx, path, WithSynchronous(SynchronousNormal))
	if err != nil {
		return nil, err
	}
	return s, nil
}

func benchID(i int) string { return storetest.SeedID(i) }

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
