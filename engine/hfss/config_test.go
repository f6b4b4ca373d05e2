package hfss

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// pyedbToDict is what PyEDB's HFSSSimulationConfig.to_dict sends for the run
// of siwave.log: every field, nulls for unset optional strings, and the
// platform/timestamp/version extras.
const pyedbToDict = `{
  "solver": "Hfss3DLayout",
  "ansys_edt_path": "E:\\Program Files\\ANSYS Inc\\v261\\AnsysEM\\ansysedt.exe",
  "jobid": "JOB_20251110_174607_01f4bf99",
  "distributed": true,
  "machine_nodes": [{"hostname": "localhost", "cores": 6, "max_cores": 6, "utilization": 90}],
  "auto": true,
  "non_graphical": true,
  "monitor": true,
  "layout_options": {"create_starting_mesh": false, "default_process_priority": "Normal",
    "enable_gpu": false, "mpi_vendor": "Intel", "mpi_version": "Default",
    "remote_spawn_command": "Scheduler", "solve_adaptive_only": false,
    "validate_only": false, "temp_directory": "e:\\temp\\2"},
  "project_path": "C:\\Users\\svandenb\\gnn-training\\siwave_solved\\pass#1\\pdn_design_001.aedb",
  "design_name": "", "design_mode": "", "setup_name": "",
  "scheduler_type": "none",
  "scheduler_options": {"queue": "default", "time": "24:00:00", "nodes": 1,
    "tasks_per_node": 1, "cores_per_node": 0, "memory": "4GB", "account": null,
    "reservation": null, "qos": null, "constraints": null, "exclusive": false,
    "gpus": 0, "gpu_type": null, "priority": "Normal", "email_notification": null,
    "run_as_administrator": false},
  "platform": "Windows", "timestamp": "2025-11-10T17:46:07.412345", "version": "1.0.0"
}`

func TestDefaultMatchesSpec(t *testing.T) {
	want := Config{
		Solver:       "Hfss3DLayout",
		Auto:         true,
		Distributed:  true,
		MachineNodes: []MachineNode{{Hostname: "localhost", Cores: -1, MaxCores: 20, Utilization: 90}},
		NonGraphical: true,
		Monitor:      true,
		LayoutOptions: LayoutOptions{
			DefaultProcessPriority: "Normal",
			MPIVendor:              "Intel",
			MPIVersion:             "Default",
			RemoteSpawnCommand:     "Scheduler",
		},
		SchedulerType: "none",
		SchedulerOptions: SchedulerOptions{
			Queue: "default", Time: "24:00:00", Nodes: 1, TasksPerNode: 1,
			Memory: "4GB", Priority: "Normal",
		},
	}
	if diff := cmp.Diff(want, Default()); diff != "" {
		t.Errorf("Default() mismatch (-want +got):\n%s", diff)
	}
	// Default must hand out fresh slices.
	a, b := Default(), Default()
	a.MachineNodes[0].Hostname = "changed"
	if b.MachineNodes[0].Hostname != "localhost" {
		t.Error("Default() shares its machine_nodes slice between calls")
	}
}

