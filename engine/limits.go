package engine

import (
	"fmt"
	"math"

	"github.com/simjobs/simjobs/engine/host"
)

// Limits decide when a queued job may start on this host.
type Limits struct {
	MaxConcurrentJobs int     `json:"max_concurrent_jobs"`
	MaxCPUPercent     float64 `json:"max_cpu_percent"`
	MinMemoryGB       float64 `json:"min_memory_gb"`
	MinDiskGB         float64 `json:"min_disk_gb"`
}

// DefaultLimits are the product defaults.
func DefaultLimits() Limits {
	return Limits{MaxConcurrentJobs: 1, MaxCPUPercent: 80, MinMemoryGB: 2, MinDiskGB: 2}
}

// LimitsPatch changes some limits; nil fields stay.
type LimitsPatch struct {
	MaxConcurrentJobs *int
	MaxCPUPercent     *float64
	MinMemoryGB       *float64
	MinDiskGB         *float64
}

// maxConcurrentCap bounds max_concurrent_jobs to something a host can mean.
const maxConcurrentCap = 100000

// Validate returns a *ValidationError naming the first bad limit.
func (l Limits) Validate() error {
	switch {
	case l.MaxConcurrentJobs < 1 || l.MaxConcurrentJobs > maxConcurrentCap:
		return &ValidationError{Field: "max_concurrent_jobs", Message: fmt.Sprintf("must be an integer from 1 to %d", maxConcurrentCap)}
	case !finite(l.MaxCPUPercent) || l.MaxCPUPercent <= 0 || l.MaxCPUPercent > 100:
		return &ValidationError{Field: "max_cpu_percent", Message: "must be greater than 0 and at most 100"}
	case !finite(l.MinMemoryGB) || l.MinMemoryGB < 0:
		return &ValidationError{Field: "min_memory_gb", Message: "must be a number >= 0"}
	case !finite(l.MinDiskGB) || l.MinDiskGB < 0:
		return &ValidationError{Field: "min_disk_gb", Message: "must be a number >= 0"}
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// apply returns l changed by p.
func (l Limits) apply(p LimitsPatch) Limits {
	if p.MaxConcurrentJobs != nil {
		l.MaxConcurrentJobs = *p.MaxConcurrentJobs
	}
	if p.MaxCPUPercent != nil {
		l.MaxCPUPercent = *p.MaxCPUPercent
	}
	if p.MinMemoryGB != nil {
		l.MinMemoryGB = *p.MinMemoryGB
	}
	if p.MinDiskGB != nil {
		l.MinDiskGB = *p.MinDiskGB
	}
	return l
}

// Telemetry gives the latest host sample without ever waiting for one.
type Telemetry interface {
	Latest() (host.Sample, bool)
}

// admit says why a new job may not start now, or "" when it may. running is
// the number of local jobs holding a slot.
func (l Limits) admit(running int, t Telemetry) string {
	if running >= l.MaxConcurrentJobs {
		return fmt.Sprintf("%d of %d job slots in use", running, l.MaxConcurrentJobs)
	}
	if t == nil {
		return ""
	}
	s, ok := t.Latest()
	if !ok {
		return "waiting for the first host telemetry sample"
	}
	switch {
	case s.CPUPercent > l.MaxCPUPercent:
		return fmt.Sprintf("CPU %.0f%% is above the %.0f%% limit", s.CPUPercent, l.MaxCPUPercent)
	case s.MemoryFreeGB < l.MinMemoryGB:
		return fmt.Sprintf("free memory %.1f GB is below the %.1f GB limit", s.MemoryFreeGB, l.MinMemoryGB)
	case s.DiskFreeGB < l.MinDiskGB:
		return fmt.Sprintf("free disk %.1f GB is below the %.1f GB limit", s.DiskFreeGB, l.MinDiskGB)
	}
	return ""
}
