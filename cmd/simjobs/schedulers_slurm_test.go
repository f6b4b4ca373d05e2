//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/runner/cluster/clustertest"
)

// TestSLURMStateChangeLatency is the benchmark: simjobs serve
// hands two jobs to the real SLURM, and the REST API is read every 25 ms.
// The jobs write the moment they start and end (what SLURM records as
// RUNNING and as the end); the API must show each change within one poll
// interval (at most PollMax, 10 s) plus one second.
func TestSLURMStateChangeLatency(t *testing.T) {
	clustertest.RequireSLURM(t)
	t.Parallel()
	stateChangeLatency(t, "slurm")
}

// stateChangeLatency is the latency test against scheduler.
func stateChangeLatency(t *testing.T, scheduler string) {
	dataDir := t.TempDir()
	p := start(t, dataDir, "--scheduler", scheduler, "--allow-exec", "/bin/sh")
	if _, st := p.get(t, "/system/status"); st["mode"] == nil {
		t.Logf("status: %v", st)
	}
	type run struct {
		id                   string
		secs                 int
		startAt, endAt       time.Time // from the job itself
		seenRunning, seenEnd time.Time // from the API
	}
	runs := []*run{{id: "lat_short", secs: 2}, {id: "lat_long", secs: 14}}
	for _, r := range runs {
		script := "date +%s.%N > " + filepath.Join(dataDir, r.id+".start") + "; sleep " + strconv.Itoa(r.secs) +
			"; date +%s.%N > " + filepath.Join(dataDir, r.id+".end") + "; exit 3"
		code, body := p.post(t, "/jobs/submit", map[string]any{"config": map[string]any{"jobid": r.id, "command": []string{"/bin/sh", "-c", script}}})
		if code != 200 {
			t.Fatalf("submit %s: %d %v", r.id, code, body)
		}
	}
	waitScheduler(t, p.logs, func() error {
		done := true
		for _, r := range runs {
			if !r.seenEnd.IsZero() {
				continue
			}
			done = false
			_, j := p.get(t, "/jobs/"+r.id)
			now := time.Now()
			switch j["status"] {
			case "running":
				if r.seenRunning.IsZero() {
					r.seenRunning = now
				}
			case "failed", "completed", "cancelled":
				if r.seenRunning.IsZero() {
					r.seenRunning = now
				}
				r.seenEnd = now
				if j["status"] != "failed" || j["return_code"] != float64(3) || j["scheduler_job_id"] == nil {
					t.Errorf("%s ended %v", r.id, j)
				}
			}
		}
		if !done {
			return errors.New("jobs did not end")
		}
		return nil
	})
	const bound = 10*time.Second + time.Second // PollMax + 1 s
	for _, r := range runs {
		r.startAt, r.endAt = stamp(t, dataDir, r.id+".start"), stamp(t, dataDir, r.id+".end")
		startLag, endLag := r.seenRunning.Sub(r.startAt), r.seenEnd.Sub(r.endAt)
		t.Logf("%s (%ds): running shown %v after the job started, end shown %v after it ended", r.id, r.secs, startLag.Round(time.Millisecond), endLag.Round(time.Millisecond))
		if startLag > bound || endLag > bound {
			t.Errorf("%s: a change took more than %v to show", r.id, bound)
		}
	}
}

// stamp reads a "date +%s.%N" file a job wrote.
func stamp(t *testing.T, dir, name string) time.Time {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		t.Fatal(err)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}
