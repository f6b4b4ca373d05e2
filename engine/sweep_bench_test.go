package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/testdata/pyedb"
)

// BenchmarkSweep10000 measures accepting a 10,000-job HFSS sweep (100 x 100
// product) in one call: expansion, validation of every job, one store
// transaction, queueing. Its baseline, in the same run, is the same 10,000
// jobs submitted one by one from 16 concurrent clients (group commit). Jobs
// stay queued: the CPU gate is closed.
func BenchmarkSweep10000(b *testing.B) {
	setupBench := func(b *testing.B) (*engine.Manager, string) {
		dir := b.TempDir()
		project := filepath.Join(dir, "board.aedt")
		os.WriteFile(project, []byte("x"), 0o644)
		st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		policy, _ := engine.NewPolicy("/bin/true", nil, nil, "none")
		tel := host.NewFakeSource(host.Sample{CPUPercent: 100, MemoryFreeGB: 64, DiskFreeGB: 64})
		m, err := engine.New(context.Background(), engine.Options{Store: st, Runner: local.New(local.Options{}), Telemetry: tel,
			Policy: policy, DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.Close(context.Background()) })
		return m, project
	}
	values := make([]string, 100)
	for i := range values {
		values[i] = fmt.Sprintf("0.%02d", i)
	}
	ps := expand.Params{{Name: "W", Values: values}, {Name: "L", Values: values}}
	const jobs = 10000

	b.Run("sweep", func(b *testing.B) {
		m, project := setupBench(b)
		c := pyedb.Config("", project)
		delete(c, "jobid")
		c["design_name"], c["setup_name"] = "board_${W}_${L}", "Setup1"
		tpl, _ := json.Marshal(map[string]any{"config": c})
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := m.SubmitSweep(context.Background(), engine.SweepRequest{Template: tpl, Parameters: ps, MaxParallel: 10}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*jobs)/b.Elapsed().Seconds(), "jobs/s")
	})
	b.Run("one-by-one", func(b *testing.B) {
		m, project := setupBench(b)
		round := 0
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			round++
			var wg sync.WaitGroup
			next := make(chan int)
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						c := pyedb.Config(fmt.Sprintf("r%d_%d", round, i), project)
						c["design_name"], c["setup_name"] = fmt.Sprintf("board_%s_%s", values[i/100], values[i%100]), "Setup1"
						js, _ := json.Marshal(c)
						if _, err := m.Submit(context.Background(), engine.SubmitRequest{Config: js}); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			for i := range jobs {
				next <- i
			}
			close(next)
			wg.Wait()
		}
		b.ReportMetric(float64(b.N*jobs)/b.Elapsed().Seconds(), "jobs/s")
	})
}
