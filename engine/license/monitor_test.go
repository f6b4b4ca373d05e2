package license_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/enginetest"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/runner/cluster"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/runner/pbs"
	"github.com/simjobs/simjobs/engine/store"
	"github.com/simjobs/simjobs/testdata/fakelmutil"
	"github.com/simjobs/simjobs/testdata/fakesched"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// testMap: a plain command run through env(1) needs one solver seat.
const testMap = `{"replace_defaults": true, "commands": {"env": {"features": {"hfss_solve": 1}}}}`

// rig is a monitor on the fake lmutil, and (with a manager) the engine it gates.
type rig struct {
	fake    fakelmutil.Dir
	mon     *license.Monitor
	m       *engine.Manager
	reports chan license.Report
	envExe  string
	record  string
	// pbsState is the fake PBS's state directory (cluster rigs).
	pbsState string

	mu   sync.Mutex
	last license.Report
}

type rigOpts struct {
	every   time.Duration
	timeout time.Duration
	manager bool
	limits  engine.Limits
	// cluster hands the jobs to a fake PBS; the gate judges them before
	// submission (--license-gate-cluster).
	cluster bool
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	r := &rig{fake: fakelmutil.New(t), reports: make(chan license.Report, 64)}
	if o.every == 0 {
		o.every = time.Hour // polls happen when the test asks (PollNow)
	}
	lm, err := license.ParseMap([]byte(testMap))
	if err != nil {
		t.Fatal(err)
	}
	var mgr *engine.Manager
	r.mon, err = license.New(license.Options{
		Servers: []string{"1055@licsrv"}, LMUtil: fakelmutil.Path(), Every: o.every, Timeout: o.timeout,
		Map: &lm, Env: []string{r.fake.Env()}, Location: time.UTC, GateCluster: o.cluster,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnChange: func(rep license.Report) {
			if mgr != nil {
				mgr.Recheck()
			}
			r.mu.Lock()
			r.last = rep
			r.mu.Unlock()
			select {
			case r.reports <- rep:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.manager {
		mgr = r.manager(t, o.limits, o.cluster)
		r.m = mgr
	}
	return r
}

func (r *rig) manager(t *testing.T, limits engine.Limits, onCluster bool) *engine.Manager {
	t.Helper()
	envExe, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env(1) on PATH:", err)
	}
	r.envExe = envExe
	dir := t.TempDir()
	r.record = filepath.Join(dir, "record.txt")
	mode := "none"
	var sched runner.Runner
	if onCluster {
		mode = "pbs"
		r.pbsState = t.TempDir()
		sched = pbs.New(pbs.Options{Dir: fakesched.Dir("pbs"), Env: []string{fakesched.EnvDir + "=" + r.pbsState},
			Runner: cluster.Options{Instance: strconv.FormatInt(time.Now().UnixNano(), 36), PollMin: 50 * time.Millisecond, PollMax: 200 * time.Millisecond, LostAfter: 10 * time.Second}})
	}
	policy, err := engine.NewPolicy(fakesolver.Path(), []string{envExe}, nil, mode)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "simjobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if limits == (engine.Limits{}) {
		limits = engine.Limits{MaxConcurrentJobs: 4, MaxCPUPercent: 100, MinMemoryGB: 0, MinDiskGB: 0}
	}
	m, err := engine.New(context.Background(), engine.Options{
		Store: st, Runner: local.New(local.Options{KillGrace: time.Second}), Cluster: sched,
		Telemetry: host.NewFakeSource(host.Sample{CPUPercent: 1, MemoryFreeGB: 64, MemoryTotalGB: 128, DiskFreeGB: 500}),
		Policy:    policy, Limits: limits, DataDir: dir, ProgressEvery: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gates:  []engine.Gate{r.mon},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

func (r *rig) start(t *testing.T) license.Report {
	t.Helper()
	r.mon.Start(context.Background())
	t.Cleanup(r.mon.Stop)
	return r.next(t)
}

// next waits for the next report.
func (r *rig) next(t *testing.T) license.Report {
	t.Helper()
	select {
	case rep := <-r.reports:
		return rep
	case <-time.After(30 * time.Second):
		t.Fatal("no license report")
	}
	return license.Report{}
}

// poll polls now and waits for its report.
func (r *rig) poll(t *testing.T) license.Report {
	t.Helper()
	for len(r.reports) > 0 {
		<-r.reports
	}
	r.mon.PollNow()
	return r.next(t)
}

func (r *rig) submit(t *testing.T, id string, env ...string) error {
	t.Helper()
	argv := append([]string{r.envExe, fakesolver.EnvRecord + "=" + r.record}, env...)
	argv = append(argv, fakesolver.Path(), "--job", id)
	js, _ := json.Marshal(engine.CommandConfig{Command: argv, JobID: id})
	_, err := r.m.Submit(context.Background(), engine.SubmitRequest{Config: js})
	return err
}

// waitJob waits until the job's record satisfies ok. It looks again at
// every event and, since a gate's hold announces nothing, every 50 ms.
func (r *rig) waitJob(t *testing.T, id string, ok func(engine.Job) bool) engine.Job {
	t.Helper()
	sub := r.m.Events().Subscribe(-1, 1024)
	defer sub.Close()
	var j engine.Job
	enginetest.WaitOn(t, sub.C, func() error {
		var err error
		if j, err = r.m.Job(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if !ok(j) {
			return fmt.Errorf("job %s stayed %s (waiting %q); report %+v", id, j.Status, j.WaitingReason, r.mon.Report())
		}
		return nil
	})
	return j
}

func feature(t *testing.T, rep license.Report, name string) license.FeatureUse {
	t.Helper()
	for _, f := range rep.Features {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no feature %s in %+v", name, rep.Features)
	return license.FeatureUse{}
}

func TestMonitorReportsWhatLmstatSays(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{})
	r.fake.SetCounts(t, "electronics_desktop 10 alice:ws1:1 bob:ws2:1", "anshpc 64 alice:ws1:16", "elec_solve_hfss 4")
	rep := r.start(t)
	if rep.Error != "" || rep.SampledAt == nil || len(rep.Servers) != 1 || rep.Servers[0] != "1055@licsrv" {
		t.Fatalf("report = %+v", rep)
	}
	if len(rep.Status) != 1 || !rep.Status[0].Up || len(rep.Status[0].Vendors) != 1 || rep.Status[0].Vendors[0].Name != "ansyslmd" {
		t.Errorf("server status = %+v", rep.Status)
	}
	ed := feature(t, rep, "electronics_desktop")
	if ed.Total != 10 || ed.InUse != 2 || ed.Free != 8 || len(ed.Users) != 2 || ed.Users[0].User != "alice" || ed.Users[0].Host != "ws1" || ed.Users[0].Since == nil {
		t.Errorf("electronics_desktop = %+v", ed)
	}
	if f := feature(t, rep, "anshpc"); f.InUse != 16 || f.Users[0].Seats != 16 {
		t.Errorf("anshpc = %+v", f)
	}
	if f := feature(t, rep, "elec_solve_hfss"); f.InUse != 0 || len(f.Users) != 0 {
		t.Errorf("feature without users = %+v", f)
	}

	// The next poll sees the counts the test changed.
	r.fake.SetCounts(t, "electronics_desktop 10")
	rep = r.poll(t)
	if f := feature(t, rep, "electronics_desktop"); f.InUse != 0 || len(rep.Features) != 1 {
		t.Errorf("after the change: %+v", rep.Features)
	}
	hist := r.mon.History(time.Now().Add(-time.Hour))
	if len(hist) == 0 || hist[len(hist)-1].Total["electronics_desktop"] != 10 {
		t.Errorf("history = %+v", hist)
	}
}

func TestMonitorFailuresAreReported(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{timeout: 300 * time.Millisecond})
	r.fake.SetCounts(t, "hfss_solve 1")
	r.fake.SetDown(t, true)
	rep := r.start(t)
	if !strings.Contains(rep.Error, "1055@licsrv: Cannot connect to license server system") || rep.Status[0].Up || len(rep.Features) != 0 {
		t.Errorf("down: %+v", rep)
	}
	if r.mon.Healthy() {
		t.Error("Healthy with the server down")
	}
	r.fake.SetDown(t, false)
	r.fake.SetFail(t, "lmutil: error while loading shared libraries: liblmgr.so")
	if rep := r.poll(t); !strings.Contains(rep.Error, "exited with status 127: lmutil: error while loading shared libraries") {
		t.Errorf("lmutil failing: %q", rep.Error)
	}
	r.fake.SetFail(t, "")
	r.fake.SetHang(t, true)
	if rep := r.poll(t); !strings.Contains(rep.Error, "timed out after 300ms") {
		t.Errorf("lmutil hanging: %q", rep.Error)
	}
	r.fake.SetHang(t, false)
	if rep := r.poll(t); rep.Error != "" || !r.mon.Healthy() || len(rep.Features) != 1 {
		t.Errorf("mended: %+v", rep)
	}
}

func TestNewRefusesBadServers(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"licsrv", "1055@", "-c@x", "1055@host;rm -rf /", "1055@host name"} {
		if _, err := license.New(license.Options{Servers: []string{s}}); err == nil {
			t.Errorf("New accepted server %q", s)
		}
	}
	if _, err := license.New(license.Options{Servers: []string{"1055@licsrv", "@lic2.example.com"}}); err != nil {
		t.Error(err)
	}
}

func TestGateHoldsWhileShortAndStartsWhenASeatFrees(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{manager: true})
	r.fake.SetCounts(t, "hfss_solve 1 alice:ws1:1")
	r.start(t)
	if err := r.submit(t, "held", fakesolver.EnvSleep+"=0"); err != nil {
		t.Fatal(err)
	}
	j := r.waitJob(t, "held", func(j engine.Job) bool { return j.WaitingReason != "" })
	if j.Status != engine.StatusQueued || j.WaitingReason != "waiting for license hfss_solve: needs 1 seat, 0 of 1 free" {
		t.Fatalf("held = %s %q", j.Status, j.WaitingReason)
	}
	// Another poll with the seat still taken changes nothing.
	r.poll(t)
	if j, _ := r.m.Job(context.Background(), "held"); j.Status != engine.StatusQueued {
		t.Fatalf("started with no seat free: %s", j.Status)
	}
	// alice's solve ends: the poll that sees it starts the job.
	r.fake.SetCounts(t, "hfss_solve 1")
	r.poll(t)
	if j := r.waitJob(t, "held", func(j engine.Job) bool { return j.Status.Terminal() }); j.Status != engine.StatusCompleted || j.WaitingReason != "" {
		t.Fatalf("after the seat freed: %s %q %s", j.Status, j.WaitingReason, j.Error)
	}
}

func TestGateReservationKeepsTheLastSeatForOneJob(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{manager: true})
	r.fake.SetCounts(t, "hfss_solve 2 alice:ws1:1")
	r.start(t)
	if err := r.submit(t, "first", fakesolver.EnvSleep+"=30"); err != nil {
		t.Fatal(err)
	}
	r.waitJob(t, "first", func(j engine.Job) bool { return j.Status == engine.StatusRunning })
	if err := r.submit(t, "second", fakesolver.EnvSleep+"=0"); err != nil {
		t.Fatal(err)
	}
	// The fake solver never checks a seat out: lmstat still says 1 free,
	// but that seat is first's.
	j := r.waitJob(t, "second", func(j engine.Job) bool { return j.WaitingReason != "" })
	want := "waiting for license hfss_solve: needs 1 seat, 0 of 2 free (1 seat reserved for jobs just started)"
	if j.Status != engine.StatusQueued || j.WaitingReason != want {
		t.Fatalf("second = %s %q, want queued %q", j.Status, j.WaitingReason, want)
	}
	if f := feature(t, r.mon.Report(), "hfss_solve"); f.Reserved != 1 || f.Free != 0 {
		t.Errorf("report: reserved %d free %d, want 1 and 0", f.Reserved, f.Free)
	}
	r.poll(t)
	if j, _ := r.m.Job(context.Background(), "second"); j.Status != engine.StatusQueued {
		t.Fatalf("second took the reserved seat: %s", j.Status)
	}
	// first ends: its reservation goes with it and second starts.
	if res, err := r.m.Cancel(context.Background(), "first", "test"); err != nil || !res.Cancelled {
		t.Fatalf("cancel first = %+v, %v", res, err)
	}
	if j := r.waitJob(t, "second", func(j engine.Job) bool { return j.Status.Terminal() }); j.Status != engine.StatusCompleted {
		t.Fatalf("second: %s %s", j.Status, j.Error)
	}
}

func TestGateReservationLapsesAfterAPollInterval(t *testing.T) {
	t.Parallel()
	// A poll interval of 2s: first's reservation stops counting 2s after it
	// started, and second starts then, with no poll and nothing freed.
	r := newRig(t, rigOpts{manager: true, every: 2 * time.Second})
	r.fake.SetCounts(t, "hfss_solve 2 alice:ws1:1")
	r.start(t)
	if err := r.submit(t, "first", fakesolver.EnvSleep+"=30"); err != nil {
		t.Fatal(err)
	}
	r.waitJob(t, "first", func(j engine.Job) bool { return j.Status == engine.StatusRunning })
	if err := r.submit(t, "second", fakesolver.EnvSleep+"=0"); err != nil {
		t.Fatal(err)
	}
	r.waitJob(t, "second", func(j engine.Job) bool { return strings.Contains(j.WaitingReason, "reserved") })
	r.waitJob(t, "second", func(j engine.Job) bool { return j.Status == engine.StatusCompleted })
	r.m.Cancel(context.Background(), "first", "test")
}

func TestGateLmutilFailureDoesNotBlock(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{manager: true})
	r.fake.SetCounts(t, "hfss_solve 1 alice:ws1:1")
	r.fake.SetFail(t, "lmutil: cannot execute binary file")
	if rep := r.start(t); rep.Error == "" {
		t.Fatal("no error reported")
	}
	if err := r.submit(t, "runs", fakesolver.EnvSleep+"=0"); err != nil {
		t.Fatal(err)
	}
	if j := r.waitJob(t, "runs", func(j engine.Job) bool { return j.Status.Terminal() }); j.Status != engine.StatusCompleted {
		t.Fatalf("runs: %s %q", j.Status, j.WaitingReason)
	}
}

func TestGateRefusesWhatCanNeverStart(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{manager: true})
	r.fake.SetCounts(t, "hfss_solve 0")
	r.start(t)
	err := r.submit(t, "never")
	var ve *engine.ValidationError
	if !errors.As(err, &ve) || ve.Field != "command[0]" || !strings.Contains(ve.Message, "needs 1 seat of license feature hfss_solve, but the license servers issue only 0") {
		t.Fatalf("submit = %v", err)
	}
	if _, err := r.m.Job(context.Background(), "never"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("the refused job was stored: %v", err)
	}
}