func TestDefaultJSONNames(t *testing.T) {
	js, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range got {
		names = append(names, k)
	}
	want := []string{
		"ansys_edt_path", "auto", "design_mode", "design_name", "distributed", "jobid",
		"layout_options", "machine_nodes", "monitor", "non_graphical", "project_path",
		"scheduler_options", "scheduler_type", "setup_name", "solver", "user",
	}
	if diff := cmp.Diff(want, names, sortStrings); diff != "" {
		t.Errorf("top-level JSON names (-want +got):\n%s", diff)
	}
	for obj, wantKeys := range map[string][]string{
		"layout_options": {"create_starting_mesh", "default_process_priority", "enable_gpu", "mpi_vendor",
			"mpi_version", "remote_spawn_command", "solve_adaptive_only", "temp_directory", "validate_only"},
		"scheduler_options": {"account", "constraints", "cores_per_node", "email_notification", "exclusive",
			"gpu_type", "gpus", "memory", "nodes", "priority", "qos", "queue", "reservation",
			"run_as_administrator", "tasks_per_node", "time"},
	} {
		var keys []string
		for k := range got[obj].(map[string]any) {
			keys = append(keys, k)
		}
		if diff := cmp.Diff(wantKeys, keys, sortStrings); diff != "" {
			t.Errorf("%s JSON names (-want +got):\n%s", obj, diff)
		}
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		json string
		want func(*Config)
	}{
		{"empty object keeps every default", `{}`, func(*Config) {}},
		{"nested objects are read over their defaults",
			`{"layout_options": {"enable_gpu": true}, "scheduler_options": {"nodes": 4}}`,
			func(c *Config) {
				c.LayoutOptions.EnableGPU = true
				c.SchedulerOptions.Nodes = 4
			}},
		{"each machine node is read over the default node",
			`{"machine_nodes": [{"hostname": "n1"}, {"cores": 8, "utilization": 50}]}`,
			func(c *Config) {
				c.MachineNodes = []MachineNode{
					{Hostname: "n1", Cores: -1, MaxCores: 20, Utilization: 90},
					{Hostname: "localhost", Cores: 8, MaxCores: 20, Utilization: 50},
				}
			}},
		{"an empty node list stays empty",
			`{"machine_nodes": []}`,
			func(c *Config) { c.MachineNodes = []MachineNode{} }},
		{"null keeps the default everywhere",
			`{"solver": null, "user": null, "distributed": null, "machine_nodes": null,
			  "layout_options": null, "scheduler_options": {"queue": null, "account": null, "nodes": null}}`,
			func(*Config) {}},
		{"unknown fields are ignored at every level",
			`{"platform": "Linux", "timestamp": "2025-11-10T17:46:07", "version": "1.0.0",
			  "extra": {"deep": [1, 2]}, "layout_options": {"future_flag": true},
			  "machine_nodes": [{"hostname": "n1", "gpus": 2}], "scheduler_options": {"partition": "x"}}`,
			func(c *Config) { c.MachineNodes[0].Hostname = "n1" }},
		{"integral floats are integers",
			`{"scheduler_options": {"nodes": 2.0, "gpus": 1e0, "tasks_per_node": 3.000, "cores_per_node": -0}}`,
			func(c *Config) {
				c.SchedulerOptions.Nodes = 2
				c.SchedulerOptions.GPUs = 1
				c.SchedulerOptions.TasksPerNode = 3
			}},
		{"field names are case-sensitive like PyEDB's",
			`{"JobID": "x", "Project_Path": "y.aedt"}`,
			func(*Config) {}},
		{"the last of duplicate keys wins",
			`{"jobid": "a", "jobid": "b"}`,
			func(c *Config) { c.JobID = "b" }},
		{"false overrides a true default",
			`{"distributed": false, "non_graphical": false, "monitor": false, "auto": true}`,
			func(c *Config) {
				c.Distributed, c.NonGraphical, c.Monitor, c.Auto = false, false, false, true
			}},
		{"PyEDB to_dict payload", pyedbToDict, func(c *Config) {
			c.AnsysEDTPath = `E:\Program Files\ANSYS Inc\v261\AnsysEM\ansysedt.exe`
			c.JobID = "JOB_20251110_174607_01f4bf99"
			c.MachineNodes = []MachineNode{{Hostname: "localhost", Cores: 6, MaxCores: 6, Utilization: 90}}
			c.Auto = true
			c.LayoutOptions.TempDirectory = `e:\temp\2`
			c.ProjectPath = `C:\Users\svandenb\gnn-training\siwave_solved\pass#1\pdn_design_001.aedb`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := Default()
			tt.want(&want)
			got, err := Decode([]byte(tt.json))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		json      string
		wantField string
		wantIn    string // part of the message
	}{
		// the document
		{`{`, "config", "not valid JSON"},
		{`{"jobid": "a",}`, "config", "not valid JSON"},
		{`{} {}`, "config", "not valid JSON"},
		{``, "config", "not valid JSON"},
		{`[]`, "config", "must be a JSON object, got an array"},
		{`"x"`, "config", "must be a JSON object, got a string"},
		{`null`, "config", "must be a JSON object, got null"},
		// strings
		{`{"ansys_edt_path": 5}`, "ansys_edt_path", "must be a string, got the number 5"},
		{`{"project_path": ["a.aedt"]}`, "project_path", "must be a string, got an array"},
		{`{"jobid": true}`, "jobid", "must be a string, got true"},
		{`{"scheduler_type": 1}`, "scheduler_type", "must be a string"},
		{`{"layout_options": {"mpi_vendor": false}}`, "layout_options.mpi_vendor", "must be a string, got false"},
		{`{"scheduler_options": {"account": 1}}`, "scheduler_options.account", "must be a string"},
		{`{"machine_nodes": [{"hostname": {}}]}`, "machine_nodes[0].hostname", "must be a string, got an object"},
		// booleans
		{`{"distributed": "yes"}`, "distributed", `must be true or false, got the string "yes"`},
		{`{"monitor": 1}`, "monitor", "must be true or false, got the number 1"},
		{`{"layout_options": {"enable_gpu": 1}}`, "layout_options.enable_gpu", "must be true or false"},
		{`{"scheduler_options": {"exclusive": "false"}}`, "scheduler_options.exclusive", "must be true or false"},
		// integers
		{`{"scheduler_options": {"nodes": "4"}}`, "scheduler_options.nodes", `must be an integer, got the string "4"`},
		{`{"scheduler_options": {"nodes": 2.5}}`, "scheduler_options.nodes", "must be a whole number, got 2.5"},
		{`{"scheduler_options": {"gpus": true}}`, "scheduler_options.gpus", "must be an integer, got true"},
		{`{"scheduler_options": {"tasks_per_node": 1e10}}`, "scheduler_options.tasks_per_node", "between"},
		{`{"scheduler_options": {"cores_per_node": -99999999999999999999}}`, "scheduler_options.cores_per_node", "between"},
		{`{"scheduler_options": {"nodes": 1e999}}`, "scheduler_options.nodes", "between"},
		{`{"machine_nodes": [{}, {"utilization": "90"}]}`, "machine_nodes[1].utilization", "must be an integer"},
		{`{"machine_nodes": [{"cores": 0.5}]}`, "machine_nodes[0].cores", "whole number"},
		{`{"machine_nodes": [{"max_cores": null}, {"max_cores": []}]}`, "machine_nodes[1].max_cores", "must be an integer, got an array"},
		// objects and arrays
		{`{"layout_options": []}`, "layout_options", "must be an object, got an array"},
		{`{"scheduler_options": "slurm"}`, "scheduler_options", "must be an object"},
		{`{"machine_nodes": {"hostname": "a"}}`, "machine_nodes", "must be an array of objects, got an object"},
		{`{"machine_nodes": [1]}`, "machine_nodes[0]", "must be an object, got the number 1"},
		{`{"machine_nodes": [{}, null]}`, "machine_nodes[1]", "must be an object, got null"},
		// the first error in field order wins, whatever the document order
		{`{"scheduler_options": {"nodes": "x"}, "jobid": 5}`, "jobid", "must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.json))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode(%s) = %v, want a *FieldError", tt.json, err)
			}
			if diff := cmp.Diff(tt.wantField, fe.Field); diff != "" {
				t.Errorf("Field mismatch (-want +got):\n%s", diff)
			}
			if !strings.Contains(fe.Message, tt.wantIn) {
				t.Errorf("Message = %q, want it to contain %q", fe.Message, tt.wantIn)
			}
			if got, want := err.Error(), fe.Field+": "+fe.Message; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	c, err := Decode([]byte(pyedbToDict))
	if err != nil {
		t.Fatal(err)
	}
	c.SchedulerOptions.Account = "proj-7"
	c.DesignName = "board"
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(js)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Decode(json.Marshal(c)) mismatch (-want +got):\n%s", diff)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   func(*Config)
		want func(*Config)
	}{
		{"defaults are already normal", func(*Config) {}, func(*Config) {}},
		{"white space is trimmed",
			func(c *Config) {
				c.JobID = " J1\t"
				c.ProjectPath = "  /p/a.aedt\n"
				c.DesignName = " board "
				c.MachineNodes[0].Hostname = " node1 "
				c.SchedulerOptions.Queue = " compute "
				c.SchedulerOptions.Memory = " 8GB "
			},
			func(c *Config) {
				c.JobID = "J1"
				c.ProjectPath = "/p/a.aedt"
				c.DesignName = "board"
				c.MachineNodes[0].Hostname = "node1"
				c.SchedulerOptions.Queue = "compute"
				c.SchedulerOptions.Memory = "8GB"
			}},
		{"names get Ansys's spelling",
			func(c *Config) {
				c.SchedulerType = "SLURM"
				c.LayoutOptions.DefaultProcessPriority = "high"
				c.LayoutOptions.MPIVendor = "open mpi"
				c.SchedulerOptions.Priority = "abovenormal"
			},
			func(c *Config) {
				c.SchedulerType = "slurm"
				c.LayoutOptions.DefaultProcessPriority = "High"
				c.LayoutOptions.MPIVendor = "Open MPI"
				c.SchedulerOptions.Priority = "AboveNormal"
			}},
		{"OpenMPI is Open MPI",
			func(c *Config) { c.LayoutOptions.MPIVendor = "openmpi" },
			func(c *Config) { c.LayoutOptions.MPIVendor = "Open MPI" }},
		{"unknown names are left for Validate",
			func(c *Config) {
				c.SchedulerType = "Kubernetes"
				c.LayoutOptions.MPIVendor = "mpich"
			},
			func(c *Config) {
				c.SchedulerType = "kubernetes"
				c.LayoutOptions.MPIVendor = "mpich"
			}},
		{"empty strings with a meaningful default get it back",
			func(c *Config) {
				c.Solver, c.SchedulerType = "", " "
				c.LayoutOptions = LayoutOptions{}
				c.SchedulerOptions.Queue, c.SchedulerOptions.Time, c.SchedulerOptions.Priority = "", "", ""
			},
			func(c *Config) {}},
		{"empty strings without one stay empty",
			func(c *Config) {
				c.User = ""
				c.SchedulerOptions.Memory = ""
				c.MachineNodes[0].Hostname = ""
			},
			func(c *Config) {
				c.User = ""
				c.SchedulerOptions.Memory = ""
				c.MachineNodes[0].Hostname = ""
			}},
		{"trailing separators of a project folder are dropped",
			func(c *Config) { c.ProjectPath = `C:\sims\board.AEDB\` },
			func(c *Config) { c.ProjectPath = `C:\sims\board.AEDB` }},
		{"trailing slashes too",
			func(c *Config) { c.ProjectPath = "/sims/board.aedb//" },
			func(c *Config) { c.ProjectPath = "/sims/board.aedb" }},
		{"other trailing separators stay",
			func(c *Config) { c.ProjectPath = "/sims/" },
			func(c *Config) { c.ProjectPath = "/sims/" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, want := Default(), Default()
			tt.in(&got)
			tt.want(&want)
			got.Normalize()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Normalize mismatch (-want +got):\n%s", diff)
			}
			again := got
			again.Normalize()
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Normalize is not idempotent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeDoesNotTouchCallersSlice(t *testing.T) {
	orig := Default()
	orig.MachineNodes[0].Hostname = " n1 "
	c := orig
	c.Normalize()
	if orig.MachineNodes[0].Hostname != " n1 " {
		t.Errorf("Normalize changed the caller's machine node to %q", orig.MachineNodes[0].Hostname)
	}
}
