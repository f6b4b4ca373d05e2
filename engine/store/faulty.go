package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/simjobs/simjobs/engine"
)

// Faulty wraps an engine.Store so that tests can make any of its methods
// fail on demand, as a database that is full, read-only or gone would. A
// method set to fail returns the error without calling the wrapped store, so
// a failed write changes nothing.
type Faulty struct {
	engine.Store

	mu    sync.Mutex
	fails map[string]error
	calls map[string]int
}

var _ engine.Store = (*Faulty)(nil)

// faultyMethods are the names SetFail accepts: the engine.Store methods.
var faultyMethods = []string{
	"JobInsert", "JobGet", "JobList", "JobCount", "JobCountByStatus", "JobListActive",
	"JobUpdate", "TransitionList", "AttemptList", "AuditInsert", "AuditList", "Close",
}

// NewFaulty returns s wrapped, with no failures set.
func NewFaulty(s engine.Store) *Faulty {
	return &Faulty{Store: s, fails: map[string]error{}, calls: map[string]int{}}
}

// SetFail makes every later call of method (an engine.Store method name,
// such as "JobInsert") return err; a nil err makes it work again. It panics
// on a name that is not a Store method, which is a bug in the test.
func (f *Faulty) SetFail(method string, err error) {
	known := false
	for _, m := range faultyMethods {
		known = known || m == method
	}
	if !known {
		panic(fmt.Sprintf("store.Faulty: no Store method %q", method))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fails, method)
	} else {
		f.fails[method] = err
	}
}

// FailAll makes every method fail with err, or, with a nil err, work again.
func (f *Faulty) FailAll(err error) {
	for _, m := range faultyMethods {
		f.SetFail(m, err)
	}
}

// Calls reports how many times method has been called, failed or not.
func (f *Faulty) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// fail counts a call of method and returns the error it is set to fail with.
func (f *Faulty) fail(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	return f.fails[method]
}

// JobInsert fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) JobInsert(ctx context.Context, p engine.JobInsertParams) (engine.Job, error) {
	if err := f.fail("JobInsert"); err != nil {
		return engine.Job{}, err
	}
	return f.Store.JobInsert(ctx, p)
}

// JobGet fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) JobGet(ctx context.Context, id string) (engine.Job, error) {
	if err := f.fail("JobGet"); err != nil {
		return engine.Job{}, err
	}
	return f.Store.JobGet(ctx, id)
}

// JobList fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) JobList(ctx context.Context, p engine.JobListParams) ([]engine.Job, error) {
	if err := f.fail("JobList"); err != nil {
		return nil, err
	}
	return f.Store.JobList(ctx, p)
}

// JobCount fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) JobCount(ctx context.Context, p engine.JobListParams) (int, error) {
	if err := f.fail("JobCount"); err != nil {
		return 0, err
	}
	return f.Store.JobCount(ctx, p)
}

// JobCountByStatus fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) JobCountByStatus(ctx context.Context) (map[engine.Status]int, error) {
	if err := f.fail("JobCountByStatus"); err != nil {
		return nil, err
	}
	return f.Store.JobCountByStatus(ctx)
}

// JobListActive fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) JobListActive(ctx context.Context) ([]engine.Job, error) {
	if err := f.fail("JobListActive"); err != nil {
		return nil, err
	}
	return f.Store.JobListActive(ctx)
}

// JobUpdate fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) JobUpdate(ctx context.Context, p engine.JobUpdateParams) error {
	if err := f.fail("JobUpdate"); err != nil {
		return err
	}
	return f.Store.JobUpdate(ctx, p)
}

// TransitionList fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) TransitionList(ctx context.Context, id string) ([]engine.Transition, error) {
	if err := f.fail("TransitionList"); err != nil {
		return nil, err
	}
	return f.Store.TransitionList(ctx, id)
}

// AttemptList fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) AttemptList(ctx context.Context, id string) ([]engine.Job, error) {
	if err := f.fail("AttemptList"); err != nil {
		return nil, err
	}
	return f.Store.AttemptList(ctx, id)
}

// AuditInsert fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) AuditInsert(ctx context.Context, p engine.AuditInsertParams) error {
	if err := f.fail("AuditInsert"); err != nil {
		return err
	}
	return f.Store.AuditInsert(ctx, p)
}

// AuditList fails if set to, and otherwise calls the wrapped store.
func (f *Faulty) AuditList(ctx context.Context, p engine.AuditListParams) ([]engine.AuditEntry, error) {
	if err := f.fail("AuditList"); err != nil {
		return nil, err
	}
	return f.Store.AuditList(ctx, p)
}

// Close fails if set to, and otherwise closes the wrapped store.
func (f *Faulty) Close() error {
	if err := f.fail("Close"); err != nil {
		return err
	}
	return f.Store.Close()
}
