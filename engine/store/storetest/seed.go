package storetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/simjobs/simjobs/engine"
)

// seedVersion names the data set SeedJob makes: change it whenever SeedJob
// changes, so cached seeds of the old set are not reused.
const seedVersion = 1

// SeedActive is how many of a seed's newest jobs are still in the system
// (queued, running, scheduled or pending); the rest have ended.
const SeedActive = 1000

// SeedProjects are the projects a seed's jobs solve, in turn: searching for
// one finds a fifth of the jobs.
var SeedProjects = []string{"antenna", "connector", "package", "pcb_stackup", "filter"}

// SeedUsers is how many users a seed's jobs belong to, in turn
// (user000, user001, ...).
const SeedUsers = 100

// SeedID is the id of a seed's job i.
func SeedID(i int) string { return fmt.Sprintf("JOB_%07d", i) }

// SeedJob is job i of a seed of n jobs: a realistic mix for a busy shared
// server. Of every thousand ended jobs 850 completed, 100 failed and 50
// were cancelled; the SeedActive newest are queued, running, scheduled or
// pending (in turn: two queued of every five). Each job carries a full
// PyEDB HFSS configuration (about 900 bytes of JSON, its own job id in
// it), one submission a second from 2024-01-01, an hour's solve each.
func SeedJob(i, n int) engine.Job {
	var status engine.Status
	switch k := i % 1000; {
	case i >= n-SeedActive:
		status = []engine.Status{engine.StatusQueued, engine.StatusQueued, engine.StatusRunning,
			engine.StatusScheduled, engine.StatusPending}[i%5]
	case k < 100:
		status = engine.StatusFailed
	case k < 150:
		status = engine.StatusCancelled
	default:
		status = engine.StatusCompleted
	}
	id, user := SeedID(i), fmt.Sprintf("user%03d", i%SeedUsers)
	submit := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	j := engine.Job{
		ID: id, User: user, Priority: i%4 - 1, Status: status, Kind: engine.KindHFSS, Attempt: 1,
		Config:     seedConfig(id, user, SeedProjects[i%len(SeedProjects)]),
		SubmitTime: submit,
	}
	if status.Terminal() || status == engine.StatusRunning {
		start := submit.Add(time.Second)
		j.StartTime = &start
	}
	if status.Terminal() {
		end, rc := submit.Add(time.Hour), 0
		j.EndTime = &end
		switch status {
		case engine.StatusFailed:
			rc, j.Error = 1, "exit status 1"
		case engine.StatusCancelled:
			rc, j.Error = -1, "cancelled by "+user
		}
		j.ReturnCode = &rc
	}
	if status == engine.StatusScheduled {
		sched := fmt.Sprint(100000 + i)
		j.SchedulerJobID = &sched
	}
	return j
}

// SeedJobs yields SeedJob(i, n) for i from 0 to n-1.
func SeedJobs(n int) iter.Seq[engine.Job] {
	return func(yield func(engine.Job) bool) {
		for i := range n {
			if !yield(SeedJob(i, n)) {
				return
			}
		}
	}
}

// seedConfig is a PyEDB HFSSSimulationConfig as the engine stores it.
func seedConfig(id, user, project string) []byte {
	return []byte(`{"ansys_edt_path":"/opt/AnsysEM/v252/Linux64/ansysedt","solver":"Hfss3DLayout",` +
		`"jobid":"` + id + `","user":"` + user + `","distributed":true,` +
		`"machine_nodes":[{"hostname":"localhost","cores":-1,"max_cores":20,"utilization":90}],` +
		`"auto":false,"non_graphical":true,"monitor":true,"layout_options":{"create_starting_mesh":false,` +
		`"default_process_priority":"Normal","enable_gpu":false,"mpi_vendor":"Intel","mpi_version":"Default",` +
		`"remote_spawn_command":"Scheduler","solve_adaptive_only":false,"validate_only":false,"temp_directory":""},` +
		`"project_path":"/data/projects/` + project + `.aedb","design_name":"","design_mode":"","setup_name":"",` +
		`"scheduler_type":"none","scheduler_options":{"queue":"default","time":"24:00:00","nodes":1,` +
		`"tasks_per_node":1,"cores_per_node":0,"memory":"4GB","account":"","reservation":"","qos":"",` +
		`"constraints":"","exclusive":false,"gpus":0,"gpu_type":"","priority":"Normal",` +
		`"email_notification":"","run_as_administrator":false}}`)
}

// Seeder is a store that takes job records in bulk (store.SQLite).
type Seeder interface {
	JobImport(ctx context.Context, jobs iter.Seq[engine.Job]) (int, error)
	Close() error
}

// SeedOpener opens the store whose database file is path, creating it.
type SeedOpener func(ctx context.Context, path string) (Seeder, error)

// Seed creates the database at path (which must not exist) holding the n
// jobs of SeedJobs, written through the store's own JobImport, and closes
// it.
func Seed(ctx context.Context, path string, n int, open SeedOpener) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("seed %s: the file exists (or cannot be checked: %v)", path, err)
	}
	s, err := open(ctx, path)
	if err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	got, err := s.JobImport(ctx, SeedJobs(n))
	if err == nil && got != n {
		err = fmt.Errorf("imported %d jobs, want %d", got, n)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	return nil
}

// SeedCached returns the path of a database holding the n jobs of
// SeedJobs, seeding it the first time. Seeding a million jobs takes a
// minute or two, so the file is kept in os.TempDir ($TMPDIR) and reused:
// its name holds the schema version (schema, from the store) and the data
// set's version, so neither a schema migration nor a change to SeedJob is
// served a stale file. Callers that write must copy the file (CopyFile).
func SeedCached(ctx context.Context, n, schema int, open SeedOpener) (path string, seeded time.Duration, err error) {
	path = filepath.Join(os.TempDir(), fmt.Sprintf("simjobs-seed-s%d-d%d-%d.db", schema, seedVersion, n))
	if _, err := os.Stat(path); err == nil {
		return path, 0, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", 0, err
	}
	start := time.Now()
	// Seeded and closed (so checkpointed into one file) before it gets its
	// name: a run killed while seeding leaves no half-filled cache, and two
	// runs seeding at once each rename a complete file.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	os.Remove(tmp)
	if err := Seed(ctx, tmp, n, open); err != nil {
		removeDB(tmp)
		return "", 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		removeDB(tmp)
		return "", 0, err
	}
	removeDB(tmp) // the -wal and -shm left, if any
	return path, time.Since(start), nil
}

// removeDB removes a database file and its WAL and shared-memory files.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// CopyFile copies the database file src to dst (a new file), for a test
// that writes to a cached seed.
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
