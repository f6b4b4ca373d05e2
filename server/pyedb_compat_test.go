package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// What the PyEDB service answered and accepted: the flat telemetry fields
// of resource_monitoring beside current, and SPEC 1's plain command body
// without a "config" wrapper.
func TestPyEDBShapes(t *testing.T) {
	t.Parallel()
	e := setup(t, envOpts{})
	a := e.do(t, "GET", "/system/status", nil)
	mustStatus(t, a, 200)
	var st struct {
		RM map[string]any `json:"resource_monitoring"`
	}
	a.json(t, &st)
	for _, k := range []string{"current", "cpu_percent", "memory_percent", "memory_used_gb", "memory_total_gb", "memory_free_gb", "disk_usage_percent", "disk_free_gb", "timestamp"} {
		if _, ok := st.RM[k]; !ok {
			t.Errorf("resource_monitoring lacks %s: %s", k, a.body)
		}
	}
	if cur, _ := st.RM["current"].(map[string]any); cur == nil || cur["cpu_percent"] != st.RM["cpu_percent"] {
		t.Errorf("the flat fields are not the current sample's: %s", a.body)
	}

	a = e.do(t, "POST", "/jobs/submit", map[string]any{"command": []string{fakesolver.Path()}, "jobid": "top_1", "priority": 4})
	mustStatus(t, a, 200)
	j, err := e.m.Job(context.Background(), "top_1")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	json.Unmarshal(j.Config, &cfg)
	if j.Priority != 4 || cfg["command"] == nil || cfg["priority"] != nil {
		t.Errorf("top-level command job: priority %d, config %s", j.Priority, j.Config)
	}
	// A body that is neither is still refused, naming config.
	a = e.do(t, "POST", "/jobs/submit", map[string]any{"jobid": "x"})
	if a.status != 400 || !strings.Contains(string(a.body), "config") {
		t.Errorf("a body without config or command: %d %s", a.status, a.body)
	}
}
