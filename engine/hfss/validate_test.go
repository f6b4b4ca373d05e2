package hfss

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// valid returns a configuration that passes Validate.
func valid() Config {
	c := Default()
	c.JobID = "JOB_20260105_093000_5c3e9a10"
	c.ProjectPath = "/home/alice/sims/antenna.aedt"
	return c
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"defaults with a project", func(*Config) {}},
		{"no jobid yet", func(c *Config) { c.JobID = "" }},
		{"longest jobid", func(c *Config) { c.JobID = strings.Repeat("a", 128) }},
		{"jobid with - and _", func(c *Config) { c.JobID = "run-7_b" }},
		{".aedb folder", func(c *Config) { c.ProjectPath = `C:\sims\pass#1\pdn_design_001.aedb` }},
		{"extension in any case", func(c *Config) { c.ProjectPath = "/p/BOARD.AeDt" }},
		{"path with spaces, quotes, unicode and shell syntax", func(c *Config) {
			c.ProjectPath = `/home/o'brien/"my" proj/$(rm -rf ~)/résumé #1/a.aedt`
		}},
		{"design, mode and setup", func(c *Config) {
			c.DesignName, c.DesignMode, c.SetupName = "board", "Nominal", "Setup1 : Sweep1"
		}},
		{"no machine nodes", func(c *Config) { c.MachineNodes = []MachineNode{} }},
		{"several nodes at the limits", func(c *Config) {
			c.MachineNodes = []MachineNode{
				{Hostname: "10.0.0.1", Cores: 1, MaxCores: 1, Utilization: 1},
				{Hostname: "node_02.cluster-a.example.com", Cores: -1, MaxCores: 128, Utilization: 100},
			}
		}},
		{"every process priority", func(c *Config) { c.LayoutOptions.DefaultProcessPriority = "Idle" }},
		{"Microsoft MPI", func(c *Config) { c.LayoutOptions.MPIVendor = "Microsoft" }},
		{"Open MPI", func(c *Config) { c.LayoutOptions.MPIVendor = "Open MPI" }},
		{"free-form MPI version and spawn command", func(c *Config) {
			c.LayoutOptions.MPIVersion = "2021.10"
			c.LayoutOptions.RemoteSpawnCommand = "SSH"
			c.LayoutOptions.TempDirectory = `C:\Users\Zoë\AppData\Local\Temp`
		}},
		{"every scheduler type", func(c *Config) { c.SchedulerType = "windows_hpc" }},
		{"slurm", func(c *Config) { c.SchedulerType = "slurm" }},
		{"lsf", func(c *Config) { c.SchedulerType = "lsf" }},
		{"pbs", func(c *Config) { c.SchedulerType = "pbs" }},
		{"time in minutes", func(c *Config) { c.SchedulerOptions.Time = "90" }},
		{"time in days", func(c *Config) { c.SchedulerOptions.Time = "2.12:00:00" }},
		{"time over a day in hours", func(c *Config) { c.SchedulerOptions.Time = "48:00:00" }},
		{"every scheduler option set", func(c *Config) {
			c.SchedulerOptions = SchedulerOptions{
				Queue: "gpu-a100", Time: "08:00:00", Nodes: 4, TasksPerNode: 8, CoresPerNode: 32,
				Memory: "512 MB", Account: "proj_42", Reservation: "maint.2026", QOS: "high",
				Constraints: "intel&ib|[rack1*2]", Exclusive: true, GPUs: 2, GPUType: "a100",
				Priority: "AboveNormal", EmailNotification: "alice.smith+hfss@example.com",
				RunAsAdministrator: true,
			}
		}},
		{"no memory request", func(c *Config) { c.SchedulerOptions.Memory = "" }},
		{"LSF resource string", func(c *Config) { c.SchedulerOptions.Constraints = "select[mem>1000 && type==X86_64]" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.edit(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Config)
		wantField string
	}{
		{"jobid with a space", func(c *Config) { c.JobID = "job 1" }, "jobid"},
		{"jobid with a slash", func(c *Config) { c.JobID = "../x" }, "jobid"},
		{"jobid too long", func(c *Config) { c.JobID = strings.Repeat("a", 129) }, "jobid"},
		{"user with a newline", func(c *Config) { c.User = "alice\nbob" }, "user"},
		{"empty hostname", func(c *Config) { c.MachineNodes[0].Hostname = "" }, "machine_nodes[0].hostname"},
		{"hostname that breaks the machine list", func(c *Config) {
			c.MachineNodes = append(c.MachineNodes, MachineNode{Hostname: "a:1:1:1%,b", Cores: 1, MaxCores: 1, Utilization: 1})
		}, "machine_nodes[1].hostname"},
		{"hostname starting with -", func(c *Config) { c.MachineNodes[0].Hostname = "-ng" }, "machine_nodes[0].hostname"},
		{"zero cores", func(c *Config) { c.MachineNodes[0].Cores = 0 }, "machine_nodes[0].cores"},
		{"cores below -1", func(c *Config) { c.MachineNodes[0].Cores = -2 }, "machine_nodes[0].cores"},
		{"max_cores 0", func(c *Config) { c.MachineNodes[0].MaxCores = 0 }, "machine_nodes[0].max_cores"},
		{"utilization 0", func(c *Config) { c.MachineNodes[0].Utilization = 0 }, "machine_nodes[0].utilization"},
		{"utilization 101", func(c *Config) { c.MachineNodes[0].Utilization = 101 }, "machine_nodes[0].utilization"},
		{"process priority", func(c *Config) { c.LayoutOptions.DefaultProcessPriority = "Urgent" }, "layout_options.default_process_priority"},
		{"process priority in the wrong case without Normalize", func(c *Config) { c.LayoutOptions.DefaultProcessPriority = "normal" }, "layout_options.default_process_priority"},
		{"MPI vendor", func(c *Config) { c.LayoutOptions.MPIVendor = "MPICH" }, "layout_options.mpi_vendor"},
		{"MPI version with a quote", func(c *Config) { c.LayoutOptions.MPIVersion = "2021' 'x'='y" }, "layout_options.mpi_version"},
		{"remote spawn command with a newline", func(c *Config) { c.LayoutOptions.RemoteSpawnCommand = "ssh\nrm" }, "layout_options.remote_spawn_command"},
		{"remote spawn command with a double quote", func(c *Config) { c.LayoutOptions.RemoteSpawnCommand = `a"b` }, "layout_options.remote_spawn_command"},
		{"temp directory with a NUL", func(c *Config) { c.LayoutOptions.TempDirectory = "/tmp\x00x" }, "layout_options.temp_directory"},
		{"no project", func(c *Config) { c.ProjectPath = "" }, "project_path"},
		{"project of the wrong kind", func(c *Config) { c.ProjectPath = "/p/board.siw" }, "project_path"},
		{"project extension alone is not enough", func(c *Config) { c.ProjectPath = "/p/board.aedt.bak" }, "project_path"},
		{"project read as an option", func(c *Config) { c.ProjectPath = "-batchextract.aedt" }, "project_path"},
		{"project with a newline", func(c *Config) { c.ProjectPath = "/p/a\nb.aedt" }, "project_path"},
		{"project with invalid UTF-8", func(c *Config) { c.ProjectPath = "/p/\xff.aedt" }, "project_path"},
		{"design name with :", func(c *Config) { c.DesignName = "a:b" }, "design_name"},
		{"design name read as an option", func(c *Config) { c.DesignName = "-ng" }, "design_name"},
		{"design name with a control character", func(c *Config) { c.DesignName = "a\x1bb" }, "design_name"},
		{"design mode with :", func(c *Config) { c.DesignMode = "Nominal:x" }, "design_mode"},
		{"setup name with a newline", func(c *Config) { c.SetupName = "Setup1\n" }, "setup_name"},
		{"scheduler type", func(c *Config) { c.SchedulerType = "kubernetes" }, "scheduler_type"},
		{"scheduler type empty without Normalize", func(c *Config) { c.SchedulerType = "" }, "scheduler_type"},
		{"queue with a space", func(c *Config) { c.SchedulerOptions.Queue = "a b" }, "scheduler_options.queue"},
		{"queue empty without Normalize", func(c *Config) { c.SchedulerOptions.Queue = "" }, "scheduler_options.queue"},
		{"queue read as an option", func(c *Config) { c.SchedulerOptions.Queue = "-x" }, "scheduler_options.queue"},
		{"time", func(c *Config) { c.SchedulerOptions.Time = "tomorrow" }, "scheduler_options.time"},
		{"time zero", func(c *Config) { c.SchedulerOptions.Time = "00:00:00" }, "scheduler_options.time"},
		{"nodes 0", func(c *Config) { c.SchedulerOptions.Nodes = 0 }, "scheduler_options.nodes"},
		{"tasks_per_node 0", func(c *Config) { c.SchedulerOptions.TasksPerNode = 0 }, "scheduler_options.tasks_per_node"},
		{"cores_per_node -1", func(c *Config) { c.SchedulerOptions.CoresPerNode = -1 }, "scheduler_options.cores_per_node"},
		{"memory", func(c *Config) { c.SchedulerOptions.Memory = "lots" }, "scheduler_options.memory"},
		{"account with shell syntax", func(c *Config) { c.SchedulerOptions.Account = "a;rm -rf /" }, "scheduler_options.account"},
		{"reservation with a newline", func(c *Config) { c.SchedulerOptions.Reservation = "r\n#SBATCH --x" }, "scheduler_options.reservation"},
		{"qos with a quote", func(c *Config) { c.SchedulerOptions.QOS = "q'" }, "scheduler_options.qos"},
		{"constraints with a quote", func(c *Config) { c.SchedulerOptions.Constraints = "a'b" }, "scheduler_options.constraints"},
		{"constraints with $", func(c *Config) { c.SchedulerOptions.Constraints = "$(id)" }, "scheduler_options.constraints"},
		{"constraints read as an option", func(c *Config) { c.SchedulerOptions.Constraints = "-x" }, "scheduler_options.constraints"},
		{"gpus -1", func(c *Config) { c.SchedulerOptions.GPUs = -1 }, "scheduler_options.gpus"},
		{"gpu type with $", func(c *Config) { c.SchedulerOptions.GPUType = "$x" }, "scheduler_options.gpu_type"},
		{"scheduler priority", func(c *Config) { c.SchedulerOptions.Priority = "Urgent" }, "scheduler_options.priority"},
		{"email", func(c *Config) { c.SchedulerOptions.EmailNotification = "alice" }, "scheduler_options.email_notification"},
		{"email with shell syntax", func(c *Config) { c.SchedulerOptions.EmailNotification = "a@b;id" }, "scheduler_options.email_notification"},
		{"first error in field order", func(c *Config) {
			c.SchedulerOptions.Nodes = 0
			c.ProjectPath = ""
			c.MachineNodes[0].Utilization = 0
		}, "machine_nodes[0].utilization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.edit(&c)
			err := c.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError", err)
			}
			if diff := cmp.Diff(tt.wantField, fe.Field); diff != "" {
				t.Errorf("Field mismatch (-want +got):\n%s", diff)
			}
			if fe.Message == "" || !strings.HasPrefix(err.Error(), tt.wantField+": ") {
				t.Errorf("Error() = %q, want %q and a message", err.Error(), tt.wantField+": ...")
			}
		})
	}
}

