package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/testdata/pyedb"
)

// BenchmarkSubmit measures accepting a PyEDB HFSS submission end to end in
// the engine (decode, validate, commit, queue, event), without HTTP. Jobs
// stay queued: the CPU gate is closed.
func BenchmarkSubmit(b *testing.B) {
	dir := b.TempDir()
	project := filepath.Join(dir, "board.aedt")
	os.WriteFile(project, []byte("x"), 0o644)
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	policy, _ := engine.NewPolicy("/bin/true", nil, nil, "none")
	tel := host.NewFakeSource(host.Sample{CPUPercent: 100, MemoryFreeGB: 64, DiskFreeGB: 64})
	m, err := engine.New(context.Background(), engine.Options{Store: st, Runner: local.New(local.Options{}), Telemetry: tel,
		Policy: policy, DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
	cfg := func(id string) json.RawMessage {
		c := pyedb.Config(id, project)
		c["design_name"], c["setup_name"] = "board", "Setup1"
		js, _ := json.Marshal(c)
		return js
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("b%d", n.Add(1))
			if _, err := m.Submit(context.Background(), engine.SubmitRequest{Config: cfg(id)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
}
