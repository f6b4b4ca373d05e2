package solverlog

import (
	"math"
	"time"
)

// DefaultTargetMaxMagDeltaS is HFSS's default convergence target (Maximum
// Delta S 0.02), used when the log does not state the setup's own.
const DefaultTargetMaxMagDeltaS = 0.02

// maxPassesAhead bounds how many more adaptive passes an estimate assumes.
const maxPassesAhead = 20

// Estimate is how far the part of the solve under way has come and how
// long it may take yet, from the adaptive passes and sweep points so far.
type Estimate struct {
	// Of is what the estimate covers: "adaptive" (the remaining adaptive
	// passes; a sweep may follow) or "sweep".
	Of string `json:"of"`
	// Percent of that part done, 0 to 100.
	Percent float64 `json:"percent"`
	// Done and Total count the passes (Total: the passes expected) or the
	// frequencies of the sweep.
	Done  int `json:"done"`
	Total int `json:"total"`
	// End is when it should end: the log's last activity plus the time
	// left then.
	End time.Time `json:"end"`
}

// Estimate estimates the part of the solve under way. ok is false when the
// log says too little: fewer than two adaptive passes with a Delta S, an
// interpolating sweep (how many frequencies it solves is not known ahead),
// or a solve that ended.
//
// Adaptive passes: Max Mag. Delta S falls roughly geometrically from pass
// to pass, so the passes left are those that take the last Delta S down to
// the target at the average rate so far; each pass takes longer than the
// one before by the average growth so far. Sweep: the frequencies left take
// the average time of those solved.
func (s Summary) Estimate() (e Estimate, ok bool) {
	if s.State.Final() {
		return e, false
	}
	switch {
	case s.State == StateSweeping:
		return s.sweepEstimate()
	case s.State == StateAdaptive && s.Adaptive != nil:
		return s.adaptiveEstimate()
	}
	return e, false
}

// The estimates are reckoned from the last pass or frequency finished, not
// from the log's last line: they change when the progress does, and a
// job_progress event is not sent for every line of log.

func (s Summary) sweepEstimate() (Estimate, bool) {
	sw := s.Sweep
	if sw == nil || sw.Kind == "interpolating" || sw.Points == nil || *sw.Points <= 0 || sw.Solved <= 0 || sw.LastSolvedAt == nil {
		return Estimate{}, false
	}
	now := *sw.LastSolvedAt
	var start *time.Time
	for _, st := range s.Stages {
		if st.Name == "Frequency Sweep" {
			start = st.StartedAt
		}
	}
	if start == nil || !now.After(*start) {
		return Estimate{}, false
	}
	total, done := *sw.Points, min(sw.Solved, *sw.Points)
	per := now.Sub(*start) / time.Duration(done)
	return Estimate{Of: "sweep", Percent: 100 * float64(done) / float64(total), Done: done, Total: total,
		End: now.Add(per * time.Duration(total-done))}, true
}

func (s Summary) adaptiveEstimate() (Estimate, bool) {
	a := s.Adaptive
	if len(a.Passes) == 0 || a.Passes[len(a.Passes)-1].EndedAt == nil {
		return Estimate{}, false
	}
	now := *a.Passes[len(a.Passes)-1].EndedAt
	var deltas, times []float64
	for _, p := range a.Passes {
		if p.MaxMagDeltaS != nil && *p.MaxMagDeltaS > 0 {
			deltas = append(deltas, *p.MaxMagDeltaS)
		}
		if p.ElapsedSeconds != nil && *p.ElapsedSeconds > 0 {
			times = append(times, *p.ElapsedSeconds)
		}
	}
	if len(deltas) < 2 || len(times) == 0 {
		return Estimate{}, false
	}
	target := DefaultTargetMaxMagDeltaS
	if a.TargetMaxMagDeltaS != nil && *a.TargetMaxMagDeltaS > 0 {
		target = *a.TargetMaxMagDeltaS
	}
	last := deltas[len(deltas)-1]
	rate := min(max(math.Pow(last/deltas[0], 1/float64(len(deltas)-1)), 0.2), 0.9)
	ahead := 1 // the pass under way, or the one that must confirm convergence
	if last > target {
		ahead = min(max(int(math.Ceil(math.Log(target/last)/math.Log(rate))), 1), maxPassesAhead)
	}
	growth := 1.0
	if n := len(times); n > 1 {
		growth = min(max(math.Pow(times[n-1]/times[0], 1/float64(n-1)), 1), 2.5)
	}
	done := len(a.Passes)
	var left float64
	t := times[len(times)-1]
	for range ahead {
		t *= growth
		left += t
	}
	total := done + ahead
	return Estimate{Of: "adaptive", Percent: 100 * float64(done) / float64(total), Done: done, Total: total,
		End: now.Add(time.Duration(left * float64(time.Second)))}, true
}
