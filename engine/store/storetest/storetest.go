// Package storetest is the conformance suite every engine.Store passes.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine"
)

// RunSuite checks that an engine.Store honours the contract documented on
// the interface. open must return a new, empty store for each call and
// arrange for it to be closed when t ends; closing it earlier must be
// harmless. Subtests run in parallel, each with its own store.
//
// Semantics the interface leaves open and the suite pins down:
//   - JobList returns a non-nil empty slice when nothing matches;
//   - Search matches a substring case-insensitively, with % and _ literal;
//   - a Config or Progress that is absent or JSON null reads back as nil;
//   - times read back in UTC with nanosecond precision;
//   - TransitionList and AttemptList of an unknown id are ErrNotFound;
//   - JobCountByStatus may omit statuses whose count is zero.
func RunSuite(t *testing.T, open func(t *testing.T) engine.Store) {
	t.Helper()
	for _, tt := range []struct {
		name string
		test func(t *testing.T, s engine.Store)
	}{
		{"JobInsertNew", suiteJobInsertNew},
		{"JobInsertInvalid", suiteJobInsertInvalid},
		{"JobInsertActive", suiteJobInsertActive},
		{"JobInsertNewAttempt", suiteJobInsertNewAttempt},
		{"JobGetNotFound", suiteJobGetNotFound},
		{"JobUpdateFields", suiteJobUpdateFields},
		{"JobUpdateGuards", suiteJobUpdateGuards},
		{"JobUpdateProgressClear", suiteJobUpdateProgressClear},
		{"JobList", suiteJobList},
		{"JobListKeyset", suiteJobListKeyset},
		{"JobCountByStatus", suiteJobCountByStatus},
		{"JobListActive", suiteJobListActive},
		{"Transitions", suiteTransitions},
		{"Audit", suiteAudit},
		{"SeqGrows", suiteSeqGrows},
		{"CancelledContext", suiteCancelledContext},
		{"AfterClose", suiteAfterClose},
		{"ConcurrentInsert", suiteConcurrentInsert},
		{"ConcurrentInsertSameID", suiteConcurrentInsertSameID},
		{"ConcurrentUpdateGuard", suiteConcurrentUpdateGuard},
		{"SweepInsert", suiteSweepInsert},
		{"SweepInsertAllOrNothing", suiteSweepInsertAllOrNothing},
		{"SweepList", suiteSweepList},
		{"Plans", suitePlans},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, open(t))
		})
	}
}

// suiteT0 has a zone and nanoseconds, to check both survive as UTC.
var suiteT0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

// Params is an insert of a queued command job with the given id.
func Params(id string) engine.JobInsertParams {
	return engine.JobInsertParams{
		ID:         id,
		User:       "alice",
		Status:     engine.StatusQueued,
		Kind:       engine.KindHFSS,
		Config:     json.RawMessage(`{"jobid":"` + id + `","project_path":"/projects/` + id + `.aedt"}`),
		SubmitTime: suiteT0,
		Message:    "submitted",
	}
}

// Insert stores p and fails the test on error.
func Insert(t *testing.T, s engine.Store, p engine.JobInsertParams) engine.Job {
	t.Helper()
	j, err := s.JobInsert(t.Context(), p)
	if err != nil {
		t.Fatalf("JobInsert(%s): %v", p.ID, err)
	}
	return j
}

// Update applies p and fails the test on error.
func Update(t *testing.T, s engine.Store, p engine.JobUpdateParams) {
	t.Helper()
	if err := s.JobUpdate(t.Context(), p); err != nil {
		t.Fatalf("JobUpdate(%s → %s): %v", p.ID, p.Status, err)
	}
}

// Get reads a job and fails the test on error.
func Get(t *testing.T, s engine.Store, id string) engine.Job {
	t.Helper()
	j, err := s.JobGet(t.Context(), id)
	if err != nil {
		t.Fatalf("JobGet(%s): %v", id, err)
	}
	return j
}

// Finish moves a job through running to a terminal status.
func Finish(t *testing.T, s engine.Store, j engine.Job, to engine.Status) {
	t.Helper()
	if j.Status != engine.StatusRunning {
		Update(t, s, engine.JobUpdateParams{ID: j.ID, Attempt: j.Attempt, Status: engine.StatusRunning, Time: suiteT0})
	}
	Update(t, s, engine.JobUpdateParams{ID: j.ID, Attempt: j.Attempt, Status: to, Time: suiteT0})
}

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }

// IDs lists the ids of jobs, in order.
func IDs(jobs []engine.Job) []string {
	out := []string{}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func suiteJobInsertNew(t *testing.T, s engine.Store) {
	p := Params("JOB_1")
	p.Priority = -3
	p.User = "bob"
	got := Insert(t, s, p)
	want := engine.Job{
		ID:         "JOB_1",
		User:       "bob",
		Priority:   -3,
		Status:     engine.StatusQueued,
		Config:     p.Config,
		SubmitTime: suiteT0,
		Attempt:    1,
		Seq:        got.Seq,
		Kind:       engine.KindHFSS,
	}
	if got.Seq <= 0 {
		t.Errorf("JobInsert: Seq = %d, want > 0", got.Seq)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JobInsert (-want +got):\n%s", diff)
	}
	stored := Get(t, s, "JOB_1")
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("JobGet (-want +got):\n%s", diff)
	}
	if loc := stored.SubmitTime.Location(); loc != time.UTC {
		t.Errorf("JobGet: SubmitTime in %v, want UTC", loc)
	}

	// A plain command job without config and without a submit time.
	before := time.Now()
	cmdJob := Insert(t, s, engine.JobInsertParams{ID: "JOB_2", Status: engine.StatusPending, Kind: engine.KindCommand})
	stored = Get(t, s, "JOB_2")
	if stored.Config != nil {
		t.Errorf("JobGet: Config = %q, want nil", stored.Config)
	}
	if stored.SubmitTime.Before(before.Add(-time.Second)) || !stored.SubmitTime.Equal(cmdJob.SubmitTime) {
		t.Errorf("JobGet: SubmitTime = %v, want now (%v) as returned by JobInsert (%v)", stored.SubmitTime, before, cmdJob.SubmitTime)
	}
	if stored.Kind != engine.KindCommand || stored.Status != engine.StatusPending {
		t.Errorf("JobGet: kind %q status %q, want command pending", stored.Kind, stored.Status)
	}
}

