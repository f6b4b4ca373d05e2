package server

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/simjobs/simjobs/engine/solverlog"
)

type obj = map[string]any

func str() obj            { return obj{"type": "string"} }
func nstr() obj           { return obj{"type": []string{"string", "null"}} }
func integer() obj        { return obj{"type": "integer"} }
func number() obj         { return obj{"type": "number"} }
func boolean() obj        { return obj{"type": "boolean"} }
func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }
func arr(items obj) obj   { return obj{"type": "array", "items": items} }
func dateTime() obj       { return obj{"type": "string", "format": "date-time"} }
func ndateTime() obj      { return obj{"type": []string{"string", "null"}, "format": "date-time"} }
func object(props obj, required ...string) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

var statusEnum = obj{"type": "string", "enum": []string{"pending", "queued", "scheduled", "running", "completed", "failed", "cancelled"}}

// schemas are the JSON shapes of the API, named for the route table.
func schemas() obj {
	limits := object(obj{"max_concurrent_jobs": integer(), "max_cpu_percent": number(), "min_memory_gb": number(), "min_disk_gb": number()})
	sample := object(obj{"cpu_percent": number(), "memory_percent": number(), "memory_used_gb": number(), "memory_total_gb": number(),
		"memory_free_gb": number(), "disk_usage_percent": number(), "disk_free_gb": number(), "timestamp": dateTime()},
		"cpu_percent", "memory_percent", "memory_used_gb", "memory_total_gb", "memory_free_gb", "disk_usage_percent", "disk_free_gb", "timestamp")
	job := object(obj{
		"id": str(), "user": str(), "priority": integer(), "status": statusEnum, "config": obj{"type": "object"},
		"submit_time": dateTime(), "start_time": ndateTime(), "end_time": ndateTime(),
		"return_code": obj{"type": []string{"integer", "null"}}, "scheduler_job_id": nstr(), "error": str(), "attempt": integer(),
		"progress":       obj{"oneOf": []obj{ref("Progress"), {"type": "null"}}},
		"waiting_reason": str(),
		"queue_position": integer(),
		"sweep_id":       str(), "depends_on": arr(ref("Dependency")), "retry": ref("RetryPolicy"),
	}, "id", "user", "priority", "status", "config", "submit_time", "start_time", "end_time", "return_code", "scheduler_job_id", "error", "attempt", "progress")
	return obj{
		"Error": object(obj{"success": obj{"type": "boolean", "const": false}, "error": str()}, "success", "error"),
		"Reply": object(obj{"success": boolean(), "message": str()}, "success", "message"),
		"SubmitRequest": object(obj{"config": obj{"oneOf": []obj{ref("HFSSConfig"), ref("CommandConfig")}}, "priority": integer(),
			"depends_on": arr(ref("Dependency")), "retry": ref("RetryPolicy"), "notify": ref("Notify")}, "config"),
		"HFSSConfig":      hfssSchema(),
		"CommandConfig":   object(obj{"command": arr(str()), "jobid": str(), "working_directory": str(), "user": str(), "time": str()}, "command"),
		"SubmitReply":     object(obj{"success": boolean(), "job_id": str(), "message": str(), "status": statusEnum, "attempt": integer(), "duplicate": boolean()}, "success", "job_id", "message"),
		"PriorityRequest": object(obj{"priority": integer()}, "priority"),
		"Job":             job,
		"JobList":         arr(ref("Job")),
		"Transition":      object(obj{"job_id": str(), "attempt": integer(), "status": statusEnum, "time": dateTime(), "message": str(), "actor": str()}, "job_id", "attempt", "status", "time", "actor"),
		"AuditEntry":      object(obj{"id": integer(), "time": dateTime(), "actor": str(), "action": str(), "detail": str()}, "id", "time", "actor", "action", "detail"),
		"AuditList":       arr(ref("AuditEntry")),
		"JobHistory":      object(obj{"attempts": arr(ref("Job")), "transitions": arr(ref("Transition")), "deliveries": arr(ref("Delivery"))}, "attempts", "transitions", "deliveries"),
		"Notify":          notifySchema(),
		"Delivery":        deliverySchema(),
		"Resources":       sample,
		"Progress":        progressSchema(),
		"LogSummary":      logSummarySchema(),
		"Dependency":      object(obj{"job_id": str(), "condition": obj{"type": "string", "enum": []string{"afterok", "afterany", "afternotok"}}}, "job_id"),
		"RetryPolicy": object(obj{"max_attempts": integer(), "backoff": obj{"type": "string", "description": "Go duration, e.g. 30s; doubles each retry"},
			"on": obj{"type": "string", "enum": []string{"license", "any"}}, "first_attempt": integer(), "not_before": dateTime(), "reason": str()}, "max_attempts"),
		"SweepRequest": object(obj{"name": str(), "template": obj{"oneOf": []obj{object(obj{"config": ref("HFSSConfig")}, "config"), ref("CommandConfig")}},
			"parameters": obj{"type": "object", "additionalProperties": arr(obj{"type": []string{"string", "number", "boolean"}})},
			"mode":       obj{"type": "string", "enum": []string{"product", "zip"}}, "max_parallel": integer(), "priority": integer(), "retry": ref("RetryPolicy"),
			"depends_on": arr(ref("Dependency")), "notify": ref("Notify")},
			"template", "parameters"),
		"SweepReply": object(obj{"success": boolean(), "sweep_id": str(), "job_ids": arr(str()), "message": str()}, "success", "sweep_id", "job_ids"),
		"Sweep": object(obj{"id": str(), "name": str(), "user": str(), "total": integer(), "counts": obj{"type": "object", "additionalProperties": integer()},
			"parameters": obj{"type": "object", "additionalProperties": arr(str())}, "mode": str(), "max_parallel": integer(), "priority": integer(),
			"submit_time": dateTime(), "end_time": ndateTime(), "job_ids": obj{"type": []string{"array", "null"}, "items": str()}},
			"id", "name", "user", "total", "counts", "parameters", "mode", "max_parallel", "submit_time", "end_time"),
		"SweepList":        arr(ref("Sweep")),
		"SweepCancelReply": object(obj{"success": boolean(), "message": str(), "cancelled": integer()}, "success", "message", "cancelled"),
		"Queue": object(obj{"total_queued": integer(), "regular_queue_size": integer(), "priority_queues": obj{"type": "object", "additionalProperties": integer()},
			"running_jobs": integer(), "max_concurrent": integer(), "blocked_by": str(), "draining": boolean()},
			"total_queued", "regular_queue_size", "priority_queues", "running_jobs", "max_concurrent"),
		"Limits":      limits,
		"LimitsReply": object(obj{"success": boolean(), "message": str(), "limits": limits}, "success", "message", "limits"),
		"SystemStatus": object(obj{
			"mode": obj{"type": "string", "enum": []string{"local", "scheduler"}}, "pid": integer(), "version": str(), "uptime_seconds": number(), "draining": boolean(),
			"scheduler_detection": object(obj{"active_scheduler": str(), "detected_by": str(), "backend_available": boolean()}, "active_scheduler", "detected_by", "backend_available"),
			"resource_monitoring": object(obj{"active": boolean(), "last_update": ndateTime(), "current": obj{"oneOf": []obj{sample, {"type": "null"}}},
				"cpu_percent": number(), "memory_percent": number(), "memory_used_gb": number(), "memory_total_gb": number(),
				"memory_free_gb": number(), "disk_usage_percent": number(), "disk_free_gb": number(), "timestamp": dateTime()}, "active", "last_update"),
			"local_pool": object(obj{"running_jobs": integer(), "queued_jobs": integer(), "max_concurrent": integer()}, "running_jobs", "queued_jobs", "max_concurrent"),
			"limits":     limits,
			"licenses": object(obj{"configured": boolean(), "servers": arr(str()), "sampled_at": ndateTime(), "ok": boolean(), "error": str()},
				"configured", "servers", "sampled_at", "ok", "error"),
		}, "mode", "scheduler_detection", "resource_monitoring", "local_pool"),
		"Partitions": arr(object(obj{"name": str(), "nodes_total": integer(), "nodes_used": integer(), "cores_total": integer(), "cores_used": integer(),
			"memory_total_gb": number(), "memory_used_gb": number()}, "name", "nodes_total", "nodes_used", "cores_total", "cores_used", "memory_total_gb", "memory_used_gb")),
		"SchedulerType": object(obj{"scheduler_type": obj{"type": "string", "enum": []string{"none", "slurm", "lsf", "pbs", "windows_hpc", "sge"}}}, "scheduler_type"),
		"Licenses":      licensesSchema(),
		"Me":            object(obj{"username": str(), "role": obj{"type": "string", "enum": []string{"admin", "user"}}}, "username", "role"),
		"Health":        object(obj{"status": str()}, "status"),
		"EngineIOError": object(obj{"code": integer(), "message": str()}, "code", "message"),
		"NotReady":      object(obj{"success": obj{"type": "boolean", "const": false}, "error": str(), "status": obj{"type": "string", "enum": []string{"draining", "storage"}}}, "success", "error", "status"),
	}
}

