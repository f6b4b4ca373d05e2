package sge

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

// The testdata files are what Son of Grid Engine 8.1.9 (Debian 12's
// gridengine) printed on the test cell of scripts/sge-up.sh, except
// qhost-q-cluster.txt, written in the same format for three hosts, two
// queues, reserved slots and a host that does not report.

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseQsub(t *testing.T) {
	tests := []struct {
		out, want string
		ok        bool
	}{
		{"2\n", "2", true},
		{"42.1-10:1\n", "42", true},
		{"", "", false},
		{"Your job 1 (\"x\") has been submitted\n", "", false},
		{"1\n2\n", "", false},
	}
	for _, tt := range tests {
		got, err := parseQsub([]byte(tt.out))
		if tt.ok && (err != nil || got != tt.want) || !tt.ok && !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseQsub(%q) = %q, %v; want %q (ok %v)", tt.out, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseQstat(t *testing.T) {
	st, names, err := parseQstat(read(t, "qstat-xml.txt"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 3, 13, 16, 19, 0, time.Local)
	want := map[string]cluster.Status{
		"27": {State: runner.StateRunning, Detail: "r", Time: start},
		"28": {State: runner.StateScheduled, Detail: "hqw"},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"27": "simjobs.k3x9.JOB_A.1", "28": "simjobs.k3x9.JOB_B.2"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestParseQstatEmptyAndError(t *testing.T) {
	empty := `<?xml version='1.0'?>
<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
  <queue_info>
  </queue_info>
  <job_info>
  </job_info>
</job_info>`
	st, _, err := parseQstat([]byte(empty))
	if err != nil || len(st) != 0 {
		t.Errorf("empty listing: %v, %v", st, err)
	}
	eqw := `<?xml version='1.0'?>
<job_info><queue_info></queue_info><job_info>
<job_list state="pending"><JB_job_number>7</JB_job_number><JB_name>simjobs.x.1</JB_name><state>Eqw</state></job_list>
</job_info></job_info>`
	st, _, err = parseQstat([]byte(eqw))
	if err != nil || st["7"].State != runner.StateFailed || st["7"].End == nil || st["7"].End.State != runner.StateFailed {
		t.Errorf("a job in error state: %+v, %v; want it failed with its end", st, err)
	}
	for _, bad := range []string{"", "error: commlib error", "<job_info><queue_info><job_list><JB_job_number>x1</JB_job_number></job_list></queue_info></job_info>"} {
		if _, _, err := parseQstat([]byte(bad)); !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseQstat(%q): %v, want ErrOutput", bad, err)
		}
	}
}

func TestStateOf(t *testing.T) {
	for s, want := range map[string]runner.State{
		"qw": runner.StateScheduled, "hqw": runner.StateScheduled, "hRwq": runner.StateScheduled, "Rq": runner.StateScheduled,
		"r": runner.StateRunning, "t": runner.StateRunning, "Rr": runner.StateRunning, "s": runner.StateRunning,
		"S": runner.StateRunning, "dr": runner.StateRunning, "dt": runner.StateRunning,
		"Eqw": runner.StateFailed, "dEqw": runner.StateFailed,
	} {
		if got := stateOf(s); got != want {
			t.Errorf("stateOf(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestParseQacct(t *testing.T) {
	ends, err := parseQacct(read(t, "qacct.txt"))
	if err != nil {
		t.Fatal(err)
	}
	three := 3
	at := func(h, m, s int) time.Time { return time.Date(2026, 12, 3, h, m, s, 0, time.Local) }
	want := map[string]cluster.End{
		"1": {State: runner.StateFailed, ExitCode: &three, Message: "exit code 3", Start: at(13, 5, 44), Time: at(13, 5, 49)},
		"4": {State: runner.StateFailed, Message: "Grid Engine: failed 100 : assumedly after job, exit status 137 (Killed)", Start: at(13, 6, 0), Time: at(13, 6, 9)},
	}
	if diff := cmp.Diff(want, ends); diff != "" {
		t.Errorf("ends (-want +got):\n%s", diff)
	}
}

func TestParseQacctCompletedAndNeverStarted(t *testing.T) {
	out := "==============================================================\njobname      simjobs.x.1\njobnumber    9\nstart_time   -/-\nend_time     -/-\nfailed       0    \nexit_status  0\n"
	ends, err := parseQacct([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	e := ends["9"]
	if e.State != runner.StateCompleted || e.ExitCode == nil || *e.ExitCode != 0 || !e.Start.IsZero() || !e.Time.IsZero() {
		t.Errorf("end = %+v", e)
	}
	for _, bad := range []string{"jobnumber x\nfailed 0\nexit_status 0\n", "jobnumber 1\nfailed no\nexit_status 0\n", "jobnumber 1\nfailed 0\nexit_status ?\n", "failed 0\n"} {
		if _, err := parseQacct([]byte(bad)); !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseQacct(%q): %v, want ErrOutput", bad, err)
		}
	}
}

func TestParseQhost(t *testing.T) {
	parts, err := parseQhost(read(t, "qhost-q.txt"))
	if err != nil {
		t.Fatal(err)
	}
	round := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 0.01 })
	want := []runner.Partition{{Name: "all.q", NodesTotal: 1, NodesUsed: 1, CoresTotal: 8, CoresUsed: 1, MemoryTotalGB: 23.5, MemoryUsedGB: 788.0 / 1024}}
	if diff := cmp.Diff(want, parts, round); diff != "" {
		t.Errorf("one host (-want +got):\n%s", diff)
	}
	parts, err = parseQhost(read(t, "qhost-q-cluster.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want = []runner.Partition{
		{Name: "all.q", NodesTotal: 3, NodesUsed: 2, CoresTotal: 96, CoresUsed: 20, MemoryTotalGB: 3 * 251.6, MemoryUsedGB: 42.3},
		{Name: "long.q", NodesTotal: 1, NodesUsed: 0, CoresTotal: 32, CoresUsed: 0, MemoryTotalGB: 251.6, MemoryUsedGB: 40.2},
	}
	if diff := cmp.Diff(want, parts, round); diff != "" {
		t.Errorf("three hosts (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "error: commlib error\n", "HOSTNAME ARCH\n---\nvm x\n", "HOSTNAME\n---\nvm lx 2 1 2 2 0.1 1G 1G 0 0\n   all.q BIP 0/x/2\n", "HOSTNAME\n---\nvm lx 2 1 2 2 0.1 lots 1G 0 0\n"} {
		if _, err := parseQhost([]byte(bad)); !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseQhost(%q): %v, want ErrOutput", bad, err)
		}
	}
}

func TestNotFoundAndDeleted(t *testing.T) {
	for _, tt := range []struct {
		out  cluster.Output
		want bool
	}{
		{cluster.Output{Stderr: []byte("error: job id 12345 not found\n")}, true},
		{cluster.Output{Stderr: []byte("error: job name simjobs.x.1 not found\n")}, true},
		{cluster.Output{Stdout: []byte("no jobs running since startup\n"), Stderr: []byte("/var/lib/gridengine/default/common/accounting: No such file or directory\n")}, true},
		{cluster.Output{Stdout: []byte("denied: job \"99999\" does not exist\n")}, true},
		{cluster.Output{Stderr: []byte("error: commlib error: got select error (Connection refused)\n")}, false},
		{cluster.Output{}, false},
	} {
		if got := notFound(tt.out); got != tt.want {
			t.Errorf("notFound(%q, %q) = %v", tt.out.Stdout, tt.out.Stderr, got)
		}
	}
	if !deletedBeforeStart([]byte("root has deleted job 3\n"), "3") || deletedBeforeStart([]byte("root has registered the job 4 for deletion\n"), "4") || deletedBeforeStart([]byte("root has deleted job 33\n"), "3") {
		t.Error("deletedBeforeStart misreads qdel")
	}
}

// The fuzz targets feed the parsers of qstat, qacct and qhost output:
// they may refuse it, never panic, and what they accept holds only
// well-formed job ids and sane figures.

func FuzzParseQstat(f *testing.F) {
	f.Add(read(f, "qstat-xml.txt"))
	f.Add([]byte("<job_info><job_info><job_list><JB_job_number>1</JB_job_number><state>Eqw</state></job_list></job_info></job_info>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, names, err := parseQstat(b)
		if err != nil {
			return
		}
		for id, s := range st {
			if !cluster.Digits(id) || s.State == "" {
				t.Fatalf("job %q: %+v", id, s)
			}
			if _, ok := names[id]; !ok {
				t.Fatalf("job %q has no name entry", id)
			}
		}
	})
}

func FuzzParseQacct(f *testing.F) {
	f.Add(read(f, "qacct.txt"))
	f.Add([]byte("jobnumber 1\nfailed 0\nexit_status 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ends, err := parseQacct(b)
		if err != nil {
			return
		}
		for id, e := range ends {
			if !cluster.Digits(id) || !e.State.Terminal() {
				t.Fatalf("job %q: %+v", id, e)
			}
			if e.State == runner.StateCompleted && (e.ExitCode == nil || *e.ExitCode != 0) {
				t.Fatalf("job %q completed with %v", id, e.ExitCode)
			}
		}
	})
}

func FuzzParseQhost(f *testing.F) {
	f.Add(read(f, "qhost-q.txt"))
	f.Add(read(f, "qhost-q-cluster.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := parseQhost(b)
		if err != nil {
			return
		}
		for _, p := range parts {
			if p.Name == "" || p.NodesUsed > p.NodesTotal || p.CoresTotal < 0 || p.MemoryTotalGB < 0 || math.IsNaN(p.MemoryTotalGB) {
				t.Fatalf("partition %+v", p)
			}
		}
	})
}
