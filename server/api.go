package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/server/apitype"
)

// decodeObject parses a JSON object body into fields, answering 400 for
// anything else.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &engine.ValidationError{Field: "body", Message: "is empty; send a JSON object"}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, &engine.ValidationError{Field: "body", Message: "must be a JSON object"}
	}
	return obj, nil
}

// intField reads an optional integer field; JSON numbers with a zero
// fraction (2.0) count as integers, as Python clients may send them.
func intField(obj map[string]json.RawMessage, name string) (int, bool, error) {
	return intValue(name, obj[name])
}

// intValue reads the raw value of an optional integer field name; nil or
// null means absent.
func intValue(name string, raw json.RawMessage) (int, bool, error) {
	if raw == nil || string(raw) == "null" {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0, false, &engine.ValidationError{Field: name, Message: "must be an integer"}
	}
	return int(f), true, nil
}

func floatField(obj map[string]json.RawMessage, name string) (float64, bool, error) {
	raw, ok := obj[name]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, false, &engine.ValidationError{Field: name, Message: "must be a number"}
	}
	return f, true, nil
}

func (s *Server) submit(c *fiber.Ctx) error {
	// One pass over the body: the config stays raw for the engine.
	var body struct {
		Config    json.RawMessage `json:"config"`
		Priority  json.RawMessage `json:"priority"`
		DependsOn json.RawMessage `json:"depends_on"`
		Retry     json.RawMessage `json:"retry"`
		Notify    json.RawMessage `json:"notify"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		_, err := decodeObject(c.Body()) // says what is wrong with it
		return err
	}
	if len(body.Config) == 0 {
		// SPEC 1's plain command body, {"command": [...], "jobid": ...},
		// may come as it is, not inside "config".
		if cfg, ok := topLevelCommand(c.Body()); ok {
			body.Config = cfg
		}
	}
	if len(body.Config) == 0 || body.Config[0] != '{' {
		return &engine.ValidationError{Field: "config", Message: "is required and must be a JSON object"}
	}
	prio, _, err := intValue("priority", body.Priority)
	if err != nil {
		return err
	}
	deps, retry, err := decodePlan(body.DependsOn, body.Retry)
	if err != nil {
		return err
	}
	// Who owns the job is the engine's rule, from the actor of the context.
	res, err := s.m.Submit(c.UserContext(), engine.SubmitRequest{Config: body.Config, Priority: prio, DependsOn: deps, Retry: retry, Notify: body.Notify})
	if err != nil {
		return err
	}
	return c.JSON(apitype.SubmitReply{Success: true, JobID: res.JobID, Message: res.Message, Status: apitype.Status(res.Status), Attempt: res.Attempt, Duplicate: res.Duplicate})
}

// defaultListLimit bounds a listing without a limit; without an offset such
// a listing shows the newest jobs (in submission order), which is what a
// client polling for its latest submission needs.
const (
	defaultListLimit = 10000
	maxListLimit     = 10000
)

func (s *Server) listJobs(c *fiber.Ctx) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	if sweep := c.Query("sweep"); sweep != "" {
		return s.listSweepJobs(c, sweep, p)
	}
	ctx := c.UserContext()
	total, err := s.m.CountJobs(ctx, p)
	if err != nil {
		return err
	}
	if c.Query("limit") == "" {
		p.Limit = defaultListLimit
		if c.Query("offset") == "" && total > p.Limit {
			p.Offset = total - p.Limit
		}
	}
	jobs, err := s.m.Jobs(ctx, p)
	if err != nil {
		return err
	}
	if jobs == nil {
		jobs = []engine.Job{}
	}
	c.Set("X-Total-Count", strconv.Itoa(total))
	return c.JSON(jobsOut(jobs))
}

func listParams(c *fiber.Ctx) (engine.JobListParams, error) {
	var p engine.JobListParams
	if st := c.Query("status"); st != "" {
		for _, v := range strings.Split(st, ",") {
			v = strings.TrimSpace(strings.ToLower(v))
			if !engine.Status(v).Valid() {
				return p, &engine.ValidationError{Field: "status", Message: fmt.Sprintf("unknown status %q", v)}
			}
			p.Statuses = append(p.Statuses, engine.Status(v))
		}
	}
	p.User = c.Query("user")
	p.Search = c.Query("q")
	var err error
	if p.Limit, err = queryInt(c, "limit", 0, maxListLimit); err != nil {
		return p, err
	}
	if p.Offset, err = queryInt(c, "offset", 0, math.MaxInt32); err != nil {
		return p, err
	}
	return p, nil
}

func queryInt(c *fiber.Ctx, name string, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &engine.ValidationError{Field: name, Message: fmt.Sprintf("must be an integer from %d to %d", lo, hi)}
	}
	return n, nil
}

func (s *Server) getJob(c *fiber.Ctx) error {
	job, err := s.m.Job(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(jobOut(job))
}

func (s *Server) jobHistory(c *fiber.Ctx) error {
	ctx, id := c.UserContext(), c.Params("id")
	attempts, err := s.m.Attempts(ctx, id)
	if err != nil {
		return err
	}
	if len(attempts) == 0 {
		return engine.ErrNotFound
	}
	tr, err := s.m.Transitions(ctx, id)
	if err != nil {
		return err
	}
	if tr == nil {
		tr = []engine.Transition{}
	}
	ds, err := s.m.Deliveries(ctx, id)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []engine.Delivery{}
	}
	return c.JSON(apitype.JobHistory{Attempts: jobsOut(attempts), Transitions: transitionsOut(tr), Deliveries: deliveriesOut(ds)})
}

func (s *Server) cancelJob(c *fiber.Ctx) error {
	id := c.Params("id")
	// The engine checks that the caller owns the job or is an admin.
	res, err := s.m.Cancel(c.UserContext(), id, "")
	if err != nil {
		return err
	}
	return c.JSON(apitype.Reply{Success: res.Cancelled, Message: res.Message})
}

func (s *Server) setPriority(c *fiber.Ctx) error {
	id := c.Params("id")
	obj, err := decodeObject(c.Body())
	if err != nil {
		return err
	}
	p, ok, err := intField(obj, "priority")
	if err != nil {
		return err
	}
	if !ok {
		return &engine.ValidationError{Field: "priority", Message: "is required"}
	}
	if err := s.m.SetPriority(c.UserContext(), id, p); err != nil {
		return err
	}
	return c.JSON(apitype.Reply{Success: true, Message: fmt.Sprintf("Priority of job %s set to %d", id, p)})
}

// maxTailLines bounds ?tail=.
const maxTailLines = 100000

func (s *Server) jobLog(c *fiber.Ctx) error {
	id := c.Params("id")
	job, err := s.m.Job(c.UserContext(), id)
	if err != nil {
		return err
	}
	stream := c.Query("stream", "stdout")
	attempt := job.Attempt
	if c.Query("attempt") != "" {
		if attempt, err = queryInt(c, "attempt", 1, job.Attempt); err != nil {
			return err
		}
	}
	offset, err := queryInt(c, "offset", 0, math.MaxInt)
	if err != nil {
		return err
	}
	tail, err := queryInt(c, "tail", 0, maxTailLines)
	if err != nil {
		return err
	}
	wait, err := logWait(c)
	if err != nil {
		return err
	}
	// A waiting request is a live connection: refused, as a WebSocket is,
	// while its caller holds the most allowed.
	if who := identity(c); wait > 0 && s.streams.Full(who) {
		return tooManyStreams(who, s.opts.Network.MaxStreams)
	}
	ctx := c.UserContext()
	read := func() (engine.LogChunk, error) {
		if tail > 0 && c.Query("offset") == "" {
			return s.m.TailLog(ctx, id, attempt, stream, tail, 0)
		}
		return s.m.ReadLog(ctx, id, attempt, stream, int64(offset), 0)
	}
	chunk, err := read()
	if err == nil && wait > 0 && len(chunk.Data) == 0 && !chunk.Ended {
		chunk, err = s.waitLog(c, id, attempt, stream, wait, read)
	}
	if err != nil {
		return err
	}
	// At most engine.MaxLogChunk per answer: a client following a huge log
	// asks again from X-Log-Offset.
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set("X-Log-Size", strconv.FormatInt(chunk.Size, 10))
	c.Set("X-Log-Offset", strconv.FormatInt(chunk.Next, 10))
	return c.Send(chunk.Data)
}

// jobLogSummary answers what a job's solver log says; 204 while it has
// no log or nothing in it came from a solver.
func (s *Server) jobLogSummary(c *fiber.Ctx) error {
	attempt, err := queryInt(c, "attempt", 0, math.MaxInt32)
	if err != nil {
		return err
	}
	sum, ok, err := s.m.LogSummary(c.UserContext(), c.Params("id"), attempt)
	if err != nil {
		return err
	}
	if !ok {
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.JSON(logSummaryOut(sum))
}

func (s *Server) resources(c *fiber.Ctx) error {
	smp, ok := s.opts.Sampler.Latest()
	if !ok {
		smp = host.Sample{Time: time.Now().UTC()}
	}
	return c.JSON(sampleOut(smp))
}

func (s *Server) queue(c *fiber.Ctx) error {
	st := s.m.QueueStats()
	pq := make(map[string]int, len(st.PriorityQueues))
	for p, n := range st.PriorityQueues {
		pq[strconv.Itoa(p)] = n
	}
	return c.JSON(apitype.QueueReply{
		TotalQueued: st.TotalQueued, RegularQueueSize: st.RegularQueueSize, PriorityQueues: pq,
		RunningJobs: st.Running, MaxConcurrent: st.MaxConcurrent, BlockedBy: st.BlockedBy, Draining: st.Draining,
	})
}

func (s *Server) setLimits(c *fiber.Ctx) error {
	obj, err := decodeObject(c.Body())
	if err != nil {
		return err
	}
	var p engine.LimitsPatch
	if v, ok, err := intField(obj, "max_concurrent_jobs"); err != nil {
		return err
	} else if ok {
		p.MaxConcurrentJobs = &v
	}
	for name, dst := range map[string]**float64{"max_cpu_percent": &p.MaxCPUPercent, "min_memory_gb": &p.MinMemoryGB, "min_disk_gb": &p.MinDiskGB} {
		v, ok, err := floatField(obj, name)
		if err != nil {
			return err
		}
		if ok {
			*dst = &v
		}
	}
	if p == (engine.LimitsPatch{}) {
		return &engine.ValidationError{Field: "body", Message: "give at least one of max_concurrent_jobs, max_cpu_percent, min_memory_gb, min_disk_gb"}
	}
	_, updated, err := s.m.ChangeLimits(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(apitype.LimitsReply{Success: true, Message: "Limits updated", Limits: limitsOut(updated)})
}

func (s *Server) getLimits(c *fiber.Ctx) error {
	return c.JSON(limitsOut(s.m.Limits()))
}

func (s *Server) systemStatus(c *fiber.Ctx) error {
	st := s.m.QueueStats()
	mode := "local"
	if s.m.SchedulerType() != "none" {
		mode = "scheduler"
	}
	available := s.opts.Scheduler.BackendAvailable
	if f := s.opts.Scheduler.Available; f != nil {
		available = f()
	}
	rm := apitype.ResourceMonitoring{}
	if smp, ok := s.opts.Sampler.Latest(); ok {
		t, w := smp.Time, sampleOut(smp)
		rm = apitype.ResourceMonitoring{Active: true, LastUpdate: &t, Current: &w, HostSample: &w}
	}
	return c.JSON(apitype.StatusReply{
		Mode: mode, PID: os.Getpid(), Version: s.opts.Version, Uptime: time.Since(s.started).Seconds(), Draining: st.Draining,
		SchedulerDetection: apitype.SchedulerDetection{ActiveScheduler: s.opts.Scheduler.Active, DetectedBy: s.opts.Scheduler.DetectedBy, BackendAvailable: available},
		ResourceMonitoring: rm,
		LocalPool:          apitype.LocalPool{RunningJobs: st.Running, QueuedJobs: st.TotalQueued, MaxConcurrent: st.MaxConcurrent},
		Limits:             limitsOut(s.m.Limits()),
		Licenses:           s.licenseStatus(),
	})
}

func (s *Server) startMonitoring(c *fiber.Ctx) error {
	// The sampler runs from start-up; this only asks it for a fresh sample
	// (on its own goroutine: no request waits for a CPU measurement).
	s.opts.Sampler.SampleNow()
	return c.JSON(apitype.Reply{Success: true, Message: "Resource monitoring is active"})
}

func (s *Server) drain(c *fiber.Ctx) error {
	if s.opts.Drain == nil {
		return apiError(fiber.StatusServiceUnavailable, "this server cannot drain on request")
	}
	if err := s.m.Record(c.UserContext(), engine.AuditDrain, "drain requested over the API"); err != nil {
		return err
	}
	s.SetDraining()
	s.drainOnce.Do(s.opts.Drain)
	return c.Status(fiber.StatusAccepted).JSON(apitype.Reply{Success: true, Message: "Draining: no new job starts; running jobs finish, then the server exits"})
}

func (s *Server) partitions(c *fiber.Ctx) error {
	parts, err := s.m.Partitions(c.UserContext())
	if errors.Is(err, engine.ErrNoScheduler) {
		return apiError(fiber.StatusBadRequest, "no cluster scheduler: this server runs jobs on its own host")
	}
	if err != nil {
		return schedulerError(err)
	}
	return c.JSON(partitionsOut(parts))
}

func (s *Server) clusterPartitions(c *fiber.Ctx) error {
	parts, err := s.m.Partitions(c.UserContext())
	if errors.Is(err, engine.ErrNoScheduler) {
		return c.JSON([]any{})
	}
	if err != nil {
		return schedulerError(err)
	}
	return c.JSON(partitionsOut(parts))
}

func (s *Server) schedulerType(c *fiber.Ctx) error {
	return c.JSON(apitype.SchedulerType{SchedulerType: s.m.SchedulerType()})
}

func (s *Server) me(c *fiber.Ctx) error {
	id := identity(c)
	return c.JSON(apitype.Me{Username: id.Name, Role: id.Role})
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(apitype.Health{Status: "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if s.draining.Load() || s.m.Draining() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"success": false, "error": "draining", "status": "draining"})
	}
	if err := s.m.StoreHealth(c.UserContext()); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"success": false, "error": storeHealthMessage(err), "status": "storage"})
	}
	return c.JSON(apitype.Health{Status: "ready"})
}

func (s *Server) audit(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 0, 1000)
	if err != nil {
		return err
	}
	before, err := queryInt(c, "before", 0, math.MaxInt)
	if err != nil {
		return err
	}
	list, err := s.m.AuditLog(c.UserContext(), engine.AuditListParams{Limit: limit, BeforeID: int64(before)})
	if err != nil {
		return err
	}
	return c.JSON(auditOut(list))
}

// topLevelCommand is the config of a plain command job submitted without
// the "config" wrapper: the body's own fields but "priority".
func topLevelCommand(body []byte) (json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil, false
	}
	if _, ok := fields["command"]; !ok {
		return nil, false
	}
	delete(fields, "priority")
	cfg, err := json.Marshal(fields)
	return cfg, err == nil
}
