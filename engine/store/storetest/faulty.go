package storetest

import (
	"context"
	"fmt"
	"sync"

	"github.com/simjobs/simjobs/engine"
)

// Faulty wraps an engine.Store so that tests can make any of its methods
// fail on demand (SetFail(MethodJobInsert, err)), as a database that is full, read-only or gone would. A
// method set to fail returns the error without calling the wrapped store, so
// a failed write changes nothing.
type Faulty struct {
	engine.Store

	mu    sync.Mutex
	fails map[Method]error
	calls map[Method]int
}

var (
	_ engine.Store       = (*Faulty)(nil)
	_ engine.StoreHealth = (*Faulty)(nil)
)

// Method names a method Faulty can fail. It is a number, not the method's
// name as a string, so a misspelt method does not compile.
type Method int

// The methods Faulty can fail: the engine.Store methods and Health.
const (
	MethodJobInsert Method = iota + 1
	MethodJobGet
	MethodJobList
	MethodJobCount
	MethodJobCountByStatus
	MethodJobListActive
	MethodJobUpdate
	MethodTransitionList
	MethodAttemptList
	MethodClose
	MethodAuditInsert
	MethodAuditList
	MethodHealth
)

var methodNames = [...]string{
	MethodJobInsert: "JobInsert", MethodJobGet: "JobGet", MethodJobList: "JobList", MethodJobCount: "JobCount",
	MethodJobCountByStatus: "JobCountByStatus", MethodJobListActive: "JobListActive", MethodJobUpdate: "JobUpdate",
	MethodTransitionList: "TransitionList", MethodAttemptList: "AttemptList", MethodClose: "Close",
	MethodAuditInsert: "AuditInsert", MethodAuditList: "AuditList", MethodHealth: "Health",
}

// String is the method's name.
func (m Method) String() string {
	if m.valid() {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

func (m Method) valid() bool { return m >= MethodJobInsert && m <= MethodHealth }

// faultyMethods are the Methods SetFail accepts.
var faultyMethods = []Method{
	MethodJobInsert, MethodJobGet, MethodJobList, MethodJobCount, MethodJobCountByStatus, MethodJobListActive,
	MethodJobUpdate, MethodTransitionList, MethodAttemptList, MethodAuditInsert, MethodAuditList, MethodClose, MethodHealth,
}

// Writes are the methods that change the store: failing them all is what a
// full or read-only volume does (reads keep working).
var Writes = []Method{MethodJobInsert, MethodJobUpdate}

// NewFaulty returns s wrapped, with no failures set.
func NewFaulty(s engine.Store) *Faulty {
	return &Faulty{Store: s, fails: map[Method]error{}, calls: map[Method]int{}}
}

// SetFail makes every later call of method return err; a nil err makes it
// work again.
func (f *Faulty) SetFail(method Method, err error) {
	if !method.valid() {
		// Only a conversion (Method(99)) gets here.
		panic(fmt.Sprintf("storetest.Faulty: no Store method %v", method))
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

// FailWrites makes the writing methods and Health fail with err (nil: work
// again), as a full or read-only volume would.
func (f *Faulty) FailWrites(err error) {
	for _, m := range append(Writes, MethodHealth) {
		f.SetFail(m, err)
	}
}

// Calls reports how many times method has been called, failed or not.
func (f *Faulty) Calls(method Method) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// fail counts a call of method and returns the error it is set to fail with.
func (f *Faulty) fail(method Method) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	return f.fails[method]
}

// Health fails if set to, and otherwise asks the wrapped store, if it can
// tell.
func (f *Faulty) Health(ctx context.Context) error {
	if err := f.fail(MethodHealth); err != nil {
		return err
	}
	if h, ok := f.Store.(engine.StoreHealth); ok {
		return h.Health(ctx)
	}
	return nil
}

// Each method below fails if set to, and otherwise calls the wrapped store.

func (f *Faulty) JobInsert(ctx context.Context, p engine.JobInsertParams) (engine.Job, error) {
	if err := f.fail(MethodJobInsert); err != nil {
		return engine.Job{}, err
	}
	return f.Store.JobInsert(ctx, p)
}

func (f *Faulty) JobGet(ctx context.Context, id string) (engine.Job, error) {
	if err := f.fail(MethodJobGet); err != nil {
		return engine.Job{}, err
	}
	return f.Store.JobGet(ctx, id)
}

func (f *Faulty) JobList(ctx context.Context, p engine.JobListParams) ([]engine.Job, error) {
	if err := f.fail(MethodJobList); err != nil {
		return nil, err
	}
	return f.Store.JobList(ctx, p)
}

func (f *Faulty) JobCount(ctx context.Context, p engine.JobListParams) (int, error) {
	if err := f.fail(MethodJobCount); err != nil {
		return 0, err
	}
	return f.Store.JobCount(ctx, p)
}

func (f *Faulty) JobCountByStatus(ctx context.Context) (map[engine.Status]int, error) {
	if err := f.fail(MethodJobCountByStatus); err != nil {
		return nil, err
	}
	return f.Store.JobCountByStatus(ctx)
}

func (f *Faulty) JobListActive(ctx context.Context) ([]engine.Job, error) {
	if err := f.fail(MethodJobListActive); err != nil {
		return nil, err
	}
	return f.Store.JobListActive(ctx)
}

func (f *Faulty) JobUpdate(ctx context.Context, p engine.JobUpdateParams) error {
	if err := f.fail(MethodJobUpdate); err != nil {
		return err
	}
	return f.Store.JobUpdate(ctx, p)
}

func (f *Faulty) TransitionList(ctx context.Context, id string) ([]engine.Transition, error) {
	if err := f.fail(MethodTransitionList); err != nil {
		return nil, err
	}
	return f.Store.TransitionList(ctx, id)
}

func (f *Faulty) AttemptList(ctx context.Context, id string) ([]engine.Job, error) {
	if err := f.fail(MethodAttemptList); err != nil {
		return nil, err
	}
	return f.Store.AttemptList(ctx, id)
}

func (f *Faulty) AuditInsert(ctx context.Context, p engine.AuditInsertParams) error {
	if err := f.fail(MethodAuditInsert); err != nil {
		return err
	}
	return f.Store.AuditInsert(ctx, p)
}

func (f *Faulty) AuditList(ctx context.Context, p engine.AuditListParams) ([]engine.AuditEntry, error) {
	if err := f.fail(MethodAuditList); err != nil {
		return nil, err
	}
	return f.Store.AuditList(ctx, p)
}

func (f *Faulty) Close() error {
	if err := f.fail(MethodClose); err != nil {
		return err
	}
	return f.Store.Close()
}