func nint() obj    { return obj{"type": []string{"integer", "null"}} }
func nnumber() obj { return obj{"type": []string{"number", "null"}} }

// required lists every property of o as required: the shapes below always
// carry all their fields (null when unknown).
func required(o obj) obj {
	props := o["properties"].(obj)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	o["required"] = names
	return o
}

func solverStates() obj {
	states := make([]string, len(solverlog.States))
	for i, st := range solverlog.States {
		states[i] = string(st)
	}
	return obj{"type": "string", "enum": states}
}

// progressSchema is solverlog.Progress: a job's progress and the data of
// job_progress events.
func progressSchema() obj {
	return object(obj{
		"solver": str(), "phase": solverStates(), "pass": integer(), "max_mag_delta_s": number(), "solved_elements": integer(),
		"current_pass": integer(), "converged": boolean(), "sweep_solved": integer(), "sweep_points": integer(), "warnings": integer(), "errors": integer(), "error": str(),
		"sweep_kind": str(), "sweep_done": boolean(),
		"estimate": object(obj{"of": obj{"type": "string", "enum": []string{"adaptive", "sweep"}}, "percent": number(), "done": integer(), "total": integer(), "end": dateTime()},
			"of", "percent", "done", "total", "end"),
	}, "phase", "converged", "warnings", "errors")
}

