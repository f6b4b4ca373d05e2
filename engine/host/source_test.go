package host

import (
	"testing"

	"github.com/shirou/gopsutil/v3/cpu"
)

func TestSourceOnThisHost(t *testing.T) {
	t.Parallel()
	src := NewSource(t.TempDir())
	for i := range 2 { // the second compares with the first
		s, err := src.Sample(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name string
			ok   bool
		}{
			{"time set", !s.Time.IsZero()},
			{"cpu 0..100", s.CPUPercent >= 0 && s.CPUPercent <= 100},
			{"memory percent 0..100", s.MemoryPercent > 0 && s.MemoryPercent <= 100},
			{"memory total > 0", s.MemoryTotalGB > 0},
			{"memory used+free = total", abs(s.MemoryUsedGB+s.MemoryFreeGB-s.MemoryTotalGB) < 1e-6},
			{"memory free 0..total", s.MemoryFreeGB > 0 && s.MemoryFreeGB <= s.MemoryTotalGB},
			{"disk percent 0..100", s.DiskUsagePercent >= 0 && s.DiskUsagePercent <= 100},
			{"disk free > 0", s.DiskFreeGB > 0},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("sample %d: %s fails: %+v", i, c.name, s)
			}
		}
	}
}

func TestSourceBadDisk(t *testing.T) {
	t.Parallel()
	if _, err := NewSource("/no/such/dir").Sample(t.Context()); err == nil {
		t.Error("Sample of a missing disk path succeeded")
	}
}

func TestBusyPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b cpu.TimesStat
		want float64
	}{
		{"no time passed", cpu.TimesStat{Idle: 5}, cpu.TimesStat{Idle: 5}, 0},
		{"all idle", cpu.TimesStat{Idle: 5}, cpu.TimesStat{Idle: 15}, 0},
		{"half busy", cpu.TimesStat{}, cpu.TimesStat{User: 3, System: 2, Idle: 4, Iowait: 1}, 50},
		{"all busy", cpu.TimesStat{User: 1}, cpu.TimesStat{User: 2, Steal: 1}, 100},
		{"counter went back", cpu.TimesStat{User: 9}, cpu.TimesStat{User: 1}, 0},
	}
	for _, tt := range tests {
		if got := busyPercent(tt.a, tt.b); abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: busyPercent = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func abs(f float64) float64 { return max(f, -f) }