// TestValidateMessages pins a few messages word for word: they reach users.
func TestValidateMessages(t *testing.T) {
	tests := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.MachineNodes[0].Utilization = 120 },
			"machine_nodes[0].utilization: must be a percentage from 1 to 100, got 120"},
		{func(c *Config) { c.ProjectPath = "" },
			"project_path: is required: the .aedt file or .aedb folder to solve"},
		{func(c *Config) { c.LayoutOptions.MPIVendor = "MPICH" },
			`layout_options.mpi_vendor: must be one of "Microsoft", "Intel", "Open MPI", got "MPICH"`},
		{func(c *Config) { c.SchedulerOptions.Time = "1h" },
			`scheduler_options.time: invalid wall time "1h": want HH:MM:SS, D.HH:MM:SS or a number of minutes`},
		{func(c *Config) { c.SchedulerType = "k8s" },
			`scheduler_type: must be one of none, slurm, lsf, pbs, windows_hpc, sge, got "k8s"`},
	}
	for _, tt := range tests {
		c := valid()
		tt.edit(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("Validate() = nil, want %q", tt.want)
			continue
		}
		if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
			t.Errorf("message mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestNormalizeThenValidate(t *testing.T) {
	c, err := Decode([]byte(`{"project_path": " /p/a.AEDB/ ", "scheduler_type": "SLURM",
		"layout_options": {"mpi_vendor": "open mpi", "default_process_priority": "low", "mpi_version": ""},
		"scheduler_options": {"priority": "belownormal", "time": "", "queue": null}}`))
	if err != nil {
		t.Fatal(err)
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() after Normalize = %v", err)
	}
}

func TestParseWallTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"24:00:00", 24 * time.Hour},
		{"00:00:01", time.Second},
		{"1:30:00", 90 * time.Minute},
		{"48:00:00", 48 * time.Hour},
		{"1000:59:59", 1000*time.Hour + 59*time.Minute + 59*time.Second},
		{"1.00:00:00", 24 * time.Hour},
		{"0.12:30:00", 12*time.Hour + 30*time.Minute},
		{"2.23:59:59", 71*time.Hour + 59*time.Minute + 59*time.Second},
		{"90", 90 * time.Minute},
		{"1", time.Minute},
		{"0090", 90 * time.Minute},
	}
	for _, tt := range tests {
		got, err := ParseWallTime(tt.in)
		if err != nil {
			t.Errorf("ParseWallTime(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseWallTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseWallTimeRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "0", "00:00:00", "0.00:00:00", // empty and zero
		"abc", "1h", "1:30", "1:2:3", "1:30:00:00", "::", "01:60:00", "01:00:60",
		"1.24:00:00", "1.1:00:00", "1.001:00:00", ".01:00:00", "1.:00:00:00",
		"+90", "-90", "-1:00:00", "1e3", "90.5", " 90", "90 ", "90\n", "१२", // non-ASCII digits
		"1:00:00.5", "1.2.03:00:00",
		"99999999999999999999", "9999999999999:00:00", "106751991167300:00:00", "153722867280912931",
	} {
		if d, err := ParseWallTime(in); err == nil {
			t.Errorf("ParseWallTime(%q) = %v, want an error", in, d)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"4GB", 4 << 30},
		{"4gb", 4 << 30},
		{"4G", 4 << 30},
		{"4 GiB", 4 << 30},
		{"512MB", 512 << 20},
		{"512", 512 << 20},
		{"1.5G", 3 << 29},
		{"2T", 2 << 40},
		{"100KB", 100 << 10},
		{"10B", 10},
		{"0", 0},
	}
	for _, tt := range tests {
		got, err := ParseMemory(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "GB", "lots", "4 GB extra", "-4GB", "4PB", ".5G", "5.G", "1.2.3G", "4GBB", "99999999999T"} {
		if got, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) = %d, want an error", in, got)
		}
	}
}