func suiteJobInsertInvalid(t *testing.T, s engine.Store) {
	for _, tt := range []struct {
		name string
		edit func(p *engine.JobInsertParams)
	}{
		{"empty id", func(p *engine.JobInsertParams) { p.ID = "" }},
		{"unknown status", func(p *engine.JobInsertParams) { p.Status = "bogus" }},
		{"empty status", func(p *engine.JobInsertParams) { p.Status = "" }},
		{"config not JSON", func(p *engine.JobInsertParams) { p.Config = json.RawMessage("{") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Params("JOB_X")
			tt.edit(&p)
			if _, err := s.JobInsert(t.Context(), p); err == nil {
				t.Fatal("JobInsert succeeded, want an error")
			}
			if _, err := s.JobGet(t.Context(), "JOB_X"); !errors.Is(err, engine.ErrNotFound) {
				t.Errorf("JobGet after failed insert: %v, want ErrNotFound", err)
			}
		})
	}
}

func suiteJobInsertActive(t *testing.T, s engine.Store) {
	for _, st := range []engine.Status{engine.StatusPending, engine.StatusQueued, engine.StatusScheduled, engine.StatusRunning} {
		t.Run(string(st), func(t *testing.T) {
			id := "JOB_" + string(st)
			p := Params(id)
			p.Status = engine.StatusPending
			j := Insert(t, s, p)
			if st != engine.StatusPending {
				Update(t, s, engine.JobUpdateParams{ID: id, Attempt: 1, Status: st, Time: suiteT0})
			}
			want := Get(t, s, id)
			trBefore, err := s.TransitionList(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}

			again := p
			again.Priority = 9
			again.Message = "again"
			got, err := s.JobInsert(t.Context(), again)
			if !errors.Is(err, engine.ErrJobActive) {
				t.Fatalf("second JobInsert: err = %v, want ErrJobActive", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("second JobInsert returned (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, Get(t, s, id)); diff != "" {
				t.Errorf("job changed by refused insert (-want +got):\n%s", diff)
			}
			trAfter, err := s.TransitionList(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(trBefore, trAfter); diff != "" {
				t.Errorf("transitions changed by refused insert (-want +got):\n%s", diff)
			}
			if attempts, err := s.AttemptList(t.Context(), id); err != nil || len(attempts) != 1 {
				t.Errorf("AttemptList = %d attempts, %v; want 1", len(attempts), err)
			}
			if j.Attempt != 1 {
				t.Errorf("first attempt = %d, want 1", j.Attempt)
			}
		})
	}
}

func suiteJobInsertNewAttempt(t *testing.T, s engine.Store) {
	for _, st := range []engine.Status{engine.StatusCompleted, engine.StatusFailed, engine.StatusCancelled} {
		t.Run(string(st), func(t *testing.T) {
			id := "JOB_" + string(st)
			first := Insert(t, s, Params(id))
			other := Insert(t, s, Params(id+"_other"))
			start, end := suiteT0.Add(time.Second), suiteT0.Add(time.Hour+time.Nanosecond)
			Update(t, s, engine.JobUpdateParams{
				ID: id, Attempt: 1, Status: engine.StatusRunning, Time: start,
				StartTime: &start, Process: &engine.ProcessRef{PID: 4242, StartTime: 1 << 40},
				SchedulerJobID: Ptr("777"), Progress: json.RawMessage(`{"pass":3}`),
			})
			Update(t, s, engine.JobUpdateParams{
				ID: id, Attempt: 1, Status: st, Time: end,
				EndTime: &end, ReturnCode: Ptr(3), Error: Ptr("solver crashed"),
			})
			wantFirst := Get(t, s, id)

			p := Params(id)
			p.Priority = 5
			p.User = "carol"
			p.Config = json.RawMessage(`{"jobid":"` + id + `","project_path":"/projects/v2.aedb"}`)
			p.SubmitTime = suiteT0.Add(2 * time.Hour)
			p.Message = "resubmitted"
			second := Insert(t, s, p)
			want := engine.Job{
				ID: id, User: "carol", Priority: 5, Status: engine.StatusQueued, Config: p.Config,
				SubmitTime: p.SubmitTime, Attempt: 2, Seq: second.Seq, Kind: engine.KindHFSS,
			}
			if diff := cmp.Diff(want, second); diff != "" {
				t.Errorf("JobInsert of attempt 2 (-want +got):\n%s", diff)
			}
			if second.Seq <= other.Seq || second.Seq <= first.Seq {
				t.Errorf("attempt 2 Seq = %d, want above every earlier seq (%d, %d)", second.Seq, first.Seq, other.Seq)
			}
			if diff := cmp.Diff(want, Get(t, s, id)); diff != "" {
				t.Errorf("JobGet after attempt 2 (-want +got):\n%s", diff)
			}
			attempts, err := s.AttemptList(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]engine.Job{wantFirst, want}, attempts); diff != "" {
				t.Errorf("AttemptList (-want +got):\n%s", diff)
			}
			// The job keeps its place in the listing: it was submitted first.
			list, err := s.JobList(t.Context(), engine.JobListParams{Search: id})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{id, id + "_other"}, IDs(list)); diff != "" {
				t.Errorf("JobList order (-want +got):\n%s", diff)
			}
			// An update naming the archived attempt is stale.
			err = s.JobUpdate(t.Context(), engine.JobUpdateParams{ID: id, Attempt: 1, Priority: Ptr(1)})
			if !errors.Is(err, engine.ErrStale) {
				t.Errorf("JobUpdate of attempt 1: %v, want ErrStale", err)
			}
		})
	}
}

func suiteJobGetNotFound(t *testing.T, s engine.Store) {
	Insert(t, s, Params("JOB_1"))
	if _, err := s.JobGet(t.Context(), "JOB_2"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("JobGet: %v, want ErrNotFound", err)
	}
	if _, err := s.AttemptList(t.Context(), "JOB_2"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("AttemptList: %v, want ErrNotFound", err)
	}
	if _, err := s.TransitionList(t.Context(), "JOB_2"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("TransitionList: %v, want ErrNotFound", err)
	}
	err := s.JobUpdate(t.Context(), engine.JobUpdateParams{ID: "JOB_2", Attempt: 1, Status: engine.StatusRunning})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("JobUpdate: %v, want ErrNotFound", err)
	}
}

