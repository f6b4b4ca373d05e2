package engine

// slots counts the local jobs that hold one of MaxConcurrentJobs' slots,
// and those whose process ended but whose end is still being recorded,
// and keeps the Drain and Close waiters woken when both are zero.
//
// It is guarded by the manager's lock, not by one of its own: a slot is
// taken together with the head of the queue and the gates' admission
// (next), and given back together with the job's phase, so a second lock
// would be taken on the same paths and remove no contention.
type slots struct {
	running int             // local jobs holding a slot
	ending  int             // local jobs that ended, their end not yet recorded
	idle    []chan struct{} // closed when running and ending are both 0
}

// take gives a job about to start a slot.
func (s *slots) take(a *activeJob) {
	a.phase = phaseStarting
	s.running++
}

// adopt counts a job found running after a restart.
func (s *slots) adopt(a *activeJob) {
	a.phase = phaseRunning
	s.running++
}

// unstart gives back the slot of a job whose start could not be recorded:
// it waits in the queue again.
func (s *slots) unstart(a *activeJob) {
	a.phase = phaseWaiting
	s.running--
}

// free gives back a's slot if it holds one; the job then counts as ending
// until release. It returns the waiters to wake.
func (s *slots) free(a *activeJob) []chan struct{} {
	if a.holdsSlot() {
		a.phase = phaseEnding
		s.running--
		s.ending++
	}
	return s.idleWaiters()
}

// release forgets a job for good. It returns the waiters to wake.
func (s *slots) release(a *activeJob) []chan struct{} {
	s.free(a)
	if a.phase == phaseEnding {
		s.ending--
	}
	a.phase = phaseDone
	return s.idleWaiters()
}

// idleWaiters takes the waiters when no local job runs or is still having
// its end recorded.
func (s *slots) idleWaiters() []chan struct{} {
	if s.running > 0 || s.ending > 0 {
		return nil
	}
	idle := s.idle
	s.idle = nil
	return idle
}

// waitIdle returns a channel closed once no local job runs, nil if none
// does now.
func (s *slots) waitIdle() chan struct{} {
	if s.running == 0 && s.ending == 0 {
		return nil
	}
	ch := make(chan struct{})
	s.idle = append(s.idle, ch)
	return ch
}
