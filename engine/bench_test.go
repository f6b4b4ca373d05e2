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
	tel := &telemetry{}
	tel.set(host.Sample{CPUPercent: 100, MemoryFreeGB: 64, DiskFreeGB: 64})
	m, err := engine.New(context.Background(), engine.Options{Store: st, Runner: local.New(local.Options{}), Telemetry: tel,
		Policy: policy, DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
	cfg := func(id string) json.RawMessage {
		js, _ := json.Marshal(map[string]any{
			"ansys_edt_path": "/opt/AnsysEM/v252/Linux64/ansysedt", "jobid": id, "distributed": true,
			"machine_nodes":  []any{map[string]any{"hostname": "localhost", "cores": -1, "max_cores": 20, "utilization": 90}},
			"auto":           true, "non_graphical": true, "monitor": true,
			"layout_options": map[string]any{"create_starting_mesh": false, "default_process_priority": "Normal", "enable_gpu": false, "mpi_vendor": "Intel", "mpi_version": "Default", "remote_spawn_command": "Scheduler", "solve_adaptive_only": false, "validate_only": false, "temp_directory": "/tmp"},
			"project_path":   project, "design_name": "board", "design_mode": "", "setup_name": "Setup1", "scheduler_type": "none",
			"scheduler_options": map[string]any{"queue": "default", "time": "24:00:00", "nodes": 1, "tasks_per_node": 1, "cores_per_node": 0, "memory": "4GB", "account": nil, "reservation": nil, "qos": nil, "constraints": nil, "exclusive": false, "gpus": 0, "gpu_type": nil, "priority": "Normal", "email_notification": nil, "run_as_administrator": false},
			"platform": "Linux", "timestamp": "2025-10-12T11:55:28.123456", "version": "1.0.0",
		})
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