// suiteJobUpdateFields sets each field alone and checks that it, and only
// it, changed.
func suiteJobUpdateFields(t *testing.T, s engine.Store) {
	start, end := suiteT0.Add(time.Minute), suiteT0.Add(time.Hour)
	for _, tt := range []struct {
		name string
		p    engine.JobUpdateParams
		edit func(j *engine.Job)
	}{
		{"nothing", engine.JobUpdateParams{}, func(j *engine.Job) {}},
		{"status", engine.JobUpdateParams{Status: engine.StatusRunning}, func(j *engine.Job) { j.Status = engine.StatusRunning }},
		{"priority", engine.JobUpdateParams{Priority: Ptr(7)}, func(j *engine.Job) { j.Priority = 7 }},
		{"priority zero", engine.JobUpdateParams{Priority: Ptr(0)}, func(j *engine.Job) { j.Priority = 0 }},
		{"start time", engine.JobUpdateParams{StartTime: &start}, func(j *engine.Job) { j.StartTime = &start }},
		{"end time", engine.JobUpdateParams{EndTime: &end}, func(j *engine.Job) { j.EndTime = &end }},
		{"return code", engine.JobUpdateParams{ReturnCode: Ptr(-9)}, func(j *engine.Job) { j.ReturnCode = Ptr(-9) }},
		{"return code zero", engine.JobUpdateParams{ReturnCode: Ptr(0)}, func(j *engine.Job) { j.ReturnCode = Ptr(0) }},
		{"error", engine.JobUpdateParams{Error: Ptr("out of licences")}, func(j *engine.Job) { j.Error = "out of licences" }},
		{"scheduler id", engine.JobUpdateParams{SchedulerJobID: Ptr("12345")}, func(j *engine.Job) { j.SchedulerJobID = Ptr("12345") }},
		{"process", engine.JobUpdateParams{Process: &engine.ProcessRef{PID: 99, StartTime: 1<<63 + 5}},
			func(j *engine.Job) { j.Process = &engine.ProcessRef{PID: 99, StartTime: 1<<63 + 5} }},
		{"progress", engine.JobUpdateParams{Progress: json.RawMessage(`{"pass":2,"delta_s":0.01}`)},
			func(j *engine.Job) { j.Progress = json.RawMessage(`{"pass":2,"delta_s":0.01}`) }},
		{"everything", engine.JobUpdateParams{
			Status: engine.StatusFailed, Priority: Ptr(-1), StartTime: &start, EndTime: &end,
			ReturnCode: Ptr(1), Error: Ptr("boom"), SchedulerJobID: Ptr("8"),
			Process: &engine.ProcessRef{PID: 1}, Progress: json.RawMessage(`[1]`),
		}, func(j *engine.Job) {
			j.Status, j.Priority, j.StartTime, j.EndTime = engine.StatusFailed, -1, &start, &end
			j.ReturnCode, j.Error, j.SchedulerJobID = Ptr(1), "boom", Ptr("8")
			j.Process, j.Progress = &engine.ProcessRef{PID: 1}, json.RawMessage(`[1]`)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := "JOB_" + tt.name
			p := Params(id)
			p.Priority = 3
			want := Insert(t, s, p)
			// Give the fields values first, so "untouched" is observable.
			if tt.name != "nothing" {
				Update(t, s, engine.JobUpdateParams{ID: id, Attempt: 1, Error: Ptr("earlier"), ReturnCode: Ptr(2)})
				want.Error, want.ReturnCode = "earlier", Ptr(2)
			}
			tt.edit(&want)
			u := tt.p
			u.ID, u.Attempt = id, 1
			Update(t, s, u)
			if diff := cmp.Diff(want, Get(t, s, id)); diff != "" {
				t.Errorf("JobGet after update (-want +got):\n%s", diff)
			}
		})
	}
}