// logSummarySchema is solverlog.Summary, the answer of GET /api/jobs/{id}/log.
func logSummarySchema() obj {
	messages := required(object(obj{"count": integer(), "last": arr(required(object(obj{"time": ndateTime(), "text": str()})))}))
	machine := required(object(obj{"name": str(), "cores": nint(), "tasks": nint(), "memory_gb": nnumber(), "ram_limit_percent": nnumber()}))
	pass := required(object(obj{"pass": integer(), "frequency": str(), "solved_elements": nint(), "max_mag_delta_s": nnumber(),
		"delta_output_var": nnumber(), "matrix_size": nint(), "elapsed_seconds": nnumber(), "cpu_seconds": nnumber(),
		"peak_memory_mb": nnumber(), "ended_at": ndateTime()}))
	adaptive := required(object(obj{"frequency": str(), "passes": arr(pass), "current_pass": integer(), "converged": boolean(),
		"target_max_mag_delta_s": nnumber()}))
	sweep := required(object(obj{"name": str(), "kind": obj{"type": "string", "enum": []string{"", "interpolating", "discrete", "fast"}},
		"start": str(), "stop": str(), "points": nint(), "solved": integer(), "solving": integer(), "last_frequency": str(),
		"basis_elements": integer(), "converged": boolean(), "done": boolean(), "last_solved_at": ndateTime()}))
	initialMesh := required(object(obj{"tetrahedra": nint(), "real_seconds": nnumber(), "cpu_seconds": nnumber(), "peak_memory_mb": nnumber()}))
	stage := required(object(obj{"name": str(), "started_at": ndateTime(), "elapsed_seconds": nnumber()}))
	return required(object(obj{
		"solver": str(), "solver_version": str(), "product": str(), "version": str(), "build": str(), "design_type": str(),
		"project": str(), "design": str(), "setup": str(), "project_path": str(), "command_line": str(), "user": str(), "host": str(),
		"machines": arr(machine), "cores": nint(), "state": solverStates(), "error": str(),
		"initial_mesh": obj{"oneOf": []obj{initialMesh, {"type": "null"}}},
		"adaptive":     obj{"oneOf": []obj{adaptive, {"type": "null"}}}, "sweep": obj{"oneOf": []obj{sweep, {"type": "null"}}},
		"warnings": messages, "errors": messages, "peak_memory_mb": nnumber(), "stages": arr(stage),
		"started_at": ndateTime(), "ended_at": ndateTime(), "last_activity": ndateTime(), "elapsed_seconds": nnumber(), "lines": integer(),
	}))
}

