package host

import (
	"testing"
	"time"
)

func TestFakeSourceHistory(t *testing.T) {
	now := time.Now().UTC()
	at := func(ago time.Duration) Sample { return Sample{Time: now.Add(-ago), CPUPercent: ago.Minutes()} }
	f := NewFakeSource(at(0))
	f.SetHistory([]Sample{at(30 * time.Minute), at(20 * time.Minute), at(10 * time.Minute)})
	for _, tc := range []struct {
		name  string
		since time.Duration // ago
		want  []float64     // CPUPercent of each sample returned, oldest first
	}{
		{"everything", time.Hour, []float64{30, 20, 10, 0}},
		{"the newer ones", 15 * time.Minute, []float64{10, 0}},
		{"only the latest", time.Minute, []float64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := f.History(now.Add(-tc.since))
			if len(got) != len(tc.want) {
				t.Fatalf("History returned %d samples, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, s := range got {
				if s.CPUPercent != tc.want[i] {
					t.Errorf("sample %d: CPU %v, want %v", i, s.CPUPercent, tc.want[i])
				}
			}
		})
	}
	if got := f.History(now.Add(time.Minute)); len(got) != 0 {
		t.Errorf("History after the latest = %+v, want none", got)
	}
}