func suiteJobUpdateGuards(t *testing.T, s engine.Store) {
	j := Insert(t, s, Params("JOB_1"))
	for _, tt := range []struct {
		name string
		p    engine.JobUpdateParams
		want error
	}{
		{"wrong attempt", engine.JobUpdateParams{ID: "JOB_1", Attempt: 2, Priority: Ptr(1)}, engine.ErrStale},
		{"attempt zero", engine.JobUpdateParams{ID: "JOB_1", Priority: Ptr(1)}, engine.ErrStale},
		{"wrong from-status", engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, FromStatus: engine.StatusRunning, Status: engine.StatusCompleted}, engine.ErrStale},
		{"unknown id", engine.JobUpdateParams{ID: "JOB_2", Attempt: 1, Priority: Ptr(1)}, engine.ErrNotFound},
		{"unknown status", engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Status: "bogus"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.JobUpdate(t.Context(), tt.p)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("JobUpdate: %v, want an error wrapping %v", err, tt.want)
			}
		})
	}
	if diff := cmp.Diff(j, Get(t, s, "JOB_1")); diff != "" {
		t.Errorf("job changed by refused updates (-want +got):\n%s", diff)
	}
	// The right from-status passes.
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, FromStatus: engine.StatusQueued, Status: engine.StatusRunning})
	if got := Get(t, s, "JOB_1").Status; got != engine.StatusRunning {
		t.Errorf("status = %s, want running", got)
	}
}

func suiteJobUpdateProgressClear(t *testing.T, s engine.Store) {
	Insert(t, s, Params("JOB_1"))
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Progress: json.RawMessage(`{"pass":1}`)})
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Priority: Ptr(2)})
	if got := Get(t, s, "JOB_1").Progress; string(got) != `{"pass":1}` {
		t.Errorf("Progress after unrelated update = %s, want {\"pass\":1}", got)
	}
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Progress: json.RawMessage(`null`)})
	if got := Get(t, s, "JOB_1").Progress; got != nil {
		t.Errorf("Progress after null = %s, want nil", got)
	}
	err := s.JobUpdate(t.Context(), engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Progress: json.RawMessage(`{`)})
	if err == nil {
		t.Error("JobUpdate with invalid progress JSON succeeded")
	}
}

// SeedList stores ten jobs j01..j10 in that order (see the table in
// suiteJobList) and returns the seq of each one's first attempt.
func SeedList(t *testing.T, s engine.Store) map[string]int64 {
	t.Helper()
	first := map[string]int64{}
	for _, j := range []struct {
		id, user, project string
		status            engine.Status
	}{
		{"j01", "alice", "/p/Alpha.aedt", engine.StatusQueued},
		{"j02", "bob", "/p/beta.aedb", engine.StatusRunning},
		{"j03", "alice", "/p/gamma_1.aedt", engine.StatusCompleted},
		{"j04", "carol", "/p/delta%.aedt", engine.StatusFailed},
		{"j05", "bob", "/q/epsilon.aedt", engine.StatusQueued},
		{"j06", "alice", "/q/zeta.aedt", engine.StatusCancelled},
		{"j07", "carol", "/q/eta.aedb", engine.StatusScheduled},
		{"j08", "alice", "/q/theta.aedt", engine.StatusCompleted},
		{"j09", "bob", "", engine.StatusPending},
		{"j10", "alice", "/q/iota.aedt", engine.StatusRunning},
	} {
		p := engine.JobInsertParams{ID: j.id, User: j.user, Status: engine.StatusQueued, Kind: engine.KindHFSS,
			Config: json.RawMessage(fmt.Sprintf(`{"project_path":%q}`, j.project)), SubmitTime: suiteT0}
		if j.project == "" {
			p.Kind, p.Config, p.Status = engine.KindCommand, json.RawMessage(`{"command":["siwave"]}`), engine.StatusPending
		}
		first[j.id] = Insert(t, s, p).Seq
		switch j.status {
		case engine.StatusQueued, engine.StatusPending:
		case engine.StatusCompleted, engine.StatusFailed, engine.StatusCancelled:
			Finish(t, s, engine.Job{ID: j.id, Attempt: 1}, j.status)
		default:
			Update(t, s, engine.JobUpdateParams{ID: j.id, Attempt: 1, Status: j.status})
		}
	}
	// j03 runs again, on a new revision of its project: it must stay third
	// in the listing, and be found by its new path only.
	p := Params("j03")
	p.Config = json.RawMessage(`{"project_path":"/p/gamma_2.aedt"}`)
	if j := Insert(t, s, p); j.Seq <= first["j10"] {
		t.Fatalf("j03 attempt 2 Seq = %d, want above j10's %d", j.Seq, first["j10"])
	}
	return first
}

