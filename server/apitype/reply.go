package apitype

// Reply is the API's plain answer (cancel, priority, monitoring, drain).
type Reply struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

// ErrorReply is every error answer: {"success": false, "error": "..."}.
type ErrorReply struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
}

// SubmitReply answers POST /jobs/submit and POST /api/submit.
type SubmitReply struct {
	Success   bool   `json:"success"`
	JobID     string `json:"job_id"`
	Message   string `json:"message"`
	Status    Status `json:"status"`
	Attempt   int    `json:"attempt"`
	Duplicate bool   `json:"duplicate"`
}

// ProjectReply answers POST /api/projects: ProjectPath is what to submit.
type ProjectReply struct {
	Success     bool   `json:"success"`
	ProjectPath string `json:"project_path"`
	UploadID    string `json:"upload_id"`
}

// Me answers GET /api/me: who the server takes the caller for.
type Me struct {
	Username string `json:"username"`
	Role     string `json:"role"`
}

// SchedulerType answers GET /api/scheduler_type: "none" (the server's
// host), "slurm", "lsf", "pbs", "windows_hpc" or "sge".
type SchedulerType struct {
	SchedulerType string `json:"scheduler_type"`
}

// Health answers GET /healthz and, when ready, GET /readyz.
type Health struct {
	Status string `json:"status"`
}
