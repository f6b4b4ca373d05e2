package engine

// phase is where a job not yet ended stands in this process. It replaces
// the booleans (reserved, slot, started, ending) whose combinations were
// the same state machine spread over four fields, some of them impossible.
//
//	reserved ─► waiting ─► starting ─► running ─► ending ─► done
//	                ▲          │
//	                └──────────┘ (its start could not be persisted)
//
// A cluster job goes from waiting to running when its scheduler accepts
// it, and never holds a local slot.
type phase uint8

const (
	// phaseReserved: Submit is inserting it; nothing may change it yet.
	phaseReserved phase = iota
	// phaseWaiting: queued here, or pending its scheduler submission.
	phaseWaiting
	// phaseStarting: a local job that holds a slot, its process not
	// started yet.
	phaseStarting
	// phaseRunning: the runner has it (its handle is valid); a local job
	// holds its slot.
	phaseRunning
	// phaseEnding: a local job whose process ended and gave its slot back;
	// its end is being recorded.
	phaseEnding
	// phaseDone: released; the manager forgot it.
	phaseDone
)

func (p phase) String() string {
	switch p {
	case phaseReserved:
		return "reserved"
	case phaseWaiting:
		return "waiting"
	case phaseStarting:
		return "starting"
	case phaseRunning:
		return "running"
	case phaseEnding:
		return "ending"
	case phaseDone:
		return "done"
	}
	return "phase(?)"
}

// holdsSlot reports whether the job counts against MaxConcurrentJobs.
func (a *activeJob) holdsSlot() bool {
	return !a.cluster && (a.phase == phaseStarting || a.phase == phaseRunning)
}

// started reports whether a runner has the job (its handle is valid).
func (a *activeJob) started() bool {
	return a.phase == phaseRunning || a.phase == phaseEnding
}

// cancelKind says who wants a job stopped.
type cancelKind uint8

const (
	// notCancelled: nobody asked.
	notCancelled cancelKind = iota
	// cancelAsked: a user asked (or the server, for a dependency that can
	// no longer hold): the job ends as cancelled.
	cancelAsked
	// cancelShutdown: the server is stopping. A job not started yet goes
	// back to the queue; a running one ends as failed ("interrupted"),
	// since no user asked for it.
	cancelShutdown
)

// cancelReason is why a job is being cancelled. It replaces a cancel flag
// and a "\x00shutdown" marker kept in the field that names the user who
// asked, which the end then had to keep out of the audit record.
type cancelReason struct {
	kind cancelKind
	// by is who asked, for the record; "" for the server.
	by string
	// message, set by cancelBecause, is the server's own reason, recorded
	// as the job's error in place of "cancelled by …". It may be set
	// before the cancel itself is asked.
	message string
}

// asked reports whether a cancel (of either kind) was asked.
func (c cancelReason) asked() bool { return c.kind != notCancelled }

// shutdown reports whether the cancel is the server's stop.
func (c cancelReason) shutdown() bool { return c.kind == cancelShutdown }