func suiteJobList(t *testing.T, s engine.Store) {
	// After seeding:
	//	j01 alice queued     /p/Alpha.aedt     j06 alice cancelled /q/zeta.aedt
	//	j02 bob   running    /p/beta.aedb      j07 carol scheduled /q/eta.aedb
	//	j03 alice queued(2)  /p/gamma_2.aedt   j08 alice completed /q/theta.aedt
	//	j04 carol failed     /p/delta%.aedt    j09 bob   pending   (command)
	//	j05 bob   queued     /q/epsilon.aedt   j10 alice running   /q/iota.aedt
	first := SeedList(t, s)
	q, r := engine.StatusQueued, engine.StatusRunning
	for _, tt := range []struct {
		name string
		p    engine.JobListParams
		want []string
	}{
		{"all", engine.JobListParams{}, []string{"j01", "j02", "j03", "j04", "j05", "j06", "j07", "j08", "j09", "j10"}},
		{"descending", engine.JobListParams{Descending: true}, []string{"j10", "j09", "j08", "j07", "j06", "j05", "j04", "j03", "j02", "j01"}},
		{"limit", engine.JobListParams{Limit: 3}, []string{"j01", "j02", "j03"}},
		{"limit offset", engine.JobListParams{Limit: 3, Offset: 8}, []string{"j09", "j10"}},
		{"offset only", engine.JobListParams{Offset: 8}, []string{"j09", "j10"}},
		{"offset past end", engine.JobListParams{Limit: 5, Offset: 50}, []string{}},
		{"descending limit offset", engine.JobListParams{Descending: true, Limit: 2, Offset: 1}, []string{"j09", "j08"}},
		{"status", engine.JobListParams{Statuses: []engine.Status{q}}, []string{"j01", "j03", "j05"}},
		{"statuses", engine.JobListParams{Statuses: []engine.Status{q, r}}, []string{"j01", "j02", "j03", "j05", "j10"}},
		{"statuses duplicated limit", engine.JobListParams{Statuses: []engine.Status{r, q, r}, Limit: 4}, []string{"j01", "j02", "j03", "j05"}},
		{"statuses descending page", engine.JobListParams{Statuses: []engine.Status{q, r}, Descending: true, Limit: 2, Offset: 1}, []string{"j05", "j03"}},
		{"terminal", engine.JobListParams{Statuses: []engine.Status{engine.StatusCompleted, engine.StatusFailed, engine.StatusCancelled}}, []string{"j04", "j06", "j08"}},
		{"unknown status", engine.JobListParams{Statuses: []engine.Status{"bogus"}}, []string{}},
		{"user", engine.JobListParams{User: "alice"}, []string{"j01", "j03", "j06", "j08", "j10"}},
		{"user statuses", engine.JobListParams{User: "alice", Statuses: []engine.Status{q, r}}, []string{"j01", "j03", "j10"}},
		{"user statuses limit", engine.JobListParams{User: "alice", Statuses: []engine.Status{q, r}, Limit: 2, Offset: 1}, []string{"j03", "j10"}},
		{"user status descending", engine.JobListParams{User: "alice", Statuses: []engine.Status{r}, Descending: true, Limit: 1}, []string{"j10"}},
		{"unknown user", engine.JobListParams{User: "mallory"}, []string{}},
		{"user is exact", engine.JobListParams{User: "ali"}, []string{}},
		{"search project case", engine.JobListParams{Search: "ALPHA"}, []string{"j01"}},
		{"search id", engine.JobListParams{Search: "j0"}, []string{"j01", "j02", "j03", "j04", "j05", "j06", "j07", "j08", "j09"}},
		{"search user", engine.JobListParams{Search: "bob"}, []string{"j02", "j05", "j09"}},
		{"search percent literal", engine.JobListParams{Search: "%"}, []string{"j04"}},
		{"search underscore literal", engine.JobListParams{Search: "_2"}, []string{"j03"}},
		{"search earlier attempt's path", engine.JobListParams{Search: "gamma_1"}, []string{}},
		{"search current path", engine.JobListParams{Search: "GAMMA_2"}, []string{"j03"}},
		{"search percent inside", engine.JobListParams{Search: "a%.a"}, []string{"j04"}},
		{"search quotes and stars", engine.JobListParams{Search: `a"b*c OR d`}, []string{}},
		{"search path prefix", engine.JobListParams{Search: "/p/"}, []string{"j01", "j02", "j03", "j04"}},
		{"search descending limit", engine.JobListParams{Search: ".aedt", Descending: true, Limit: 2}, []string{"j10", "j08"}},
		{"search after", engine.JobListParams{Search: ".aedt", AfterSeq: first["j04"]}, []string{"j05", "j06", "j08", "j10"}},
		{"search before offset", engine.JobListParams{Search: ".aedt", BeforeSeq: first["j08"], Limit: 2, Offset: 1}, []string{"j03", "j04"}},
		{"search user statuses", engine.JobListParams{Search: ".aedt", User: "alice", Statuses: []engine.Status{q, r}}, []string{"j01", "j03", "j10"}},
		{"search suffix", engine.JobListParams{Search: ".aedb"}, []string{"j02", "j07"}},
		{"search status limit", engine.JobListParams{Search: "q/", Statuses: []engine.Status{q, r}, Limit: 1}, []string{"j05"}},
		{"search no match", engine.JobListParams{Search: "nothing"}, []string{}},
		{"after seq of first attempt", engine.JobListParams{AfterSeq: first["j03"]}, []string{"j04", "j05", "j06", "j07", "j08", "j09", "j10"}},
		{"before seq", engine.JobListParams{BeforeSeq: first["j04"]}, []string{"j01", "j02", "j03"}},
		{"between", engine.JobListParams{AfterSeq: first["j02"], BeforeSeq: first["j06"]}, []string{"j03", "j04", "j05"}},
		{"before descending limit", engine.JobListParams{BeforeSeq: first["j05"], Descending: true, Limit: 2}, []string{"j04", "j03"}},
		{"after status", engine.JobListParams{AfterSeq: first["j01"], Statuses: []engine.Status{q}}, []string{"j03", "j05"}},
		{"after statuses limit", engine.JobListParams{AfterSeq: first["j02"], Statuses: []engine.Status{q, r}, Limit: 3}, []string{"j03", "j05", "j10"}},
		{"after user", engine.JobListParams{AfterSeq: first["j06"], User: "alice"}, []string{"j08", "j10"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.JobList(t.Context(), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("JobList returned nil, want a non-nil slice")
			}
			if diff := cmp.Diff(tt.want, IDs(got)); diff != "" {
				t.Errorf("JobList(%+v) (-want +got):\n%s", tt.p, diff)
			}
			// JobCount ignores limit and offset only.
			all := tt.p
			all.Limit, all.Offset = 0, 0
			wantAll, err := s.JobList(t.Context(), all)
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.JobCount(t.Context(), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(wantAll) {
				t.Errorf("JobCount(%+v) = %d, want %d", tt.p, n, len(wantAll))
			}
		})
	}
	// Listed jobs are the same records JobGet returns, plus their listing
	// key, which is the cursor for the next page.
	list, err := s.JobList(t.Context(), engine.JobListParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range list {
		if j.ListSeq != first[j.ID] {
			t.Errorf("JobList entry %s: ListSeq %d, want its first attempt's seq %d", j.ID, j.ListSeq, first[j.ID])
		}
		want := Get(t, s, j.ID)
		want.ListSeq = j.ListSeq
		if diff := cmp.Diff(want, j); diff != "" {
			t.Errorf("JobList entry %s differs from JobGet (-want +got):\n%s", j.ID, diff)
		}
	}
}

// suiteJobListKeyset pages through the list by listing key, both ways. The
// listing key of a job is the Seq its first attempt was given.
func suiteJobListKeyset(t *testing.T, s engine.Store) {
	first := SeedList(t, s)
	for _, desc := range []bool{false, true} {
		var got []string
		var cursor int64
		for range 20 {
			p := engine.JobListParams{Limit: 3, Descending: desc}
			if desc {
				p.BeforeSeq = cursor
			} else {
				p.AfterSeq = cursor
			}
			page, err := s.JobList(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, IDs(page)...)
			cursor = first[page[len(page)-1].ID]
		}
		want := []string{"j01", "j02", "j03", "j04", "j05", "j06", "j07", "j08", "j09", "j10"}
		if desc {
			slices.Reverse(want)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keyset pages (descending %v) (-want +got):\n%s", desc, diff)
		}
	}
}

// CheckCounts compares JobCountByStatus with a count of JobList.
func CheckCounts(t *testing.T, s engine.Store, step string) {
	t.Helper()
	list, err := s.JobList(t.Context(), engine.JobListParams{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[engine.Status]int{}
	for _, j := range list {
		want[j.Status]++
	}
	got, err := s.JobCountByStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	maps.DeleteFunc(got, func(_ engine.Status, n int) bool { return n == 0 })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: JobCountByStatus (-want +got):\n%s", step, diff)
	}
	for _, st := range engine.Statuses {
		n, err := s.JobCount(t.Context(), engine.JobListParams{Statuses: []engine.Status{st}})
		if err != nil {
			t.Fatal(err)
		}
		if n != want[st] {
			t.Errorf("%s: JobCount(%s) = %d, want %d", step, st, n, want[st])
		}
	}
}

func suiteJobCountByStatus(t *testing.T, s engine.Store) {
	CheckCounts(t, s, "empty")
	for i := range 5 {
		Insert(t, s, Params(fmt.Sprint("JOB_", i)))
	}
	CheckCounts(t, s, "inserted")
	Update(t, s, engine.JobUpdateParams{ID: "JOB_0", Attempt: 1, Status: engine.StatusRunning})
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Status: engine.StatusRunning})
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Status: engine.StatusRunning}) // same status again
	Update(t, s, engine.JobUpdateParams{ID: "JOB_2", Attempt: 1, Priority: Ptr(4)})             // no status
	CheckCounts(t, s, "running")
	Finish(t, s, engine.Job{ID: "JOB_0", Attempt: 1, Status: engine.StatusRunning}, engine.StatusCompleted)
	Finish(t, s, engine.Job{ID: "JOB_3", Attempt: 1}, engine.StatusFailed)
	CheckCounts(t, s, "finished")
	Insert(t, s, Params("JOB_0"))
	Insert(t, s, Params("JOB_3"))
	if _, err := s.JobInsert(t.Context(), Params("JOB_1")); !errors.Is(err, engine.ErrJobActive) {
		t.Fatalf("JobInsert of running job: %v, want ErrJobActive", err)
	}
	CheckCounts(t, s, "new attempts")
	_ = s.JobUpdate(t.Context(), engine.JobUpdateParams{ID: "JOB_0", Attempt: 1, Status: engine.StatusFailed}) // stale
	CheckCounts(t, s, "stale update")
}

