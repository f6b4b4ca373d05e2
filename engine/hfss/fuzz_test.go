package hfss

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		pyedbToDict,
		`{"project_path": "/p/a.aedt", "jobid": "J1"}`,
		`{"project_path": " C:\\a b\\c.AEDB\\ ", "design_name": "d", "design_mode": "Nominal", "setup_name": "S 1"}`,
		`{"project_path": "/p/a.aedt", "machine_nodes": [], "scheduler_type": "SLURM", "auto": true}`,
		`{"project_path": "/p/a.aedt", "machine_nodes": [{"hostname": "n1", "cores": 4}, {"utilization": 100}]}`,
		`{"project_path": "/p/a.aedt", "layout_options": {"mpi_vendor": "open mpi", "mpi_version": ""}}`,
		`{"project_path": "/p/a.aedt", "scheduler_options": {"nodes": 2.0, "time": "1.12:00:00", "memory": "8 gb"}}`,
		`{"project_path": "/p/a.aedt", "jobid": "", "non_graphical": false, "monitor": false}`,
		`{"scheduler_options": {"nodes": 2.5}}`,
		`{"machine_nodes": [null]}`,
		`{"layout_options": []}`,
		`[1, 2]`,
		`null`,
		`{`,
		`{"jobid": "a\u0000b"}`,
		`{"JobID": "mixed", "Project_Path": "/p/a.aedt", "MACHINE_NODES": [{"HostName": "h"}]}`,
		`{"machine_nodes": [{"cores": 3000000000}]}`,
	} {
		f.Add([]byte(seed))
	}
	for _, tc := range goldenCases {
		c := valid()
		tc.edit(&c)
		js, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The one-pass decoder must agree with the field-by-field one
		// whenever it answers at all.
		if fast, ok := decodeFast(data); ok {
			slow, err := decodeFields(data)
			if err != nil {
				t.Fatalf("fast path accepted what the field decoder refuses: %v", err)
			}
			if diff := cmp.Diff(slow, fast); diff != "" {
				t.Fatalf("fast and field decoders differ (-fields +fast):\n%s", diff)
			}
		}
		c, err := Decode(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" {
				t.Fatalf("Decode error %#v is not a complete *FieldError", err)
			}
			return
		}
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Decode(js)
		if err != nil {
			t.Fatalf("Decode(Marshal(c)): %v", err)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("JSON round trip (-want +got):\n%s", diff)
		}

		c.Normalize()
		again := c
		again.Normalize()
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("Normalize is not idempotent (-want +got):\n%s", diff)
		}
		// Whatever Validate says, building command lines must not panic.
		_ = c.CommandLine("ansysedt")
		_ = c.SchedulerCommandLine("")
		if err := c.Validate(); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" {
				t.Fatalf("Validate error %#v is not a complete *FieldError", err)
			}
			return
		}
		if c.JobID == "" {
			c.JobID = NewJobID(time.Unix(0, 0), nil)
		}
		for _, argv := range [][]string{c.CommandLine("ansysedt"), c.SchedulerCommandLine("ansysedt")} {
			checkArgv(t, c, argv)
		}
	})
}

// checkArgv holds for the command line of every valid configuration.
func checkArgv(t *testing.T, c Config, argv []string) {
	t.Helper()
	if got := argv[len(argv)-1]; got != c.ProjectPath {
		t.Fatalf("last argument = %q, want the project path %q", got, c.ProjectPath)
	}
	// PyEDB never produces an empty argument either: the design string is
	// at least "::".
	for i, a := range argv {
		if a == "" {
			t.Fatalf("argv[%d] is empty: %q", i, argv)
		}
	}
	if diff := cmp.Diff(argv, parseWindowsArgs(WindowsCommandLine(argv))); diff != "" {
		t.Fatalf("Windows command line does not read back (-want +got):\n%s", diff)
	}
	back, err := parsePosixWords(PosixCommandLine(argv))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(argv, back); diff != "" {
		t.Fatalf("POSIX command line does not read back (-want +got):\n%s", diff)
	}
}

func FuzzParseWallTime(f *testing.F) {
	for _, seed := range []string{
		"24:00:00", "1:30:00", "1000:59:59", "1.00:00:00", "0.12:30:00", "90", "0", "0090",
		"", "abc", "01:60:00", "1.24:00:00", "+90", "-1:00:00", "1e3", "99999999999999999999",
		"106751991167300:00:00", "2562047:47:16", "1.2.03:00:00", "१२",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseWallTime(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseWallTime(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d <= 0 || d%time.Second != 0 {
			t.Fatalf("ParseWallTime(%q) = %v, want a positive whole number of seconds", s, d)
		}
		secs := int64(d / time.Second)
		hms := fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
		if back, err := ParseWallTime(hms); err != nil || back != d {
			t.Fatalf("ParseWallTime(%q) = %v, but its HH:MM:SS %q gives %v, %v", s, d, hms, back, err)
		}
	})
}

func FuzzCommandLineQuoting(f *testing.F) {
	for _, seed := range [][2]string{
		{`C:\Program Files\x\`, `a"b`},
		{`it's`, `$(rm -rf ~)`},
		{"", "\t"},
		{`\\"`, `'HFSS/RAMLimitPercent'='90'`},
		{"résumé #1", "a\nb"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		argv := []string{"prog", a, b}
		if diff := cmp.Diff(argv, parseWindowsArgs(WindowsCommandLine(argv))); diff != "" {
			t.Fatalf("Windows command line %q does not read back (-want +got):\n%s", WindowsCommandLine(argv), diff)
		}
		back, err := parsePosixWords(PosixCommandLine(argv))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(argv, back); diff != "" {
			t.Fatalf("POSIX command line %q does not read back (-want +got):\n%s", PosixCommandLine(argv), diff)
		}
	})
}
