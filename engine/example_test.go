package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/runner/local"
	"github.com/simjobs/simjobs/engine/store"
)

// The engine without the HTTP layer: a manager with its limits and store,
// a job submitted with a priority, its events, its end, and a drain.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "simjobs-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := store.Open(ctx, filepath.Join(dir, "simjobs.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	// Jobs may run the HFSS solver (none here) and these executables.
	policy, err := engine.NewPolicy("", []string{"echo"}, nil, "none")
	if err != nil {
		log.Fatal(err)
	}
	m, err := engine.New(ctx, engine.Options{
		Store:   st,
		Runner:  local.New(local.Options{KillGrace: 5 * time.Second}),
		Policy:  policy,
		Limits:  engine.Limits{MaxConcurrentJobs: 2, MaxCPUPercent: 100},
		DataDir: dir,
	})
	if err != nil {
		log.Fatal(err)
	}
	events := m.Events().Subscribe(-1, 16)

	cfg, _ := json.Marshal(engine.CommandConfig{Command: []string{"echo", "solved"}, JobID: "example_1"})
	res, err := m.Submit(ctx, engine.SubmitRequest{Config: cfg, Priority: 5})
	if err != nil {
		log.Fatal(err)
	}
	job, err := m.Wait(ctx, res.JobID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.ID, job.Status, *job.ReturnCode)
	for ev := range events.C {
		fmt.Println(ev.Name)
		if ev.Name == engine.EventJobCompleted {
			break
		}
	}
	out, _ := os.ReadFile(mustLogPath(m, job))
	fmt.Print(string(out))

	// Drain: nothing new starts; running jobs finish. Then close.
	if err := m.Drain(ctx); err != nil {
		fmt.Println(err)
	}
	m.Close(ctx)
	// Output:
	// example_1 completed 0
	// job_queued
	// job_started
	// job_completed
	// solved
}

func mustLogPath(m *engine.Manager, j engine.Job) string {
	p, err := m.LogPath(j.ID, j.Attempt, "stdout")
	if err != nil {
		panic(err)
	}
	return p
}
