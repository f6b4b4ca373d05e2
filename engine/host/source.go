package host

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/disk"
	"github.com/shirou/gopsutil/v3/mem"
)

// Source takes one telemetry reading. It may take a while (a slow disk, a
// CPU window): only the Sampler's goroutine calls it, never a request.
type Source interface {
	Sample(ctx context.Context) (Sample, error)
}

// gib is the number of bytes in the unit the API calls GB.
const gib = 1 << 30

// minCPUWindow is the shortest interval a CPU percentage is computed over:
// below it the kernel's tick counters make the figure noise.
const minCPUWindow = 250 * time.Millisecond

// psSource reads this host through gopsutil.
type psSource struct {
	diskPath string

	mu       sync.Mutex // serialises Samples: each compares with the one before
	lastCPU  cpu.TimesStat
	lastTime time.Time
}

// NewSource returns a Source for this host, reporting the disk that holds
// diskPath. CPU usage is the busy share of all CPUs since the previous
// Sample (the first compares with the call to NewSource). The source keeps
// its own previous reading, unlike cpu.Percent(0, ...), whose package-level
// state two users would disturb for each other.
func NewSource(diskPath string) Source {
	s := &psSource{diskPath: diskPath}
	if t, err := cpu.Times(false); err == nil && len(t) == 1 {
		s.lastCPU, s.lastTime = t[0], time.Now()
	}
	return s
}

func (s *psSource) Sample(ctx context.Context) (Sample, error) {
	cpuPct, err := s.cpuPercent(ctx)
	if err != nil {
		return Sample{}, err
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("host: memory: %w", err)
	}
	du, err := disk.UsageWithContext(ctx, s.diskPath)
	if err != nil {
		return Sample{}, fmt.Errorf("host: disk usage of %s: %w", s.diskPath, err)
	}
	// Free is what can be had without swapping (Available, which counts
	// reclaimable cache); Used is the rest, so Used + Free = Total.
	used := vm.Total - min(vm.Available, vm.Total)
	return Sample{
		Time:             time.Now(),
		CPUPercent:       cpuPct,
		MemoryPercent:    100 * float64(used) / float64(max(vm.Total, 1)),
		MemoryUsedGB:     float64(used) / gib,
		MemoryTotalGB:    float64(vm.Total) / gib,
		MemoryFreeGB:     float64(vm.Available) / gib,
		DiskUsagePercent: du.UsedPercent,
		DiskFreeGB:       float64(du.Free) / gib,
	}, nil
}

// cpuPercent returns the busy share of all CPUs since the previous call,
// waiting first if that call was less than minCPUWindow ago.
func (s *psSource) cpuPercent(ctx context.Context) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wait := minCPUWindow - time.Since(s.lastTime); !s.lastTime.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
	times, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("host: cpu times: %w", err)
	}
	if len(times) != 1 {
		return 0, fmt.Errorf("host: cpu times: %d totals, want 1", len(times))
	}
	prev, prevTime := s.lastCPU, s.lastTime
	s.lastCPU, s.lastTime = times[0], time.Now()
	if prevTime.IsZero() {
		return 0, nil // nothing to compare with yet
	}
	return busyPercent(prev, times[0]), nil
}

// busyPercent is the share of CPU time between a and b not spent idle or
// waiting for I/O, in 0..100.
func busyPercent(a, b cpu.TimesStat) float64 {
	total := func(t cpu.TimesStat) float64 {
		// Guest time is already counted in User and Nice on Linux.
		return t.User + t.System + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal + t.Idle
	}
	idle := func(t cpu.TimesStat) float64 { return t.Idle + t.Iowait }
	dt := total(b) - total(a)
	if dt <= 0 {
		return 0
	}
	busy := dt - (idle(b) - idle(a))
	return min(100, max(0, 100*busy/dt))
}
