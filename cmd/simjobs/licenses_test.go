//go:build unix

package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/testdata/fakelmutil"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// lmutilFor writes a wrapper that runs the fake lmutil on fake's state: the
// server passes its own environment to lmutil, not the test's.
func lmutilFor(t *testing.T, fake fakelmutil.Dir) string {
	t.Helper()
	w := filepath.Join(t.TempDir(), "lmutil")
	script := "#!/bin/sh\n" + fake.Env() + " exec " + fakelmutil.Path() + ` "$@"` + "\n"
	if err := os.WriteFile(w, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// waitFor polls get until ok holds.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	enginetest.WaitFor(t, what, ok)
}

func TestServeGatesOnLicenses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fake := fakelmutil.New(t)
	fake.SetCounts(t, "hfss_solve 1 alice:ws1:1", "anshpc 16")
	licMap := filepath.Join(dir, "licenses.json")
	os.WriteFile(licMap, []byte(`{"commands": {"env": {"features": {"hfss_solve": 1}}, "fake-solver": {"features": {"hfss_solve": 2}}}}`), 0o644)
	p := start(t, dir, "--allow-exec=env,"+fakesolver.Path(), "--max-concurrent", "2",
		"--license-server", "1055@licsrv", "--lmutil", lmutilFor(t, fake), "--license-poll", "1s", "--license-map", licMap)

	var rep map[string]any
	waitFor(t, "the first license poll", func() bool {
		_, rep = p.get(t, "/api/licenses")
		return rep["sampled_at"] != nil
	})
	if rep["error"] != "" || len(rep["features"].([]any)) != 2 {
		t.Fatalf("licenses = %v", rep)
	}
	f := rep["features"].([]any)[1].(map[string]any)
	if f["name"] != "hfss_solve" || f["in_use"] != 1.0 || f["total"] != 1.0 || f["users"].([]any)[0].(map[string]any)["user"] != "alice" {
		t.Fatalf("hfss_solve = %v", f)
	}

	// More seats than exist: refused, naming the field.
	code, r := p.post(t, "/jobs/submit", map[string]any{"config": map[string]any{"jobid": "never", "command": []string{fakesolver.Path()}}})
	if code != 400 || !strings.Contains(r["error"].(string), "command[0]: needs 2 seats of license feature hfss_solve, but the license servers issue only 1") {
		t.Fatalf("submit never: %d %v", code, r)
	}

	if code, r := p.post(t, "/jobs/submit", sleeper("lic", "0")); code != 200 {
		t.Fatalf("submit: %d %v", code, r)
	}
	var job map[string]any
	waitFor(t, "the license wait", func() bool {
		_, job = p.get(t, "/jobs/lic")
		return strings.HasPrefix(job["waiting_reason"].(string), "waiting for license")
	})
	if job["status"] != "queued" || job["waiting_reason"] != "waiting for license hfss_solve: needs 1 seat, 0 of 1 free" {
		t.Fatalf("job = %v", job)
	}

	// alice's seat comes back: the next poll starts the job.
	fake.SetCounts(t, "hfss_solve 1", "anshpc 16")
	p.waitStatus(t, "lic", "completed")

	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `simjobs_license_seats_total{feature="hfss_solve"} 1`) || !strings.Contains(string(b), `simjobs_license_server_up{server="1055@licsrv"} 1`) {
		t.Errorf("metrics lack the license gauges:\n%s", b)
	}

	// lmutil failing: shown, and the queue runs on.
	fake.SetCounts(t, "hfss_solve 1 alice:ws1:1")
	fake.SetFail(t, "lmutil: cannot open shared object file")
	var st map[string]any
	waitFor(t, "the failure in /system/status", func() bool {
		_, st = p.get(t, "/system/status")
		l, _ := st["licenses"].(map[string]any)
		return l != nil && l["ok"] == false
	})
	if l := st["licenses"].(map[string]any); !strings.Contains(l["error"].(string), "cannot open shared object file") {
		t.Errorf("status licenses = %v", l)
	}
	p.post(t, "/jobs/submit", sleeper("despite", "0"))
	p.waitStatus(t, "despite", "completed")
}

func TestServeRefusesABadLicenseMap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "map.json")
	os.WriteFile(bad, []byte(`{"solvers": {"Hfss": {"features": {"anshpc": -2}}}}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--license-server", "1055@licsrv", "--lmutil", fakelmutil.Path(), "--license-map", bad}, "solvers.Hfss.features.anshpc: must be a whole number of seats"},
		{[]string{"--license-server", "licsrv"}, `--license-server: license server "licsrv" is not port@host`},
		{[]string{"--license-server", "1055@licsrv", "--lmutil", filepath.Join(dir, "no-lmutil")}, "--lmutil"},
		{[]string{"--license-map", bad}, "need --license-server"},
	} {
		cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--scheduler", "none", "--reaper=false"}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("serve %v: %v\n%s\nwant %q", tc.args, err, out, tc.want)
		}
	}
}
