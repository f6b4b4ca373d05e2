package hfss

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	linuxSolver   = "/opt/AnsysEM/v252/Linux64/ansysedt"
	windowsSolver = `C:\Program Files\ANSYS Inc\v252\AnsysEM\ansysedt.exe`
)

// goldenCases are the configurations whose command lines are pinned in
// testdata/golden/<name>.golden.
var goldenCases = []struct {
	name   string
	solver string
	edit   func(*Config)
}{
	{"defaults", linuxSolver, func(*Config) {}},
	{"defaults_windows", windowsSolver, func(c *Config) {
		c.ProjectPath = `D:\Temp\test_jobs\test1.aedb`
	}},
	{"several_machine_nodes", linuxSolver, func(c *Config) {
		c.MachineNodes = []MachineNode{
			{Hostname: "localhost", Cores: 4, MaxCores: 8, Utilization: 80},
			{Hostname: "node02.cluster", Cores: 16, MaxCores: 32, Utilization: 90},
			{Hostname: "10.0.0.7", Cores: -1, MaxCores: 20, Utilization: 100},
		}
	}},
	{"no_machine_nodes", linuxSolver, func(c *Config) { c.MachineNodes = []MachineNode{} }},
	{"design_mode_setup", linuxSolver, func(c *Config) {
		c.DesignName, c.DesignMode, c.SetupName = "board", "Nominal", "Setup1"
	}},
	{"design_only", linuxSolver, func(c *Config) { c.DesignName = "board" }},
	{"setup_with_spaces", windowsSolver, func(c *Config) {
		c.ProjectPath = `C:\sims\a.aedt`
		c.DesignName, c.SetupName = "HFSS Design 1", "Setup 1"
	}},
	{"every_layout_option_flipped", linuxSolver, func(c *Config) {
		c.LayoutOptions = LayoutOptions{
			CreateStartingMesh:     true,
			DefaultProcessPriority: "High",
			EnableGPU:              true,
			MPIVendor:              "Open MPI",
			MPIVersion:             "4.1",
			RemoteSpawnCommand:     "SSH",
			SolveAdaptiveOnly:      true,
			ValidateOnly:           true,
			TempDirectory:          "/scratch/alice",
		}
	}},
	{"flags_flipped", linuxSolver, func(c *Config) {
		c.Distributed, c.Auto, c.NonGraphical, c.Monitor = false, true, false, false
	}},
	{"scheduler_cores_per_node", linuxSolver, func(c *Config) {
		c.SchedulerType = SchedulerSLURM
		c.Auto = true
		c.SchedulerOptions.Nodes, c.SchedulerOptions.TasksPerNode, c.SchedulerOptions.CoresPerNode = 4, 2, 16
	}},
	{"scheduler_tasks_per_node", linuxSolver, func(c *Config) {
		c.SchedulerType = SchedulerPBS
		c.SchedulerOptions.Nodes, c.SchedulerOptions.TasksPerNode = 2, 8
	}},
	{"tricky_posix_paths", "/opt/Ansys EM/v252/Linux64/ansysedt", func(c *Config) {
		c.ProjectPath = `/home/o'brien/my "quoted" proj/$(rm -rf ~)/résumé #1/ant;enna.aedt`
		c.DesignName, c.DesignMode, c.SetupName = `it's "it"`, "Nominal", "Setup#1 $HOME"
	}},
	{"tricky_windows_paths", `C:\Program Files\ANSYS Inc\v252\AnsysEM\ansysedt.exe`, func(c *Config) {
		c.ProjectPath = `C:\Users\Zoë\it's "here"\pass#1\$(x) & %PATH%.aedb`
		c.DesignName = `ddr "4"`
	}},
}

func TestCommandLineGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tc.edit(&c)
			c.Normalize()
			if err := c.Validate(); err != nil {
				t.Fatalf("golden config is invalid: %v", err)
			}
			got := renderCommandLines(c, tc.solver)
			for _, argv := range [][]string{c.CommandLine(tc.solver), c.SchedulerCommandLine(tc.solver)} {
				if diff := cmp.Diff(argv, parseWindowsArgs(WindowsCommandLine(argv))); diff != "" {
					t.Errorf("Windows command line does not read back (-want +got):\n%s", diff)
				}
				back, err := parsePosixWords(PosixCommandLine(argv))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(argv, back); diff != "" {
					t.Errorf("POSIX command line does not read back (-want +got):\n%s", diff)
				}
			}
			path := filepath.Join("testdata", "golden", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

// renderCommandLines is the text of a golden file: each argv one Go-quoted
// element a line, then its Windows and POSIX command lines.
func renderCommandLines(c Config, solver string) string {
	var b strings.Builder
	for _, v := range []struct {
		title string
		argv  []string
	}{
		{"CommandLine", c.CommandLine(solver)},
		{"SchedulerCommandLine", c.SchedulerCommandLine(solver)},
	} {
		fmt.Fprintf(&b, "== %s argv\n", v.title)
		for _, a := range v.argv {
			b.WriteString(strconv.Quote(a) + "\n")
		}
		fmt.Fprintf(&b, "== %s WindowsCommandLine\n%s\n", v.title, WindowsCommandLine(v.argv))
		fmt.Fprintf(&b, "== %s PosixCommandLine\n%s\n", v.title, PosixCommandLine(v.argv))
	}
	return b.String()
}

func TestCommandLineShape(t *testing.T) {
	c := valid()
	c.AnsysEDTPath = "/client/ansysedt"
	argv := c.CommandLine("")
	if argv[0] != c.AnsysEDTPath {
		t.Errorf("argv[0] = %q, want AnsysEDTPath %q when no solver is given", argv[0], c.AnsysEDTPath)
	}
	c.JobID = ""
	for _, argv := range [][]string{c.CommandLine("x"), c.SchedulerCommandLine("x")} {
		for i, a := range argv {
			if a == "" || a == "-jobid" {
				t.Errorf("argv[%d] = %q with an empty jobid: %q", i, a, argv)
			}
		}
	}
	c = valid()
	c.Auto, c.Distributed = true, true
	for _, a := range c.CommandLine("x") {
		if a == "-auto" || a == "-distributed" {
			t.Errorf("local command line has %s: PyEDB gives it to schedulers only", a)
		}
	}
}

func TestBatchOptions(t *testing.T) {
	want := "'HFSS 3D Layout Design/CreateStartingMesh'='0' " +
		"'HFSS 3D Layout Design/DefaultProcessPriority'='Normal' " +
		"'HFSS 3D Layout Design/EnableGPU'='0' " +
		"'HFSS 3D Layout Design/MPIVendor'='Intel' " +
		"'HFSS 3D Layout Design/MPIVersion'='Default' " +
		"'HFSS 3D Layout Design/RemoteSpawnCommand'='Scheduler' " +
		"'HFSS 3D Layout Design/SolveAdaptiveOnly'='0' " +
		"'HFSS 3D Layout Design/ValidateOnly'='0' " +
		"'HFSS 3D Layout Design/RAMLimitPercent'='90' " +
		"'HFSS/RAMLimitPercent'='90' " +
		"'Maxwell 2D/RAMLimitPercent'='90' " +
		"'Maxwell 3D/RAMLimitPercent'='90' " +
		"'Q3D Extractor/RAMLimitPercent'='90'"
	if diff := cmp.Diff(want, Default().BatchOptions()); diff != "" {
		t.Errorf("BatchOptions mismatch (-want +got):\n%s", diff)
	}
	// RAMLimitPercent is fixed, as in PyEDB: the node utilization does not move it.
	c := Default()
	c.MachineNodes[0].Utilization = 50
	if diff := cmp.Diff(want, c.BatchOptions()); diff != "" {
		t.Errorf("BatchOptions follows utilization (-want +got):\n%s", diff)
	}
}

func TestNumCores(t *testing.T) {
	tests := []struct {
		nodes, tasks, cores, want int
	}{
		{1, 1, 0, 1},
		{4, 2, 0, 8},
		{4, 2, 16, 64},
		{1 << 30, 1 << 30, 0, 1<<31 - 1}, // saturates
	}
	for _, tt := range tests {
		c := Default()
		c.SchedulerOptions.Nodes, c.SchedulerOptions.TasksPerNode, c.SchedulerOptions.CoresPerNode = tt.nodes, tt.tasks, tt.cores
		if got := c.NumCores(); got != tt.want {
			t.Errorf("NumCores(nodes %d, tasks %d, cores %d) = %d, want %d", tt.nodes, tt.tasks, tt.cores, got, tt.want)
		}
	}
}

// sampleLogs are solver logs whose "Using command line" our CommandLine must
// reproduce exactly. The configs are what the PyEDB client sent.
var sampleLogs = []struct {
	name   string
	path   func() (string, error) // where the log is, or an error saying why it is not
	config func() Config
}{
	{
		name: "siwave.log (real, PyEDB job manager)",
		path: sharedSample("siwave.log"),
		config: func() Config {
			c := Default()
			c.JobID = "JOB_20251110_174607_01f4bf99"
			c.MachineNodes = []MachineNode{{Hostname: "localhost", Cores: 6, MaxCores: 6, Utilization: 90}}
			c.ProjectPath = `C:\Users\svandenb\gnn-training\siwave_solved\pass#1\pdn_design_001.aedb`
			return c
		},
	},
	{
		name: "testdata/hfss-batch-sample.log (ours)",
		path: func() (string, error) { return filepath.Join("testdata", "hfss-batch-sample.log"), nil },
		config: func() Config {
			c := Default()
			c.JobID = "JOB_20260105_093000_5c3e9a10"
			c.MachineNodes = []MachineNode{
				{Hostname: "localhost", Cores: 4, MaxCores: 8, Utilization: 80},
				{Hostname: "sim-node02", Cores: 8, MaxCores: 16, Utilization: 75},
			}
			c.LayoutOptions.CreateStartingMesh = true
			c.LayoutOptions.DefaultProcessPriority = "Low"
			c.LayoutOptions.MPIVendor = "Microsoft"
			c.ProjectPath = `D:\sims\board rev A\ddr4_board.aedb`
			c.DesignName, c.DesignMode, c.SetupName = "ddr4_board", "Nominal", "Setup1"
			return c
		},
	},
}

// sharedSample finds a log of /work/shared/samples: the shared folder sits
// next to the repository, outside it, and is absent in other checkouts.
func sharedSample(name string) func() (string, error) {
	return func() (string, error) {
		dir, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", errors.New("no go.mod above the test directory")
			}
			dir = parent
		}
		path := filepath.Join(dir, "..", "shared", "samples", name)
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("the shared samples folder is absent here: %w", err)
		}
		return path, nil
	}
}