func TestGateLeavesClusterJobsUnlessAsked(t *testing.T) {
	t.Parallel()
	lm := license.DefaultMap()
	cfg, _ := json.Marshal(map[string]any{"solver": "Hfss3DLayout", "scheduler_options": map[string]any{"nodes": 1, "cores_per_node": 4}})
	job := engine.GateJob{ID: "c", Attempt: 1, Kind: engine.KindHFSS, Cluster: true, Config: cfg}
	fake := fakelmutil.New(t)
	fake.SetCounts(t, "electronics_desktop 1 alice:ws1:1")
	for _, gateCluster := range []bool{false, true} {
		reports := make(chan license.Report, 4)
		mon, err := license.New(license.Options{Servers: []string{"1055@licsrv"}, LMUtil: fakelmutil.Path(), Every: time.Hour, Map: &lm,
			Env: []string{fake.Env()}, GateCluster: gateCluster, OnChange: func(r license.Report) { reports <- r },
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		mon.Start(context.Background())
		<-reports
		reason := mon.Hold(job)
		mon.Stop()
		if (reason != "") != gateCluster {
			t.Errorf("GateCluster %v: Hold = %q", gateCluster, reason)
		}
	}
}

// With --license-gate-cluster a scheduler job waits as pending, before
// qsub, until its seats are free.
func TestGateHoldsClusterJobsBeforeSubmission(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOpts{manager: true, cluster: true})
	r.fake.SetCounts(t, "hfss_solve 1 alice:ws1:1")
	r.start(t)
	if err := r.submit(t, "onpbs", fakesolver.EnvSleep+"=0"); err != nil {
		t.Fatal(err)
	}
	j := r.waitJob(t, "onpbs", func(j engine.Job) bool { return j.WaitingReason != "" })
	if j.Status != engine.StatusPending || j.WaitingReason != "waiting for license hfss_solve: needs 1 seat, 0 of 1 free" || j.SchedulerJobID != nil {
		t.Fatalf("onpbs = %s %q %v", j.Status, j.WaitingReason, j.SchedulerJobID)
	}
	calls, _ := fakesched.Calls(r.pbsState)
	if n := fakesched.Count(calls, "qsub"); n != 0 {
		t.Fatalf("qsub ran %d times for a job short of its license", n)
	}
	r.fake.SetCounts(t, "hfss_solve 1")
	r.poll(t)
	if j := r.waitJob(t, "onpbs", func(j engine.Job) bool { return j.Status.Terminal() }); j.Status != engine.StatusCompleted || j.SchedulerJobID == nil {
		t.Fatalf("onpbs: %s %s", j.Status, j.Error)
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
