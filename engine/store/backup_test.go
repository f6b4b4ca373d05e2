package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

// A backup taken while submissions go at full speed is one consistent
// snapshot: every job acknowledged before it began is in it, every job in
// it is exactly as the live database has it (at that moment), its counts
// and search index are exact; Restore puts it in place and it opens.
func TestBackupWhileSubmitting(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	var (
		stop    atomic.Bool
		mu      sync.Mutex
		acked   []string
		wg      sync.WaitGroup
		started = make(chan struct{})
		once    sync.Once
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("B_%d_%d", w, i)
				if _, err := s.JobInsert(ctx, storetest.Params(id)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				n := len(acked)
				mu.Unlock()
				if n == 2000 {
					once.Do(func() { close(started) })
				}
			}
		}()
	}
	<-started
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	dst := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	duringEnd := len(acked)
	mu.Unlock()
	stop.Store(true)
	wg.Wait()
	t.Logf("backup taken with %d jobs acknowledged before it and %d by its end", len(before), duringEnd)
	if duringEnd == len(before) {
		t.Error("no submission committed while the backup ran: it held the writer")
	}
	if err := s.Backup(ctx, dst); err == nil {
		t.Error("a second backup overwrote an existing file")
	}

	// (The copy's search index may lag its newest jobs, as the live one
	// does: Open catches up, and openAt's cleanup checks the index.)
	jobs, err := CheckBackup(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "simjobs.db")
	n, kept, err := Restore(ctx, dst, restored)
	if err != nil || n != jobs || kept != "" {
		t.Fatalf("Restore: %d jobs, kept %q, %v; want %d", n, kept, err, jobs)
	}
	b := openAt(t, restored)
	for _, id := range before {
		if _, err := b.JobGet(ctx, id); err != nil {
			t.Fatalf("job %s acknowledged before the backup is not in it: %v", id, err)
		}
	}
	all, err := b.JobList(ctx, engine.JobListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != jobs {
		t.Errorf("restored database lists %d jobs, CheckBackup counted %d", len(all), jobs)
	}
	for _, j := range all {
		live, err := s.JobGet(ctx, j.ID)
		if err != nil {
			t.Fatalf("job %s in the backup is not in the database: %v", j.ID, err)
		}
		if j, err = b.JobGet(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(live, j); diff != "" {
			t.Fatalf("job %s differs (-live +backup):\n%s", j.ID, diff)
		}
	}
	storetest.CheckCounts(t, b, "restored backup")
	// The restored database continues the sequence.
	if _, err := b.JobInsert(ctx, storetest.Params("AFTER_RESTORE")); err != nil {
		t.Fatal(err)
	}

	// A second restore keeps the database it replaces.
	b.Close()
	if _, kept, err := Restore(ctx, dst, restored); err != nil || kept == "" {
		t.Errorf("restore over a database: kept %q, %v", kept, err)
	}
	if _, err := openAt(t, restored).JobGet(ctx, before[0]); err != nil {
		t.Error(err)
	}
}
