package license

import (
	"maps"
	"time"
)

// HistoryWindow is how far back the monitor remembers seat use.
const HistoryWindow = 24 * time.Hour

// historyStep is the resolution of the history: one point per minute at
// most, each the highest use seen in it, so a day is 1440 points however
// often the servers are polled.
const historyStep = time.Minute

// Point is the seats in use and issued, per feature, at one time.
type Point struct {
	Time  time.Time
	InUse map[string]int
	Total map[string]int
}

// record adds the current poll to the history; m.mu is held.
func (m *Monitor) record(now time.Time) {
	feats := m.featuresLocked()
	if len(feats) == 0 {
		return // nothing read: a gap in the chart, not zeros
	}
	at := now.Truncate(historyStep)
	var p *Point
	if n := len(m.history); n > 0 && m.history[n-1].Time.Equal(at) {
		p = &m.history[n-1]
	} else {
		m.history = append(m.history, Point{Time: at, InUse: map[string]int{}, Total: map[string]int{}})
		p = &m.history[len(m.history)-1]
	}
	for name, f := range feats {
		p.InUse[name] = max(p.InUse[name], f.InUse)
		p.Total[name] = max(p.Total[name], f.Total)
	}
	cut := 0
	for cut < len(m.history) && now.Sub(m.history[cut].Time) > HistoryWindow {
		cut++
	}
	m.history = m.history[cut:]
}

// History returns the points since a time, oldest first.
func (m *Monitor) History(since time.Time) []Point {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Point
	for _, p := range m.history {
		if p.Time.Before(since) {
			continue
		}
		out = append(out, Point{Time: p.Time, InUse: maps.Clone(p.InUse), Total: maps.Clone(p.Total)})
	}
	return out
}