func suiteJobListActive(t *testing.T, s engine.Store) {
	a := Insert(t, s, Params("a"))
	Insert(t, s, Params("b"))
	p := Params("c")
	p.Status = engine.StatusPending
	Insert(t, s, p)
	Insert(t, s, Params("d"))
	Finish(t, s, a, engine.StatusCompleted)
	Finish(t, s, engine.Job{ID: "d", Attempt: 1}, engine.StatusCancelled)
	Update(t, s, engine.JobUpdateParams{ID: "b", Attempt: 1, Status: engine.StatusScheduled})
	Insert(t, s, Params("a")) // attempt 2 queues behind b and c
	got, err := s.JobListActive(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "c", "a"}, IDs(got)); diff != "" {
		t.Errorf("JobListActive (-want +got):\n%s", diff)
	}
	if len(got) == 3 && got[2].Attempt != 2 {
		t.Errorf("JobListActive: a is attempt %d, want 2", got[2].Attempt)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Errorf("JobListActive not in Seq order: %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
}

func suiteTransitions(t *testing.T, s engine.Store) {
	t1, t2, t3 := suiteT0.Add(time.Second), suiteT0.Add(2*time.Second), suiteT0.Add(3*time.Second)
	first := Params("JOB_1")
	first.Actor = "alice"
	Insert(t, s, first)
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Status: engine.StatusRunning, Time: t1, Message: "started"})
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Priority: Ptr(1)}) // no transition
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Status: engine.StatusFailed, Time: t2, Message: "exit 1", Actor: "bob"})
	p := Params("JOB_1")
	p.SubmitTime, p.Message, p.Status = t3, "resubmitted", engine.StatusPending
	Insert(t, s, p)
	before := time.Now()
	Update(t, s, engine.JobUpdateParams{ID: "JOB_1", Attempt: 2, Status: engine.StatusScheduled}) // no time: now

	got, err := s.TransitionList(t.Context(), "JOB_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("TransitionList: %d transitions, want 5: %+v", len(got), got)
	}
	if got[4].Time.Before(before.Add(-time.Second)) {
		t.Errorf("transition without a time got %v, want about now (%v)", got[4].Time, before)
	}
	got[4].Time = time.Time{}
	want := []engine.Transition{
		{JobID: "JOB_1", Attempt: 1, Status: engine.StatusQueued, Time: suiteT0, Message: "submitted", Actor: "alice"},
		{JobID: "JOB_1", Attempt: 1, Status: engine.StatusRunning, Time: t1, Message: "started", Actor: engine.SystemActor},
		{JobID: "JOB_1", Attempt: 1, Status: engine.StatusFailed, Time: t2, Message: "exit 1", Actor: "bob"},
		{JobID: "JOB_1", Attempt: 2, Status: engine.StatusPending, Time: t3, Message: "resubmitted", Actor: engine.SystemActor},
		{JobID: "JOB_1", Attempt: 2, Status: engine.StatusScheduled, Actor: engine.SystemActor},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TransitionList (-want +got):\n%s", diff)
	}
	for _, tr := range got[:4] {
		if tr.Time.Location() != time.UTC {
			t.Errorf("transition time %v not in UTC", tr.Time)
		}
	}
}

