package lsf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

func ip(n int) *int { return &n }

func TestParseBsub(t *testing.T) {
	for _, tt := range []struct{ out, want string }{
		{"Job <1234> is submitted to queue <normal>.\n", "1234"},
		{"Job <7> is submitted to default queue <normal>.\n", "7"},
		{"Warning: job being submitted without an AFS token.\nJob <99> is submitted to queue <short>.\n", "99"},
	} {
		if got, err := parseBsub([]byte(tt.out)); err != nil || got != tt.want {
			t.Errorf("parseBsub(%q) = %q, %v; want %q", tt.out, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "nosuch: No such queue. Job not submitted.\n", "Job <x> is submitted to queue <normal>.\n", "123.server\n"} {
		if _, err := parseBsub([]byte(bad)); !errors.Is(err, cluster.ErrOutput) {
			t.Errorf("parseBsub(%q) = %v, want ErrOutput", bad, err)
		}
	}
}

func TestParseBjobs(t *testing.T) {
	got, err := parseBjobs(readTestdata(t, "bjobs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.Status{
		"1201": {State: runner.StateScheduled, Detail: "PEND"},
		"1202": {State: runner.StateRunning, Detail: "RUN"},
		"1203": {State: runner.StateCompleted, Detail: "DONE", End: &cluster.End{State: runner.StateCompleted, ExitCode: ip(0)}},
		"1204": {State: runner.StateFailed, Detail: "EXIT", End: &cluster.End{State: runner.StateFailed, ExitCode: ip(3), Message: "exit code 3"}},
		"1205": {State: runner.StateFailed, Detail: "EXIT", End: &cluster.End{State: runner.StateFailed, Message: "LSF state EXIT"}},
		"1206": {State: runner.StateRunning, Detail: "USUSP"},
		"1207": {State: runner.StateScheduled, Detail: "PSUSP"},
		"1208": {State: runner.StateFailed, Detail: "EXIT", End: &cluster.End{State: runner.StateFailed, ExitCode: ip(130), Message: "exit code 130"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseBjobs (-want +got):\n%s", diff)
	}
}

func TestNoJobs(t *testing.T) {
	for _, s := range []string{"No job found\n", "No unfinished job found\n", "Job <simjobs.k.a.1> is not found\n", "Job <12> is not found\nJob <13> is not found\n"} {
		if !noJobs(s) {
			t.Errorf("noJobs(%q) = false", s)
		}
	}
	for _, s := range []string{"LSF is down; try later\n", "bjobs: Failed in an LSF library call: Slave LIM configuration is not ready yet\n"} {
		if noJobs(s) {
			t.Errorf("noJobs(%q) = true: a failure read as an empty answer", s)
		}
	}
}

func TestPartitions(t *testing.T) {
	qs, err := parseBqueues(readTestdata(t, "bqueues-l.txt"))
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := parseHosts(readTestdata(t, "bhosts-w.txt"), readTestdata(t, "lshosts-w.txt"), readTestdata(t, "lsload-w.txt"))
	if err != nil {
		t.Fatal(err)
	}
	groups, err := parseBmgroup(readTestdata(t, "bmgroup-w.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := partitions(qs, hosts, groups)
	want := []runner.Partition{
		{Name: "gpu", NodesTotal: 2, NodesUsed: 1, CoresTotal: 24, CoresUsed: 8, MemoryTotalGB: 95.8, MemoryUsedGB: 16},
		{Name: "normal", NodesTotal: 2, NodesUsed: 1, CoresTotal: 24, CoresUsed: 8, MemoryTotalGB: 95.8, MemoryUsedGB: 16},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("partitions (-want +got):\n%s", diff)
	}
}

func TestParsersRejectGarbage(t *testing.T) {
	garbage := []string{
		"LSF is down. Please wait ...\n",
		"<html>proxy error</html>\n",
		"12|DANCE|-\n",
		"12|EXIT|x\n",
	}
	parsers := map[string]func([]byte) error{
		"bjobs":   func(b []byte) error { _, err := parseBjobs(b); return err },
		"bqueues": func(b []byte) error { _, err := parseBqueues(b); return err },
		"bhosts":  func(b []byte) error { _, err := parseHosts(b, b, b); return err },
	}
	for name, parse := range parsers {
		for _, g := range garbage {
			if err := parse([]byte(g)); !errors.Is(err, cluster.ErrOutput) {
				t.Errorf("%s(%q) = %v, want ErrOutput", name, g, err)
			}
		}
	}
}

func FuzzParseBjobs(f *testing.F) {
	f.Add(readTestdata(f, "bjobs.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseBjobs(b)
		if err != nil {
			return
		}
		for id, s := range st {
			if !cluster.Digits(id) || (s.State.Terminal() != (s.End != nil)) {
				t.Fatalf("parsed %q into %q %+v", b, id, s)
			}
			if s.End != nil && s.End.State == runner.StateCompleted && (s.End.ExitCode == nil || *s.End.ExitCode != 0) {
				t.Fatalf("parsed %q: %q completed with %v", b, id, s.End.ExitCode)
			}
		}
	})
}

func FuzzParseBsub(f *testing.F) {
	f.Add([]byte("Job <1234> is submitted to queue <normal>.\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if id, err := parseBsub(b); err == nil && !cluster.Digits(id) {
			t.Fatalf("parsed %q into %q", b, id)
		}
	})
}

func FuzzPartitions(f *testing.F) {
	f.Add(readTestdata(f, "bqueues-l.txt"), readTestdata(f, "bhosts-w.txt"), readTestdata(f, "lshosts-w.txt"), readTestdata(f, "lsload-w.txt"), readTestdata(f, "bmgroup-w.txt"))
	f.Fuzz(func(t *testing.T, q, bh, lh, ll, g []byte) {
		qs, err1 := parseBqueues(q)
		hosts, err2 := parseHosts(bh, lh, ll)
		groups, err3 := parseBmgroup(g)
		if err1 != nil || err2 != nil || err3 != nil {
			return
		}
		for _, p := range partitions(qs, hosts, groups) {
			if p.NodesUsed > p.NodesTotal || p.CoresUsed > p.CoresTotal || p.MemoryUsedGB > p.MemoryTotalGB+1e-9 {
				t.Fatalf("partition %+v", p)
			}
		}
	})
}
