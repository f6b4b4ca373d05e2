// Package host samples the telemetry of the machine the server runs on:
// CPU, memory and the disk holding the data directory.
package host

import "time"

// Sample is one telemetry reading. Sizes are in GiB (1024^3 bytes), the unit
// the REST API calls GB.
type Sample struct {
	Time             time.Time `json:"timestamp"`
	CPUPercent       float64   `json:"cpu_percent"`
	MemoryPercent    float64   `json:"memory_percent"`
	MemoryUsedGB     float64   `json:"memory_used_gb"`
	MemoryTotalGB    float64   `json:"memory_total_gb"`
	MemoryFreeGB     float64   `json:"memory_free_gb"`
	DiskUsagePercent float64   `json:"disk_usage_percent"`
	DiskFreeGB       float64   `json:"disk_free_gb"`
}
