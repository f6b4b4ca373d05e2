package server

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
)

// metrics answers in the Prometheus text format (version 0.0.4).
func (s *Server) metrics(c *fiber.Ctx) error {
	counts, err := s.m.CountByStatus(c.UserContext())
	if err != nil {
		return err
	}
	var b strings.Builder
	gauge(&b, "simjobs_jobs", "Jobs by status of their latest attempt.")
	for _, st := range engine.Statuses {
		fmt.Fprintf(&b, "simjobs_jobs{status=%q} %d\n", st, counts[st])
	}
	q := s.m.QueueStats()
	gauge(&b, "simjobs_queue_depth", "Jobs waiting for a local slot.")
	fmt.Fprintf(&b, "simjobs_queue_depth %d\n", q.TotalQueued)
	gauge(&b, "simjobs_queue_depth_by_priority", "Jobs waiting, per priority.")
	prios := make([]int, 0, len(q.ByPriority))
	for p := range q.ByPriority {
		prios = append(prios, p)
	}
	sort.Ints(prios)
	for _, p := range prios {
		fmt.Fprintf(&b, "simjobs_queue_depth_by_priority{priority=\"%d\"} %d\n", p, q.ByPriority[p])
	}
	gauge(&b, "simjobs_running_jobs", "Jobs running.")
	fmt.Fprintf(&b, "simjobs_running_jobs %d\n", q.Running)
	lim := s.m.Limits()
	gauge(&b, "simjobs_limit_max_concurrent_jobs", "The max_concurrent_jobs limit.")
	fmt.Fprintf(&b, "simjobs_limit_max_concurrent_jobs %d\n", lim.MaxConcurrentJobs)
	gauge(&b, "simjobs_limit_max_cpu_percent", "The max_cpu_percent limit.")
	fmt.Fprintf(&b, "simjobs_limit_max_cpu_percent %g\n", lim.MaxCPUPercent)
	gauge(&b, "simjobs_limit_min_memory_gb", "The min_memory_gb limit.")
	fmt.Fprintf(&b, "simjobs_limit_min_memory_gb %g\n", lim.MinMemoryGB)
	gauge(&b, "simjobs_limit_min_disk_gb", "The min_disk_gb limit.")
	fmt.Fprintf(&b, "simjobs_limit_min_disk_gb %g\n", lim.MinDiskGB)
	gauge(&b, "simjobs_draining", "1 while the server drains.")
	fmt.Fprintf(&b, "simjobs_draining %d\n", boolInt(q.Draining))
	histogram(&b, "simjobs_dispatch_latency_seconds", "Time from a job leaving the queue to its process running.", s.m.DispatchLatency.Snapshot())
	histogram(&b, "simjobs_queue_wait_seconds", "Time from submission to start.", s.m.QueueWait.Snapshot())
	if smp, ok := s.opts.Sampler.Latest(); ok {
		for _, g := range []struct {
			name, help string
			v          float64
		}{
			{"simjobs_host_cpu_percent", "Host CPU use.", smp.CPUPercent},
			{"simjobs_host_memory_percent", "Host memory use.", smp.MemoryPercent},
			{"simjobs_host_memory_free_gb", "Host memory available, GiB.", smp.MemoryFreeGB},
			{"simjobs_host_memory_total_gb", "Host memory, GiB.", smp.MemoryTotalGB},
			{"simjobs_host_disk_usage_percent", "Data volume use.", smp.DiskUsagePercent},
			{"simjobs_host_disk_free_gb", "Data volume free, GiB.", smp.DiskFreeGB},
		} {
			gauge(&b, g.name, g.help)
			fmt.Fprintf(&b, "%s %g\n", g.name, g.v)
		}
	}
	s.licenseMetrics(&metricsText{&b})
	fmt.Fprintf(&b, "# HELP simjobs_events_total Events published.\n# TYPE simjobs_events_total counter\nsimjobs_events_total %d\n", s.m.Events().Seq())
	gauge(&b, "simjobs_websocket_clients", "Connected WebSocket clients.")
	fmt.Fprintf(&b, "simjobs_websocket_clients %d\n", s.wsClients.Load())
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	return c.SendString(b.String())
}

func gauge(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
}

func histogram(w io.Writer, name, help string, h engine.HistogramSnapshot) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for i, le := range h.Bounds {
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", name, strconv.FormatFloat(le, 'g', -1, 64), h.Cumulative[i])
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, h.Count, name, h.Sum, name, h.Count)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// metricsText writes metric lines into a builder.
type metricsText struct{ b *strings.Builder }

func (m *metricsText) gauge(name, help string)           { gauge(m.b, name, help) }
func (m *metricsText) printf(format string, args ...any) { fmt.Fprintf(m.b, format, args...) }
