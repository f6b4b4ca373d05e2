package license

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine"
)

// The Monitor is the engine's license gate.
var (
	_ engine.Gate    = (*Monitor)(nil)
	_ engine.Refuser = (*Monitor)(nil)
)

func reservationKey(j engine.GateJob) string { return j.ID + "#" + strconv.Itoa(j.Attempt) }

// applies says whether the gate judges j at all.
func (m *Monitor) applies(j engine.GateJob) bool { return !j.Cluster || m.o.GateCluster }

// Hold holds a job while a feature it needs has fewer free seats than it
// needs: free is issued minus in use (which counts the server's own
// RESERVATIONs, less those for Options.User, whom the solvers check out
// as) minus the seats reserved
// for jobs admitted in the last poll interval. A feature no server that
// answered reports does not hold a job, nor does one that a server which
// could not be read served when it last could: a server that cannot be
// read never blocks the queue. Before the first poll ends, jobs that need licenses
// wait for it (at most the lmstat timeout).
func (m *Monitor) Hold(j engine.GateJob) string {
	if !m.applies(j) {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	needs := m.needsLocked(j)
	if len(needs) == 0 {
		return ""
	}
	if !m.polled {
		return "waiting for the first poll of the license servers"
	}
	now := m.o.Now()
	m.pruneLocked(now)
	feats := m.featuresLocked()
	reserved := m.reservedLocked(now, reservationKey(j))
	for _, n := range needs {
		f, ok := feats[n.Feature]
		if !ok || f.Uncounted || m.unreadLocked(n.Feature) {
			continue
		}
		free := f.Total - f.InUse - reserved[n.Feature] + reservedFor(f.Reservations, m.o.User)
		if free >= n.Seats {
			continue
		}
		msg := fmt.Sprintf("waiting for license %s: needs %s, %d of %d free", n.Feature, seatsText(n.Seats), max(free, 0), f.Total)
		if r := reserved[n.Feature]; r > 0 {
			msg += fmt.Sprintf(" (%s reserved for jobs just started)", seatsText(r))
		}
		return msg
	}
	return ""
}

// reservedFor is the seats a server's RESERVATION lines keep for user.
func reservedFor(rs []Reservation, user string) int {
	n := 0
	for _, r := range rs {
		if user != "" && strings.EqualFold(r.Kind, "USER") && r.Name == user {
			n += r.Seats
		}
	}
	return n
}

// Admitted reserves the job's seats until its solver has had a poll
// interval to check them out, so that two jobs never take the last seat.
func (m *Monitor) Admitted(j engine.GateJob) {
	if !m.applies(j) {
		return
	}
	m.mu.Lock()
	needs := m.needsLocked(j)
	if len(needs) == 0 {
		m.mu.Unlock()
		return
	}
	m.reservations[reservationKey(j)] = reservation{needs: needs, at: m.o.Now()}
	m.mu.Unlock()
	m.reserved()
}

// reserved tells the poll loop that the reservations changed: it sets its
// timer for the next lapse and announces the new counts (it cannot be done
// here, under the manager's lock).
func (m *Monitor) reserved() {
	select {
	case m.rearm <- struct{}{}:
	default:
	}
}

// Released drops the job's reservation: it ended or went back to the queue.
func (m *Monitor) Released(j engine.GateJob) {
	key := reservationKey(j)
	m.mu.Lock()
	_, had := m.reservations[key]
	delete(m.reservations, key)
	delete(m.needs, key)
	m.mu.Unlock()
	if had {
		m.reserved()
	}
}

// Refuse refuses at submission a job that needs more seats of a feature
// than the servers issue in all: it could never start.
func (m *Monitor) Refuse(j engine.GateJob) error {
	if !m.applies(j) {
		return nil
	}
	needs := m.o.Map.Needs(j)
	if len(needs) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	feats := m.featuresLocked()
	for _, n := range needs {
		f, ok := feats[n.Feature]
		if !ok || f.Uncounted || n.Seats <= f.Total || m.unreadLocked(n.Feature) {
			continue
		}
		return &engine.ValidationError{Field: n.Field, Message: fmt.Sprintf(
			"needs %s of license feature %s, but the license servers issue only %d: it could never start (see --license-map)",
			seatsText(n.Seats), n.Feature, f.Total)}
	}
	return nil
}

// maxNeedsCache bounds the cache of what jobs need: past it, it starts
// afresh (jobs cancelled while held are never released).
const maxNeedsCache = 100_000

// needsLocked is what a job needs, decoded from its config once: the
// manager asks about every held job each time it looks for one to start,
// under its lock.
func (m *Monitor) needsLocked(j engine.GateJob) []Need {
	key := reservationKey(j)
	if n, ok := m.needs[key]; ok {
		return n
	}
	if len(m.needs) >= maxNeedsCache {
		clear(m.needs)
	}
	n := m.o.Map.Needs(j)
	m.needs[key] = n
	return n
}