func suiteSeqGrows(t *testing.T, s engine.Store) {
	var last int64
	for i := range 6 {
		id := fmt.Sprint("JOB_", i%3)
		j, err := s.JobInsert(t.Context(), Params(id))
		if err != nil {
			t.Fatal(err)
		}
		if j.Seq <= last {
			t.Errorf("insert %d: Seq %d after %d, want growing", i, j.Seq, last)
		}
		last = j.Seq
		Finish(t, s, j, engine.StatusCompleted)
	}
	// A refused insert does not disturb the sequence.
	active := Insert(t, s, Params("JOB_active"))
	if _, err := s.JobInsert(t.Context(), Params("JOB_active")); !errors.Is(err, engine.ErrJobActive) {
		t.Fatal(err)
	}
	if j := Insert(t, s, Params("JOB_next")); j.Seq <= active.Seq || active.Seq <= last {
		t.Errorf("Seqs %d, %d after %d, want growing", active.Seq, j.Seq, last)
	}
}

func suiteCancelledContext(t *testing.T, s engine.Store) {
	Insert(t, s, Params("JOB_1"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, call := range Calls(ctx, s) {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with cancelled context: %v, want context.Canceled", name, err)
		}
	}
	if _, err := s.JobGet(t.Context(), "JOB_2"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("JobInsert with cancelled context stored the job: JobGet = %v", err)
	}
	if j := Get(t, s, "JOB_1"); j.Status != engine.StatusQueued {
		t.Errorf("JobUpdate with cancelled context changed status to %s", j.Status)
	}
}

// Calls calls every method but Close, for the tests that expect each
// to fail the same way.
func Calls(ctx context.Context, s engine.Store) map[string]func() error {
	return map[string]func() error{
		"JobInsert": func() error { _, err := s.JobInsert(ctx, Params("JOB_2")); return err },
		"JobGet":    func() error { _, err := s.JobGet(ctx, "JOB_1"); return err },
		"JobList":   func() error { _, err := s.JobList(ctx, engine.JobListParams{}); return err },
		"JobCount":  func() error { _, err := s.JobCount(ctx, engine.JobListParams{}); return err },
		"JobCountByStatus": func() error {
			_, err := s.JobCountByStatus(ctx)
			return err
		},
		"JobListActive": func() error { _, err := s.JobListActive(ctx); return err },
		"JobUpdate": func() error {
			return s.JobUpdate(ctx, engine.JobUpdateParams{ID: "JOB_1", Attempt: 1, Status: engine.StatusRunning})
		},
		"TransitionList": func() error { _, err := s.TransitionList(ctx, "JOB_1"); return err },
		"AttemptList":    func() error { _, err := s.AttemptList(ctx, "JOB_1"); return err },
	}
}

func suiteAfterClose(t *testing.T, s engine.Store) {
	Insert(t, s, Params("JOB_1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, call := range Calls(t.Context(), s) {
		if err := call(); err == nil {
			t.Errorf("%s after Close succeeded, want an error", name)
		}
	}
}

const suiteWorkers = 32

func suiteConcurrentInsert(t *testing.T, s engine.Store) {
	const perWorker = 8
	var wg sync.WaitGroup
	errs := make(chan error, suiteWorkers*perWorker)
	seqs := make(chan int64, suiteWorkers*perWorker)
	for w := range suiteWorkers {
		wg.Go(func() {
			for i := range perWorker {
				j, err := s.JobInsert(t.Context(), Params(fmt.Sprintf("JOB_%02d_%d", w, i)))
				if err != nil {
					errs <- err
					continue
				}
				if j.Attempt != 1 {
					errs <- fmt.Errorf("%s: attempt %d", j.ID, j.Attempt)
				}
				seqs <- j.Seq
			}
		})
	}
	wg.Wait()
	close(errs)
	close(seqs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[int64]bool{}
	for seq := range seqs {
		if seen[seq] {
			t.Errorf("Seq %d given twice", seq)
		}
		seen[seq] = true
	}
	for w := range suiteWorkers {
		for i := range perWorker {
			Get(t, s, fmt.Sprintf("JOB_%02d_%d", w, i))
		}
	}
	if n, err := s.JobCount(t.Context(), engine.JobListParams{}); err != nil || n != suiteWorkers*perWorker {
		t.Errorf("JobCount = %d, %v; want %d", n, err, suiteWorkers*perWorker)
	}
	CheckCounts(t, s, "after concurrent inserts")
}

func suiteConcurrentInsertSameID(t *testing.T, s engine.Store) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	type result struct {
		job engine.Job
		err error
	}
	results := make(chan result, suiteWorkers)
	for range suiteWorkers {
		wg.Go(func() {
			<-start
			j, err := s.JobInsert(t.Context(), Params("JOB_same"))
			results <- result{j, err}
		})
	}
	close(start)
	wg.Wait()
	close(results)
	ok := 0
	for r := range results {
		switch {
		case r.err == nil:
			ok++
		case !errors.Is(r.err, engine.ErrJobActive):
			t.Errorf("JobInsert: %v, want nil or ErrJobActive", r.err)
		}
		if r.job.Attempt != 1 {
			t.Errorf("JobInsert returned attempt %d (err %v), want 1", r.job.Attempt, r.err)
		}
	}
	if ok != 1 {
		t.Errorf("%d inserts succeeded, want exactly 1", ok)
	}
	if attempts, err := s.AttemptList(t.Context(), "JOB_same"); err != nil || len(attempts) != 1 {
		t.Errorf("AttemptList: %d attempts, %v; want 1", len(attempts), err)
	}
}

// suiteConcurrentUpdateGuard has every worker try to start the same job:
// the from-status guard lets exactly one through.
func suiteConcurrentUpdateGuard(t *testing.T, s engine.Store) {
	Insert(t, s, Params("JOB_1"))
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, suiteWorkers)
	for range suiteWorkers {
		wg.Go(func() {
			<-start
			errs <- s.JobUpdate(t.Context(), engine.JobUpdateParams{
				ID: "JOB_1", Attempt: 1, FromStatus: engine.StatusQueued, Status: engine.StatusRunning,
			})
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, engine.ErrStale):
			t.Errorf("JobUpdate: %v, want nil or ErrStale", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d updates succeeded, want exactly 1", ok)
	}
	tr, err := s.TransitionList(t.Context(), "JOB_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 2 {
		t.Errorf("%d transitions, want 2 (queued, running)", len(tr))
	}
}

func suiteAudit(t *testing.T, s engine.Store) {
	got, err := s.AuditList(t.Context(), engine.AuditListParams{})
	if err != nil || len(got) != 0 {
		t.Fatalf("AuditList on a new store: %v, %v; want none", got, err)
	}
	if err := s.AuditInsert(t.Context(), engine.AuditInsertParams{Actor: "alice"}); err == nil {
		t.Error("AuditInsert without an action: no error")
	}
	for i := range 5 {
		p := engine.AuditInsertParams{Time: suiteT0.Add(time.Duration(i) * time.Second), Actor: "alice", Action: engine.AuditLimits, Detail: fmt.Sprint("change ", i)}
		if i == 4 {
			p.Actor, p.Action, p.Detail = "", engine.AuditDrain, "SIGTERM"
		}
		if err := s.AuditInsert(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.AuditList(t.Context(), engine.AuditListParams{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("AuditList limit 2: %d entries", len(got))
	}
	want := []engine.AuditEntry{
		{ID: got[0].ID, Time: suiteT0.Add(4 * time.Second), Actor: engine.SystemActor, Action: engine.AuditDrain, Detail: "SIGTERM"},
		{ID: got[1].ID, Time: suiteT0.Add(3 * time.Second), Actor: "alice", Action: engine.AuditLimits, Detail: "change 3"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AuditList newest first (-want +got):\n%s", diff)
	}
	older, err := s.AuditList(t.Context(), engine.AuditListParams{BeforeID: got[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(older) != 3 || older[0].Detail != "change 2" || older[2].Detail != "change 0" {
		t.Errorf("AuditList before %d: %+v, want changes 2, 1, 0", got[1].ID, older)
	}
}