func hfssSchema() obj {
	node := object(obj{"hostname": str(), "cores": integer(), "max_cores": integer(), "utilization": integer()})
	layout := object(obj{"create_starting_mesh": boolean(), "default_process_priority": str(), "enable_gpu": boolean(), "mpi_vendor": str(),
		"mpi_version": str(), "remote_spawn_command": str(), "solve_adaptive_only": boolean(), "validate_only": boolean(), "temp_directory": str()})
	sched := object(obj{"queue": str(), "time": str(), "nodes": integer(), "tasks_per_node": integer(), "cores_per_node": integer(), "memory": str(),
		"account": nstr(), "reservation": nstr(), "qos": nstr(), "constraints": nstr(), "exclusive": boolean(), "gpus": integer(), "gpu_type": nstr(),
		"priority": str(), "email_notification": nstr(), "run_as_administrator": boolean()})
	return object(obj{"ansys_edt_path": str(), "solver": str(), "jobid": str(), "user": str(), "distributed": boolean(), "machine_nodes": arr(node),
		"auto": boolean(), "non_graphical": boolean(), "monitor": boolean(), "layout_options": layout, "project_path": str(), "design_name": str(),
		"design_mode": str(), "setup_name": str(), "scheduler_type": str(), "scheduler_options": sched}, "project_path")
}

// OpenAPI returns the OpenAPI 3.1 document of every route, built from the
// same table the routes are registered from.
func (s *Server) OpenAPI() []byte {
	s.openapiOnce.Do(func() {
		paths := obj{}
		for _, r := range s.routes() {
			for _, p := range r.paths {
				item, _ := paths[p].(obj)
				if item == nil {
					item = obj{}
					paths[p] = item
				}
				item[strings.ToLower(r.method)] = operation(r, p)
			}
		}
		doc := obj{
			"openapi": "3.1.0",
			"info": obj{"title": "simjobs", "version": s.opts.Version,
				"description": "Job manager for simulation runs; the REST API of the PyEDB job-manager service."},
			"paths":      paths,
			"components": obj{"schemas": withSchemas(schemas(), resultSchemas()), "securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}}},
		}
		s.openapiDoc, _ = json.MarshalIndent(doc, "", "  ")
	})
	return s.openapiDoc
}

func operation(r route, path string) obj {
	op := obj{"summary": r.summary, "operationId": opID(r.method, path)}
	var params []obj
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, obj{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": str()})
		}
	}
	for _, q := range r.query {
		params = append(params, obj{"name": q.name, "in": "query", "description": q.desc, "schema": obj{"type": q.typ}})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if r.raw != "" {
		op["requestBody"] = obj{"required": true, "content": obj{r.raw: obj{"schema": obj{"type": "string", "format": "binary"}}}}
	}
	if r.body != "" {
		op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(r.body)}}}
	}
	if r.access != public {
		op["security"] = []obj{{"bearer": []string{}}}
	}
	codes := make([]int, 0, len(r.replies))
	for code := range r.replies {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	replies := obj{}
	for _, code := range codes {
		name := r.replies[code]
		resp := obj{"description": statusText(code)}
		switch {
		case name != "":
			resp["content"] = obj{"application/json": obj{"schema": ref(name)}}
		case code == 200 && r.binary != "":
			resp["content"] = obj{r.binary: obj{"schema": obj{"type": "string", "format": "binary"}}}
		case code == 200 && r.text:
			resp["content"] = obj{"text/plain": obj{"schema": str()}}
		case code == 200:
			resp["content"] = obj{"application/json": obj{"schema": obj{"type": "object"}}}
		}
		replies[strconv.Itoa(code)] = resp
	}
	op["responses"] = replies
	return op
}

func statusText(code int) string {
	if t := utils.StatusMessage(code); t != "" {
		return t
	}
	return "status " + strconv.Itoa(code)
}

func opID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(path, "/") {
		seg = strings.Trim(seg, "{}")
		if seg == "" {
			continue
		}
		for _, part := range strings.FieldsFunc(seg, func(r rune) bool { return r == '_' || r == '.' || r == '-' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(s.OpenAPI())
}
