package apitype

import "time"

// Limits decide when a queued job may start on the server's host
// (GET /pool/limits).
type Limits struct {
	MaxConcurrentJobs int     `json:"max_concurrent_jobs"`
	MaxCPUPercent     float64 `json:"max_cpu_percent"`
	MinMemoryGB       float64 `json:"min_memory_gb"`
	MinDiskGB         float64 `json:"min_disk_gb"`
}

// LimitsPatch is the body of PUT /pool/limits: the limits to change; nil
// fields stay.
type LimitsPatch struct {
	MaxConcurrentJobs *int     `json:"max_concurrent_jobs,omitempty"`
	MaxCPUPercent     *float64 `json:"max_cpu_percent,omitempty"`
	MinMemoryGB       *float64 `json:"min_memory_gb,omitempty"`
	MinDiskGB         *float64 `json:"min_disk_gb,omitempty"`
}

// LimitsReply answers PUT /pool/limits.
type LimitsReply struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Limits  Limits `json:"limits"`
}

// HostSample is the host telemetry (GET /resources).
type HostSample struct {
	Time             time.Time `json:"timestamp"`
	CPUPercent       float64   `json:"cpu_percent"`
	MemoryPercent    float64   `json:"memory_percent"`
	MemoryUsedGB     float64   `json:"memory_used_gb"`
	MemoryTotalGB    float64   `json:"memory_total_gb"`
	MemoryFreeGB     float64   `json:"memory_free_gb"`
	DiskUsagePercent float64   `json:"disk_usage_percent"`
	DiskFreeGB       float64   `json:"disk_free_gb"`
}

// QueueReply answers GET /queue.
type QueueReply struct {
	TotalQueued      int            `json:"total_queued"`
	RegularQueueSize int            `json:"regular_queue_size"`
	PriorityQueues   map[string]int `json:"priority_queues"`
	RunningJobs      int            `json:"running_jobs"`
	MaxConcurrent    int            `json:"max_concurrent"`
	BlockedBy        string         `json:"blocked_by"`
	Draining         bool           `json:"draining"`
}

// StatusReply answers GET /system/status.
type StatusReply struct {
	Mode               string             `json:"mode"`
	PID                int                `json:"pid"`
	Version            string             `json:"version"`
	Uptime             float64            `json:"uptime_seconds"`
	Draining           bool               `json:"draining"`
	SchedulerDetection SchedulerDetection `json:"scheduler_detection"`
	ResourceMonitoring ResourceMonitoring `json:"resource_monitoring"`
	LocalPool          LocalPool          `json:"local_pool"`
	Limits             Limits             `json:"limits"`
	Licenses           LicenseStatus      `json:"licenses"`
}

// SchedulerDetection is part of StatusReply.
type SchedulerDetection struct {
	ActiveScheduler  string `json:"active_scheduler"`
	DetectedBy       string `json:"detected_by"`
	BackendAvailable bool   `json:"backend_available"`
}

// ResourceMonitoring is part of StatusReply.
type ResourceMonitoring struct {
	Active     bool        `json:"active"`
	LastUpdate *time.Time  `json:"last_update"`
	Current    *HostSample `json:"current"`
	// The same sample's fields again at this level (cpu_percent,
	// memory_percent, ...): where the PyEDB service put them.
	*HostSample
}

// LocalPool is part of StatusReply.
type LocalPool struct {
	RunningJobs   int `json:"running_jobs"`
	QueuedJobs    int `json:"queued_jobs"`
	MaxConcurrent int `json:"max_concurrent"`
}

// LicenseStatus is part of StatusReply: whether the license servers could
// be read at the last poll.
type LicenseStatus struct {
	Configured bool       `json:"configured"`
	Servers    []string   `json:"servers"`
	SampledAt  *time.Time `json:"sampled_at"`
	// OK is false when the last poll could not read a server; Error says
	// which and why. Jobs are not held for what could not be read.
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// Partition is a cluster partition (SLURM), queue (LSF, PBS, Grid Engine)
// or node group (Windows HPC) with its use (GET /scheduler/partitions).
type Partition struct {
	Name          string  `json:"name"`
	NodesTotal    int     `json:"nodes_total"`
	NodesUsed     int     `json:"nodes_used"`
	CoresTotal    int     `json:"cores_total"`
	CoresUsed     int     `json:"cores_used"`
	MemoryTotalGB float64 `json:"memory_total_gb"`
	MemoryUsedGB  float64 `json:"memory_used_gb"`
}