func TestSampleLogCommandLine(t *testing.T) {
	for _, s := range sampleLogs {
		t.Run(s.name, func(t *testing.T) {
			path, err := s.path()
			if err != nil {
				t.Skipf("skipping: %v", err)
			}
			log, err := parseSolverLog(path)
			if err != nil {
				t.Fatal(err)
			}
			c := s.config()
			c.Normalize()
			if err := c.Validate(); err != nil {
				t.Fatalf("config of %s is invalid: %v", s.name, err)
			}
			if diff := cmp.Diff(log.project, c.ProjectPath); diff != "" {
				t.Errorf("project path (-log +config):\n%s", diff)
			}
			// ansysedt logs its argv joined with spaces, unquoted.
			got := strings.Join(c.CommandLine(log.location), " ")
			if diff := cmp.Diff(log.commandLine, got); diff != "" {
				t.Errorf("command line mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type solverLog struct {
	location, project, commandLine string
}

var usingCommandLine = regexp.MustCompile(`^\[info\] Using command line: "(.*)"\.$`)

func parseSolverLog(path string) (solverLog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return solverLog{}, err
	}
	var l solverLog
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if v, ok := strings.CutPrefix(line, "Location: "); ok && l.location == "" {
			l.location = v
		}
		if v, ok := strings.CutPrefix(line, "Batch Solve/Save: "); ok && l.project == "" {
			l.project = v
		}
		if m := usingCommandLine.FindStringSubmatch(line); m != nil && l.commandLine == "" {
			l.commandLine = m[1]
		}
	}
	if err := sc.Err(); err != nil {
		return solverLog{}, fmt.Errorf("read %s: %w", path, err)
	}
	if l.location == "" || l.project == "" || l.commandLine == "" {
		return solverLog{}, fmt.Errorf("%s: no Location, Batch Solve/Save or Using command line line", path)
	}
	return l, nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestNewJobID(t *testing.T) {
	now := time.Date(2025, 11, 10, 17, 46, 7, 123, time.UTC)
	got := NewJobID(now, bytes.NewReader([]byte{0x01, 0xf4, 0xbf, 0x99, 0xff}))
	if diff := cmp.Diff("JOB_20251110_174607_01f4bf99", got); diff != "" {
		t.Errorf("NewJobID mismatch (-want +got):\n%s", diff)
	}
	format := regexp.MustCompile(`^JOB_\d{8}_\d{6}_[0-9a-f]{8}$`)
	for _, r := range []interface{ Read([]byte) (int, error) }{failingReader{}, bytes.NewReader([]byte{1, 2}), nil} {
		id := NewJobID(now, r)
		if !format.MatchString(id) {
			t.Errorf("NewJobID with reader %T = %q, want JOB_yyyymmdd_hhmmss_xxxxxxxx", r, id)
		}
	}
	// The id is valid as a jobid and uses now's location, as PyEDB uses local time.
	c := valid()
	c.JobID = NewJobID(now.In(time.FixedZone("X", 3600)), bytes.NewReader(make([]byte, 4)))
	if c.JobID != "JOB_20251110_184607_00000000" {
		t.Errorf("NewJobID in UTC+1 = %q", c.JobID)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("generated id is not a valid jobid: %v", err)
	}
}

func TestAllocatedHosts(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Config)
		ok       bool
		wantUtil int
	}{
		{"one node one task", func(c *Config) {}, false, 0},
		{"one node of 8 cores", func(c *Config) { c.SchedulerOptions.CoresPerNode = 8 }, false, 0},
		{"two nodes", func(c *Config) { c.SchedulerOptions.Nodes = 2 }, true, 90},
		{"two tasks on a node", func(c *Config) { c.SchedulerOptions.TasksPerNode = 2 }, true, 90},
		{"the first machine node's RAM share", func(c *Config) {
			c.SchedulerOptions.Nodes = 4
			c.MachineNodes = []MachineNode{{Hostname: "localhost", Cores: -1, MaxCores: 20, Utilization: 75}}
		}, true, 75},
		{"not distributed", func(c *Config) { c.SchedulerOptions.Nodes = 2; c.Distributed = false }, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			c.Distributed = true
			c.SchedulerOptions.Nodes, c.SchedulerOptions.TasksPerNode, c.SchedulerOptions.CoresPerNode = 1, 1, 0
			tt.edit(&c)
			argv := c.SchedulerCommandLine("solver")
			arg, util, ok := c.AllocatedHosts(argv)
			if ok != tt.ok || util != tt.wantUtil {
				t.Fatalf("AllocatedHosts = %d, %d, %v; want ok %v, utilization %d", arg, util, ok, tt.ok, tt.wantUtil)
			}
			if ok && (argv[arg-1] != "-machinelist" || argv[arg-2] != "-distributed" || !strings.HasPrefix(argv[arg], "numcores=")) {
				t.Errorf("argument %d of %q is not the numcores of -distributed -machinelist", arg, argv)
			}
		})
	}
}
