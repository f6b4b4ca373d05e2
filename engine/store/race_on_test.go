//go:build race

package store

// raceEnabled: the race detector slows SQLite (pure Go) about tenfold.
const raceEnabled = true
