package store

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store/storetest"
)

// Fixtures: testdata/schema-vN.db is a small database at schema version N,
// holding the jobs fixtureJobs describes. They are committed and made by
//
//	go test -run TestMigrationFixtures ./engine/store/ -update
//
// which writes one per version from the migrations themselves: the rows
// are written at version 1 with version 1's columns (later migrations only
// add, so those inserts stay valid), then migrations[1:N] are applied, as
// an installation upgraded step by step would have them. Adding a migration
// needs only a new fixture: run the command above and commit the new file.
var update = flag.Bool("update", false, "write the schema fixtures under testdata/")

func fixturePath(version int) string {
	return filepath.Join("testdata", fmt.Sprintf("schema-v%d.db", version))
}

// fixtureTime is the fixtures' clock (fixed: the files are reproducible).
var fixtureTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// The fixture's jobs: one completed, one failed with an earlier attempt,
// one queued, one running.
var fixtureJobs = []struct {
	id, user, status, project string
	attempt                   int
	rc                        any
}{
	{"FIX_DONE", "alice", "completed", "/proj/a.aedt", 1, 0},
	{"FIX_AGAIN", "bob", "failed", "/proj/b.aedt", 2, 3},
	{"FIX_WAITING", "alice", "queued", "/proj/c.aedt", 1, nil},
	{"FIX_RUNNING", "carol", "running", "/proj/d.aedt", 1, nil},
}

// writeFixture makes the schema-version fixture at path.
func writeFixture(ctx context.Context, path string, version int) error {
	os.Remove(path)
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		if err == nil {
			_, err = db.ExecContext(ctx, q, args...)
		}
	}
	exec(migrations[0])
	ns := func(d time.Duration) int64 { return fixtureTime.Add(d).UnixNano() }
	seq := int64(1)
	for i, j := range fixtureJobs {
		first := seq
		var start, end any
		if j.status != "queued" {
			start = ns(time.Duration(i)*time.Minute + time.Second)
		}
		if j.status == "completed" || j.status == "failed" {
			end = ns(time.Duration(i)*time.Minute + time.Hour)
		}
		if j.attempt == 2 {
			// The earlier attempt, archived as JobInsert does.
			exec(`INSERT INTO attempts (id, attempt, seq, user, priority, status, kind, config, project_path,
				submit_time, start_time, end_time, return_code, error)
				VALUES (?, 1, ?, ?, 0, 'failed', 'hfss', ?, ?, ?, ?, ?, 1, 'first try')`,
				j.id, seq, j.user, `{"project_path":"`+j.project+`"}`, j.project, ns(0), ns(time.Second), ns(time.Minute))
			exec(`INSERT INTO transitions (job_id, attempt, status, time, message) VALUES (?, 1, 'failed', ?, 'first try')`, j.id, ns(time.Minute))
			seq++
		}
		exec(`INSERT INTO jobs (first_seq, id, seq, attempt, user, priority, status, kind, config, project_path,
			submit_time, start_time, end_time, return_code, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'hfss', ?, ?, ?, ?, ?, ?, '')`,
			first, j.id, seq, j.attempt, j.user, i, j.status, `{"project_path":"`+j.project+`"}`, j.project,
			ns(time.Duration(i)*time.Minute), start, end, j.rc)
		exec(`INSERT INTO transitions (job_id, attempt, status, time, message) VALUES (?, ?, ?, ?, 'fixture')`, j.id, j.attempt, j.status, ns(time.Duration(i)*time.Minute))
		// Version 1 indexed search text in step with every write.
		exec(`INSERT INTO jobs_search (rowid, id, user, project_path) VALUES (?, ?, ?, ?)`, first, j.id, j.user, j.project)
		seq++
	}
	exec(`UPDATE meta SET value = ? WHERE key = 'next_seq'`, seq)
	exec(`PRAGMA user_version = 1`)
	for v := 1; v < version; v++ {
		exec(migrations[v])
		exec(fmt.Sprintf("PRAGMA user_version = %d", v+1))
	}
	exec("VACUUM")
	return err
}

// Every schema version ever released opens: the migrations bring it to
// the current one and the jobs, attempts, transitions, counts and search
// come through whole.
func TestMigrationFixtures(t *testing.T) {
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		for v := 1; v <= len(migrations); v++ {
			if err := writeFixture(t.Context(), fixturePath(v), v); err != nil {
				t.Fatalf("write %s: %v", fixturePath(v), err)
			}
		}
	}
	for v := 1; v <= len(migrations); v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			src, err := os.ReadFile(fixturePath(v))
			if err != nil {
				t.Fatalf("no fixture for schema version %d (%v): run go test -run TestMigrationFixtures ./engine/store/ -update and commit it", v, err)
			}
			path := filepath.Join(t.TempDir(), "simjobs.db")
			if err := os.WriteFile(path, src, 0o644); err != nil {
				t.Fatal(err)
			}
			var got int
			db, _ := sql.Open("sqlite", path)
			if err := db.QueryRow("PRAGMA user_version").Scan(&got); err != nil || got != v {
				t.Fatalf("fixture %s is at version %d (%v), want %d", fixturePath(v), got, err, v)
			}
			db.Close()

			s := openAt(t, path)
			ctx := t.Context()
			if err := s.wconn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&got); err != nil || got != schemaVersion {
				t.Fatalf("after Open: version %d (%v), want %d", got, err, schemaVersion)
			}
			for _, want := range fixtureJobs {
				j, err := s.JobGet(ctx, want.id)
				if err != nil {
					t.Fatalf("%s: %v", want.id, err)
				}
				if string(j.Status) != want.status || j.User != want.user || j.Attempt != want.attempt {
					t.Errorf("%s: %s %s attempt %d, want %s %s attempt %d", want.id, j.Status, j.User, j.Attempt, want.status, want.user, want.attempt)
				}
				found, err := s.JobList(ctx, engine.JobListParams{Search: want.project})
				if err != nil || len(found) != 1 || found[0].ID != want.id {
					t.Errorf("search %q: %v %v", want.project, storetest.IDs(found), err)
				}
			}
			if a, err := s.AttemptList(ctx, "FIX_AGAIN"); err != nil || len(a) != 2 {
				t.Errorf("attempts of FIX_AGAIN: %d (%v), want 2", len(a), err)
			}
			storetest.CheckCounts(t, s, "after the migration")
			// The migrated database takes new work: a new job, a new attempt
			// of an old one, and retention.
			if _, err := s.JobInsert(ctx, storetest.Params("NEW_AFTER_MIGRATION")); err != nil {
				t.Fatal(err)
			}
			if j, err := s.JobInsert(ctx, storetest.Params("FIX_DONE")); err != nil || j.Attempt != 2 {
				t.Fatalf("resubmit FIX_DONE: attempt %d, %v", j.Attempt, err)
			}
			ids, err := s.JobPrune(ctx, engine.JobPruneParams{EndedBefore: fixtureTime.Add(24 * time.Hour), Limit: 10})
			if err != nil || len(ids) != 1 || ids[0] != "FIX_AGAIN" {
				t.Errorf("prune after the migration: %v %v, want [FIX_AGAIN]", ids, err)
			}
			if err := s.flushSearch(ctx); err != nil {
				t.Fatal(err)
			}
			storetest.CheckCounts(t, s, "after new work")
		})
	}
}
