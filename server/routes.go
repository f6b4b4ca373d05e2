package server

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// access is who may call a route.
type access int

const (
	authed access = iota // any authenticated caller
	public               // anyone
	admin                // admins only
)

// route declares an endpoint once: where it answers, who may call it, what
// it does, and what it takes and gives (for the OpenAPI document).
type route struct {
	method  string
	paths   []string // OpenAPI style: /jobs/{id}
	access  access
	summary string
	handler fiber.Handler
	query   []param
	body    string         // schema name of the request body, "" for none
	replies map[int]string // status -> schema name ("" = no JSON body)
	text    bool           // 200 answers text/plain
	raw     string         // media type of a non-JSON request body (an upload)
	binary  string         // media type of a non-JSON 200 answer (a download)
}

type param struct {
	name, typ, desc string
}

func (s *Server) routes() []route {
	jobErrors := map[int]string{400: "Error", 401: "Error", 403: "Error", 404: "Error"}
	with := func(base map[int]string, more map[int]string) map[int]string {
		out := map[int]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	return []route{
		{method: "POST", paths: []string{"/jobs/submit", "/api/submit"}, summary: "Submit a job (HFSS config or plain command)", handler: s.submit,
			body: "SubmitRequest", replies: map[int]string{200: "SubmitReply", 400: "Error", 401: "Error", 413: "Error", 429: "Error"}},
		{method: "GET", paths: []string{"/jobs", "/api/jobs"}, summary: "List jobs in submission order (X-Total-Count header)", handler: s.listJobs,
			query: []param{{"status", "string", "comma-separated statuses"}, {"user", "string", "owner"}, {"q", "string", "substring of id, user or project path"},
				{"limit", "integer", "page size (max 10000; default: the newest 10000)"}, {"offset", "integer", "jobs to skip"},
				{"sweep", "string", "only this sweep's jobs, in variation order"}},
			replies: map[int]string{200: "JobList", 400: "Error", 401: "Error"}},
		{method: "GET", paths: []string{"/jobs/{id}"}, summary: "One job", handler: s.getJob, replies: with(jobErrors, map[int]string{200: "Job"})},
		{method: "GET", paths: []string{"/jobs/{id}/history"}, summary: "Every attempt and status change of a job", handler: s.jobHistory, replies: with(jobErrors, map[int]string{200: "JobHistory"})},
		{method: "POST", paths: []string{"/jobs/{id}/cancel", "/api/cancel/{id}"}, summary: "Cancel a queued or running job", handler: s.cancelJob, replies: with(jobErrors, map[int]string{200: "Reply", 409: "Error"})},
		{method: "POST", paths: []string{"/jobs/{id}/priority"}, summary: "Change a queued job's priority", handler: s.setPriority, body: "PriorityRequest", replies: with(jobErrors, map[int]string{200: "Reply", 409: "Error"})},
		{method: "GET", paths: []string{"/jobs/{id}/log"}, summary: "A job's stdout or stderr (X-Log-Size, X-Log-Offset headers)", handler: s.jobLog, text: true,
			query:   []param{{"stream", "string", "stdout (default) or stderr"}, {"offset", "integer", "byte offset to read from"}, {"tail", "integer", "last N lines"}, {"attempt", "integer", "attempt number (default: latest)"}, {"wait", "string", "a duration (30s, at most 60s): when nothing is new past offset and the job still runs, answer once the log grows, the job ends or the wait passes (429 while the caller holds the most live connections)"}},
			replies: with(jobErrors, map[int]string{200: "", 429: "Error"})},
		{method: "GET", paths: []string{"/api/jobs/{id}/log"}, summary: "What the job's solver log says: solver, phase, adaptive passes, sweep, warnings and errors (204 while there is no solver output)", handler: s.jobLogSummary,
			query:   []param{{"attempt", "integer", "attempt number (default: latest)"}},
			replies: with(jobErrors, map[int]string{200: "LogSummary", 204: ""})},
		{method: "POST", paths: []string{"/api/projects"}, summary: "Upload a project: the raw body is the .aedt, or a zipped .aedb folder (unpacked, every entry confined); kept under the caller's upload folder", handler: s.uploadProject,
			query: []param{{"name", "string", "file name: board.aedt or board.aedb.zip"}}, raw: "application/octet-stream",
			replies: map[int]string{200: "ProjectReply", 400: "Error", 401: "Error", 403: "Error", 413: "Error", 415: "Error", 503: "Error"}},
		{method: "POST", paths: []string{"/api/uploads"}, summary: "Resumable upload (tus 1.0.0 creation): Upload-Length and Upload-Metadata name (board.aedt or board.aedb.zip); answers Location", handler: s.tus, text: true,
			replies: map[int]string{201: "", 400: "", 401: "Error", 403: "Error", 412: "", 413: "", 503: "Error"}},
		{method: "HEAD", paths: []string{"/api/uploads/{id}"}, summary: "Resumable upload: the offset received so far (Upload-Offset)", handler: s.tus,
			replies: map[int]string{200: "", 401: "Error", 404: "", 412: "", 503: "Error"}},
		{method: "PATCH", paths: []string{"/api/uploads/{id}"}, summary: "Resumable upload: append at Upload-Offset (application/offset+octet-stream); the last one answers Upload-Project-Path", handler: s.tus,
			raw: "application/offset+octet-stream", replies: map[int]string{204: "", 400: "", 401: "Error", 403: "Error", 404: "", 409: "", 412: "", 413: "", 415: "", 503: "Error"}},
		{method: "DELETE", paths: []string{"/api/uploads/{id}"}, summary: "Resumable upload: abandon it", handler: s.tus,
			replies: map[int]string{204: "", 401: "Error", 403: "Error", 404: "", 412: "", 503: "Error"}},
		{method: "GET", paths: []string{"/api/jobs/{id}/files"}, summary: "Files the job wrote in its project folder or working directory while it ran (X-Truncated when the listing was cut)", handler: s.listFiles,
			replies: with(jobErrors, map[int]string{200: "ResultFiles"})},
		{method: "GET", paths: []string{"/api/jobs/{id}/files/{path}"}, summary: "One result file (path as listed; anything else is a 404)", handler: s.downloadFile, binary: "application/octet-stream",
			query: []param{{"download", "string", "any value: answer as an attachment"}}, replies: with(jobErrors, map[int]string{200: ""})},
		{method: "GET", paths: []string{"/api/jobs/{id}/results.zip"}, summary: "Every result file, zipped as it is sent", handler: s.resultsZip, binary: "application/zip",
			replies: with(jobErrors, map[int]string{200: ""})},
		{method: "GET", paths: []string{"/api/jobs/{id}/touchstone/{path}"}, summary: "A Touchstone result (.sNp, 1.x or 2.x) as magnitude (dB) and phase against frequency", handler: s.touchstoneView,
			query: []param{{"traces", "string", "comma-separated parameters (S11,S21); default all"}}, replies: with(jobErrors, map[int]string{200: "Touchstone", 413: "Error"})},
		{method: "POST", paths: []string{"/api/sweeps"}, summary: "Submit a sweep: one job per combination of parameter values, ${VAR} replaced in every string of the template; all or nothing", handler: s.submitSweep,
			body: "SweepRequest", replies: map[int]string{200: "SweepReply", 400: "Error", 401: "Error", 409: "Error", 413: "Error"}},
		{method: "GET", paths: []string{"/api/sweeps"}, summary: "List sweeps, newest first (X-Total-Count header)", handler: s.listSweeps,
			query:   []param{{"user", "string", "owner"}, {"limit", "integer", "page size (default 100, max 10000)"}, {"offset", "integer", "sweeps to skip"}},
			replies: map[int]string{200: "SweepList", 400: "Error", 401: "Error"}},
		{method: "GET", paths: []string{"/api/sweeps/{id}"}, summary: "One sweep: counts per status, parameters, job ids", handler: s.getSweep, replies: with(jobErrors, map[int]string{200: "Sweep"})},
		{method: "POST", paths: []string{"/api/sweeps/{id}/cancel"}, summary: "Cancel every job of a sweep not yet ended", handler: s.cancelSweep, replies: with(jobErrors, map[int]string{200: "SweepCancelReply"})},
		{method: "POST", paths: []string{"/api/sweeps/{id}/resubmit"}, summary: "Submit again the sweep's failed and cancelled jobs (each as its next attempt)", handler: s.resubmitSweep, replies: with(jobErrors, map[int]string{200: "SweepReply"})},
		{method: "GET", paths: []string{"/resources", "/api/resources"}, summary: "Host telemetry", handler: s.resources, replies: map[int]string{200: "Resources", 401: "Error"}},
		{method: "GET", paths: []string{"/queue", "/api/queue"}, summary: "Queue statistics", handler: s.queue, replies: map[int]string{200: "Queue", 401: "Error"}},
		{method: "GET", paths: []string{"/pool/limits"}, summary: "The limits in force", handler: s.getLimits, replies: map[int]string{200: "Limits", 401: "Error"}},
		{method: "PUT", paths: []string{"/pool/limits"}, access: admin, summary: "Change limits (effective at once)", handler: s.setLimits, body: "Limits",
			replies: map[int]string{200: "LimitsReply", 400: "Error", 401: "Error", 403: "Error"}},
		{method: "GET", paths: []string{"/system/status"}, summary: "Mode, scheduler detection, monitoring, local pool", handler: s.systemStatus, replies: map[int]string{200: "SystemStatus", 401: "Error"}},
		{method: "POST", paths: []string{"/system/start_monitoring"}, access: admin, summary: "Take a fresh telemetry sample", handler: s.startMonitoring, replies: map[int]string{200: "Reply", 401: "Error", 403: "Error"}},
		{method: "POST", paths: []string{"/system/drain"}, access: admin, summary: "Graceful drain: stop starting jobs, let running ones finish, exit", handler: s.drain, replies: map[int]string{202: "Reply", 401: "Error", 403: "Error"}},
		{method: "POST", paths: []string{"/system/backup"}, access: admin, summary: "A consistent copy of the database, taken while the server runs (application/vnd.sqlite3)", handler: s.backup, binary: "application/vnd.sqlite3", replies: map[int]string{200: "", 401: "Error", 403: "Error", 503: "Error"}},
		{method: "GET", paths: []string{"/api/audit"}, access: admin, summary: "Audit trail of changes that are not about one job (limits, drains), newest first", handler: s.audit,
			query:   []param{{"limit", "integer", "entries (default 100, max 1000)"}, {"before", "integer", "only entries with a smaller id (paging)"}},
			replies: map[int]string{200: "AuditList", 400: "Error", 401: "Error", 403: "Error"}},
		{method: "GET", paths: []string{"/scheduler/partitions"}, summary: "Cluster partitions (400 without a scheduler)", handler: s.partitions, replies: map[int]string{200: "Partitions", 400: "Error", 401: "Error"}},
		{method: "GET", paths: []string{"/api/cluster_partitions"}, summary: "Cluster partitions ([] without a scheduler)", handler: s.clusterPartitions, replies: map[int]string{200: "Partitions", 401: "Error"}},
		{method: "GET", paths: []string{"/api/scheduler_type"}, summary: "Where jobs run", handler: s.schedulerType, replies: map[int]string{200: "SchedulerType", 401: "Error"}},
		{method: "GET", paths: []string{"/api/licenses"}, summary: "License servers: features, seats issued, in use and reserved for jobs just started, who holds them (empty without --license-server)", handler: s.licenses, replies: map[int]string{200: "Licenses", 401: "Error"}},
		{method: "GET", paths: []string{"/api/me"}, summary: "The caller's identity", handler: s.me, replies: map[int]string{200: "Me", 401: "Error"}},
		{method: "GET", paths: []string{"/ws"}, summary: "WebSocket event stream (?since=SEQ replays missed events)", handler: s.websocket, access: authed,
			query: []param{{"since", "integer", "last event seq seen"}}, replies: map[int]string{101: "", 401: "Error", 426: "Error"}},
		{method: "GET", paths: []string{"/socket.io/"}, access: public, summary: "Socket.IO (Engine.IO 4): polling handshake and polls, or WebSocket; same events as /ws (auth: request credentials or CONNECT auth {token})", handler: s.socketIOGet, text: true,
			query:   []param{{"EIO", "string", "protocol version: 4"}, {"transport", "string", "polling or websocket"}, {"sid", "string", "session id (after the handshake)"}},
			replies: map[int]string{101: "", 200: "", 400: "EngineIOError", 503: "Error"}},
		{method: "POST", paths: []string{"/socket.io/"}, access: public, summary: "Socket.IO: packets from a polling client (text/plain payload)", handler: s.socketIOPost, text: true,
			query:   []param{{"EIO", "string", "protocol version: 4"}, {"transport", "string", "polling"}, {"sid", "string", "session id"}},
			replies: map[int]string{200: "", 400: "EngineIOError"}},
		{method: "GET", paths: []string{"/healthz"}, access: public, summary: "Liveness", handler: s.healthz, replies: map[int]string{200: "Health"}},
		{method: "GET", paths: []string{"/readyz"}, access: public, summary: "Readiness (503 while draining or while the database cannot be written)", handler: s.readyz, replies: map[int]string{200: "Health", 503: "NotReady"}},
		{method: "GET", paths: []string{"/metrics"}, summary: "Prometheus metrics", handler: s.metrics, text: true, replies: map[int]string{200: "", 401: "Error"}},
		{method: "GET", paths: []string{"/openapi.json"}, access: public, summary: "This document", handler: s.openAPI, replies: map[int]string{200: ""}},
	}
}

// fiberPath turns /jobs/{id} into /jobs/:id, and a trailing {path} (a
// file path, slashes and all) into Fiber's wildcard.
func fiberPath(p string) string {
	p = strings.Replace(p, "{path}", "*", 1)
	p = strings.ReplaceAll(p, "{", ":")
	return strings.ReplaceAll(p, "}", "")
}
