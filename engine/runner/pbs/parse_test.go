package pbs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(s string) time.Time {
	t, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", s, time.Local)
	if err != nil {
		panic(err)
	}
	return t
}

func ip(n int) *int { return &n }

func TestParseQsub(t *testing.T) {
	for _, tt := range []struct{ out, want string }{
		{"123.pbs01\n", "123.pbs01"}, {"7\n", "7"}, {"45[].pbs01\n", "45[].pbs01"}, {"8.fakepbs", "8.fakepbs"},
	} {
		if got, err := parseQsub([]byte(tt.out)); err != nil || got != tt.want {
			t.Errorf("parseQsub(%q) = %q, %v; want %q", tt.out, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "qsub: Unknown queue\n", "Job <1> is submitted\n", "1.a b\n", "1.x\n2.y\n"} {
		if _, err := parseQsub([]byte(bad)); !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseQsub(%q) = %v, want ErrOutput", bad, err)
		}
	}
}

func TestParseQstat(t *testing.T) {
	got, err := parseQstat(readTestdata(t, "qstat.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.Status{
		"101":     {State: runner.StateScheduled, Detail: "state Q"},
		"102":     {State: runner.StateRunning, Detail: "state R"},
		"103":     {State: runner.StateScheduled, Detail: "state H"},
		"104":     {State: runner.StateFailed, Detail: "state F"},
		"1234567": {State: runner.StateRunning, Detail: "state E"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseQstat (-want +got):\n%s", diff)
	}
}

func TestParseFinal(t *testing.T) {
	got, err := parseFinal(readTestdata(t, "qstat-f.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.End{
		"104": {State: runner.StateFailed, ExitCode: ip(3), Message: "exit code 3", Start: at("Wed Nov 25 13:00:54 2026"), Time: at("Wed Nov 25 13:00:57 2026")},
		"105": {State: runner.StateCompleted, ExitCode: ip(0), Start: at("Wed Nov  5 09:01:00 2026"), Time: at("Wed Nov  5 09:02:00 2026")},
		"106": {State: runner.StateFailed, Message: "killed by PBS with signal 15 (Exit_status 271)", Start: at("Wed Nov 25 13:01:00 2026"), Time: at("Wed Nov 25 13:01:05 2026")},
		"107": {State: runner.StateCancelled, Message: "deleted before it started", Time: at("Wed Nov 25 13:02:00 2026")},
		"108": {State: runner.StateFailed, Message: "PBS could not run the job (Exit_status -1)", Time: at("Wed Nov 25 13:03:00 2026")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseFinal (-want +got):\n%s", diff)
	}
	recs, _ := parseFull(readTestdata(t, "qstat-f.txt"))
	if v := recs[0].attrs["Variable_List"]; v != "PBS_O_HOME=/home/alice,PBS_O_LANG=C.UTF-8,PBS_O_LOGNAME=alice,PBS_O_PATH=/usr/local/bin:/usr/bin:/bin,PBS_O_SHELL=/bin/bash,PBS_O_WORKDIR=/home/alice,PBS_O_SYSTEM=Linux,PBS_O_QUEUE=workq" {
		t.Errorf("continued value = %q", v)
	}
}

func TestPartitions(t *testing.T) {
	queues, err := parseQueues(readTestdata(t, "qstat-Q.txt"))
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := parseNodes(readTestdata(t, "pbsnodes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := partitions(queues, nodes)
	want := []runner.Partition{
		{Name: "long", NodesTotal: 1, NodesUsed: 1, CoresTotal: 16, CoresUsed: 16, MemoryTotalGB: 64},
		{Name: "workq", NodesTotal: 2, NodesUsed: 1, CoresTotal: 16, CoresUsed: 2, MemoryTotalGB: 64, MemoryUsedGB: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partitions (-want +got):\n%s", diff)
	}
}

func TestParsersRejectGarbage(t *testing.T) {
	garbage := []string{
		"Connection refused\nqstat: cannot connect to server pbs01 (errno=111)\n",
		"<html>proxy error</html>\n",
		"1.pbs01 name user 00:00:00 Z workq\n",
		"Job Id: x.pbs\n    job_state = F\n",
		"    orphan = 1\n",
	}
	parsers := map[string]func([]byte) error{
		"qstat":    func(b []byte) error { _, err := parseQstat(b); return err },
		"qstat -f": func(b []byte) error { _, err := parseFinal(b); return err },
		"qstat -Q": func(b []byte) error { _, err := parseQueues(b); return err },
		"qselect":  func(b []byte) error { _, err := parseQselect(b); return err },
	}
	for name, parse := range parsers {
		for _, g := range garbage {
			if err := parse([]byte(g)); !errors.Is(err, cluster.ErrOutput) {
				t.Errorf("%s(%q) = %v, want ErrOutput", name, g, err)
			}
		}
	}
}

func FuzzParseQstat(f *testing.F) {
	f.Add(readTestdata(f, "qstat.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseQstat(b)
		if err != nil {
			return
		}
		for id, s := range st {
			if !cluster.Digits(id) || s.State == "" {
				t.Fatalf("parsed %q into %q %+v", b, id, s)
			}
		}
	})
}

func FuzzParseFinal(f *testing.F) {
	f.Add(readTestdata(f, "qstat-f.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ends, err := parseFinal(b)
		if err != nil {
			return
		}
		for id, e := range ends {
			if !e.State.Terminal() || (e.State == runner.StateCompleted && (e.ExitCode == nil || *e.ExitCode != 0)) {
				t.Fatalf("parsed %q: job %s %+v", b, id, e)
			}
		}
	})
}

func FuzzParseNodes(f *testing.F) {
	f.Add(readTestdata(f, "pbsnodes.txt"), readTestdata(f, "qstat-Q.txt"))
	f.Fuzz(func(t *testing.T, nb, qb []byte) {
		nodes, err1 := parseNodes(nb)
		queues, err2 := parseQueues(qb)
		if err1 != nil || err2 != nil {
			return
		}
		for _, p := range partitions(queues, nodes) {
			if p.NodesUsed > p.NodesTotal {
				t.Fatalf("partition %+v", p)
			}
		}
	})
}

func FuzzParseQselect(f *testing.F) {
	f.Add([]byte("1.pbs01\n22.pbs01\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := parseQselect(b)
		if err != nil {
			return
		}
		for _, id := range ids {
			if !cluster.Digits(seq(id)) {
				t.Fatalf("parsed %q into %q", b, id)
			}
		}
	})
}

func FuzzParseQsub(f *testing.F) {
	f.Add([]byte("123.pbs01\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if id, err := parseQsub(b); err == nil && !cluster.Digits(seq(id)) {
			t.Fatalf("parsed %q into %q", b, id)
		}
	})
}
