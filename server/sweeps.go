package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
	"github.com/simjobs/simjobs/server/apitype"
)

// decodePlan reads a submission's optional depends_on and retry fields.
func decodePlan(dependsOn, retry json.RawMessage) ([]engine.Dependency, *engine.RetryPolicy, error) {
	var deps []engine.Dependency
	if len(bytes.TrimSpace(dependsOn)) > 0 && string(bytes.TrimSpace(dependsOn)) != "null" {
		if err := json.Unmarshal(dependsOn, &deps); err != nil {
			return nil, nil, &engine.ValidationError{Field: "depends_on", Message: `must be a list of {"job_id": "...", "condition": "afterok"|"afterany"|"afternotok"}`}
		}
	}
	var r *engine.RetryPolicy
	if len(bytes.TrimSpace(retry)) > 0 && string(bytes.TrimSpace(retry)) != "null" {
		r = new(engine.RetryPolicy)
		if err := json.Unmarshal(retry, r); err != nil {
			return nil, nil, &engine.ValidationError{Field: "retry", Message: `must be {"max_attempts": 3, "backoff": "30s", "on": "license"|"any"}`}
		}
	}
	return deps, r, nil
}

func (s *Server) submitSweep(c *fiber.Ctx) error {
	var body struct {
		Name        json.RawMessage `json:"name"`
		Template    json.RawMessage `json:"template"`
		Parameters  json.RawMessage `json:"parameters"`
		Mode        json.RawMessage `json:"mode"`
		MaxParallel json.RawMessage `json:"max_parallel"`
		Priority    json.RawMessage `json:"priority"`
		Retry       json.RawMessage `json:"retry"`
		DependsOn   json.RawMessage `json:"depends_on"`
		Notify      json.RawMessage `json:"notify"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		_, err := decodeObject(c.Body())
		return err
	}
	var req engine.SweepRequest
	if err := optString(body.Name, "name", &req.Name); err != nil {
		return err
	}
	if err := optString(body.Mode, "mode", &req.Mode); err != nil {
		return err
	}
	if len(body.Template) == 0 {
		return &engine.ValidationError{Field: "template", Message: `is required: {"config": {...}} or {"command": [...], "working_directory": ...}`}
	}
	req.Template = body.Template
	if len(body.Parameters) == 0 {
		return &engine.ValidationError{Field: "parameters", Message: `is required: {"NAME": ["value", ...]}`}
	}
	if err := json.Unmarshal(body.Parameters, &req.Parameters); err != nil {
		var e *expand.Error
		if errors.As(err, &e) {
			return &engine.ValidationError{Field: e.Field, Message: e.Message}
		}
		return &engine.ValidationError{Field: "parameters", Message: `must be an object {"NAME": ["value", ...]}`}
	}
	var err error
	if req.MaxParallel, _, err = intValue("max_parallel", body.MaxParallel); err != nil {
		return err
	}
	if req.Priority, _, err = intValue("priority", body.Priority); err != nil {
		return err
	}
	if req.DependsOn, req.Retry, err = decodePlan(body.DependsOn, body.Retry); err != nil {
		return err
	}
	req.Notify = body.Notify
	res, err := s.m.SubmitSweep(c.UserContext(), req)
	if err != nil {
		return err
	}
	return c.JSON(apitype.SweepReply{Success: true, SweepID: res.SweepID, JobIDs: res.JobIDs,
		Message: fmt.Sprintf("Sweep %s submitted: %d jobs", res.SweepID, len(res.JobIDs))})
}

func optString(raw json.RawMessage, field string, dst *string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return &engine.ValidationError{Field: field, Message: "must be a string"}
	}
	return nil
}

func (s *Server) listSweeps(c *fiber.Ctx) error {
	var p engine.SweepListParams
	p.User = c.Query("user")
	var err error
	if p.Limit, err = queryInt(c, "limit", 0, maxListLimit); err != nil {
		return err
	}
	if p.Offset, err = queryInt(c, "offset", 0, math.MaxInt32); err != nil {
		return err
	}
	if p.Limit == 0 {
		p.Limit = 100
	}
	ctx := c.UserContext()
	total, err := s.m.CountSweeps(ctx, p)
	if err != nil {
		return err
	}
	list, err := s.m.Sweeps(ctx, p)
	if err != nil {
		return err
	}
	c.Set("X-Total-Count", strconv.Itoa(total))
	return c.JSON(sweepsOut(list))
}

func (s *Server) getSweep(c *fiber.Ctx) error {
	sw, err := s.m.Sweep(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(sweepOut(sw))
}

func (s *Server) cancelSweep(c *fiber.Ctx) error {
	id := c.Params("id")
	// The engine checks that the caller owns the sweep or is an admin.
	n, err := s.m.CancelSweep(c.UserContext(), id, "")
	if err != nil {
		return err
	}
	return c.JSON(apitype.SweepCancelReply{Success: true, Cancelled: n, Message: fmt.Sprintf("Sweep %s: %d jobs cancelled", id, n)})
}

func (s *Server) resubmitSweep(c *fiber.Ctx) error {
	id := c.Params("id")
	ids, err := s.m.ResubmitSweep(c.UserContext(), id, "")
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	return c.JSON(apitype.SweepReply{Success: true, SweepID: id, JobIDs: ids, Message: fmt.Sprintf("Sweep %s: %d failed or cancelled jobs submitted again", id, len(ids))})
}

// listSweepJobs answers GET /jobs?sweep=ID: the sweep's jobs in variation
// order, filtered by status and paged like any listing.
func (s *Server) listSweepJobs(c *fiber.Ctx, id string, p engine.JobListParams) error {
	jobs, err := s.m.SweepJobs(c.UserContext(), id)
	if err != nil {
		return err
	}
	if len(p.Statuses) > 0 {
		keep := jobs[:0]
		for _, j := range jobs {
			for _, st := range p.Statuses {
				if j.Status == st {
					keep = append(keep, j)
					break
				}
			}
		}
		jobs = keep
	}
	total := len(jobs)
	jobs = jobs[min(p.Offset, total):]
	if p.Limit > 0 && len(jobs) > p.Limit {
		jobs = jobs[:p.Limit]
	}
	c.Set("X-Total-Count", strconv.Itoa(total))
	return c.JSON(jobsOut(jobs))
}
