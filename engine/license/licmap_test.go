package license

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/hfss"
)

func hfssJob(t *testing.T, cluster bool, edit func(*hfss.Config)) engine.GateJob {
	t.Helper()
	cfg := hfss.Default()
	edit(&cfg)
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return engine.GateJob{ID: "j", Kind: engine.KindHFSS, Cluster: cluster, Config: b}
}

func commandJob(argv ...string) engine.GateJob {
	b, _ := json.Marshal(engine.CommandConfig{Command: argv})
	return engine.GateJob{ID: "c", Kind: engine.KindCommand, Config: b}
}

func TestNeedsDefaults(t *testing.T) {
	t.Parallel()
	m := DefaultMap()
	hfssBase := []Need{{"elec_solve_hfss", 1, ""}, {"electronics_desktop", 1, ""}}
	for _, tc := range []struct {
		name string
		job  engine.GateJob
		want []Need
	}{
		{"layout on the default node (max_cores 20)", hfssJob(t, false, func(*hfss.Config) {}),
			append([]Need{{"anshpc", 16, ""}}, hfssBase...)},
		{"hfss on 4 cores: all included", hfssJob(t, false, func(c *hfss.Config) {
			c.Solver = "HFSS"
			c.MachineNodes = []hfss.MachineNode{{Hostname: "localhost", Cores: 4, MaxCores: 4, Utilization: 90}}
		}), hfssBase},
		{"two nodes add up", hfssJob(t, false, func(c *hfss.Config) {
			c.MachineNodes = []hfss.MachineNode{{Hostname: "a", Cores: -1, MaxCores: 8, Utilization: 90}, {Hostname: "b", Cores: 6, MaxCores: 6, Utilization: 90}}
		}), append([]Need{{"anshpc", 10, ""}}, hfssBase...)},
		{"cluster: nodes x cores_per_node", hfssJob(t, true, func(c *hfss.Config) {
			c.SchedulerOptions.Nodes, c.SchedulerOptions.CoresPerNode = 2, 16
		}), append([]Need{{"anshpc", 28, ""}}, hfssBase...)},
		{"cluster: tasks_per_node stands in", hfssJob(t, true, func(c *hfss.Config) {
			c.SchedulerOptions.Nodes, c.SchedulerOptions.TasksPerNode = 1, 4
		}), hfssBase},
		{"siwave solver", hfssJob(t, false, func(c *hfss.Config) { c.Solver = "SIwave" }), []Need{{"anshpc", 16, ""}, {"elec_solve_siwave", 1, ""}}},
		{"unknown solver needs nothing", hfssJob(t, false, func(c *hfss.Config) { c.Solver = "Maxwell3D" }), nil},
		{"siwave command", commandJob(`C:\Program Files\AnsysEM\v252\Win64\siwave_ng.exe`, "board.siw"), []Need{{"elec_solve_siwave", 1, ""}}},
		{"other command", commandJob("/bin/true"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, m.Needs(tc.job), cmpopts.IgnoreFields(Need{}, "Field")); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseMapOverrides(t *testing.T) {
	t.Parallel()
	m, err := ParseMap([]byte(`{
		"solvers": {"Hfss3DLayout": {"features": {"hfss_desktop": 1}, "hpc": {"feature": "anshpc", "included_cores": 8, "cores_per_seat": 2}},
		            "SIwave": {}},
		"commands": {"my_solver": {"features": {"mylic": 2}}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Needs(hfssJob(t, false, func(c *hfss.Config) {}))
	if d := cmp.Diff([]Need{{"anshpc", 6, "machine_nodes"}, {"hfss_desktop", 1, "solver"}}, got); d != "" {
		t.Errorf("overridden layout rule (-want +got):\n%s", d)
	}
	if got := m.Needs(hfssJob(t, false, func(c *hfss.Config) { c.Solver = "SIwave" })); len(got) != 0 {
		t.Errorf("empty rule = %v, want nothing", got)
	}
	if got := m.Needs(hfssJob(t, false, func(c *hfss.Config) { c.Solver = "Hfss" })); len(got) != 3 {
		t.Errorf("a key the file leaves out keeps its default, got %v", got)
	}
	if d := cmp.Diff([]Need{{"mylic", 2, "command[0]"}}, m.Needs(commandJob("/opt/my_solver"))); d != "" {
		t.Errorf("command rule (-want +got):\n%s", d)
	}
	only, err := ParseMap([]byte(`{"replace_defaults": true, "commands": {"x": {"features": {"f": 1}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := only.Needs(hfssJob(t, false, func(*hfss.Config) {})); got != nil {
		t.Errorf("replace_defaults kept the defaults: %v", got)
	}
}

func TestParseMapErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{``, "empty"},
		{`{"solvers": {"Hfss": {"features": {"anshpc": -1}}}}`, "solvers.Hfss.features.anshpc"},
		{`{"solvers": {"Hfss": {"features": {"anshpc": "two"}}}}`, "solvers.Hfss.features.anshpc"},
		{`{"solvers": {"Hfss": {"hpc": {"feature": "anshpc", "included_cores": -4}}}}`, "solvers.Hfss.hpc.included_cores"},
		{`{"solvers": {"Hfss": {"hpc": {"feature": "bad name!"}}}}`, "solvers.Hfss.hpc.feature"},
		{`{"commands": {"siwave": null}}`, "commands.siwave"},
		{`{"solver": {}}`, `unknown field "solver"`},
		{`{"solvers": {"Hfss": {"feature": {}}}}`, `unknown field "feature"`},
		{"{\n  \"solvers\": {,}\n}", "line 2"},
		{`[]`, "the top level"},
		{`{} {}`, "after the JSON object"},
	} {
		_, err := ParseMap([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "license map: ") {
			t.Errorf("ParseMap(%s) = %v, want an error naming %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseMap(f *testing.F) {
	f.Add([]byte(`{"solvers": {"Hfss": {"features": {"a": 1}, "hpc": {"feature": "anshpc", "included_cores": 4}}}}`))
	f.Add([]byte(`{"replace_defaults": true, "commands": {"x": {}}}`))
	f.Add([]byte(`{"solvers": {"": {}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMap(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "license map: ") {
				t.Fatalf("error without its prefix: %v", err)
			}
			return
		}
		for _, rules := range []map[string]Rule{m.Solvers, m.Commands} {
			for k, r := range rules {
				for f, n := range r.Features {
					if n < 1 || !featureName.MatchString(f) {
						t.Fatalf("%s accepted with %s=%d", k, f, n)
					}
				}
				if r.HPC != nil && (r.HPC.CoresPerSeat < 1 || r.HPC.IncludedCores < 0) {
					t.Fatalf("%s accepted with hpc %+v", k, r.HPC)
				}
			}
		}
	})
}
