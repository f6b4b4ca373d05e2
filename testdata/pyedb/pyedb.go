// Package pyedb holds what PyEDB's job-manager clients send, for tests and
// benchmarks: an HFSSSimulationConfig as HFSSSimulationConfig.to_dict
// serialises it, with the extra platform, timestamp and version keys and
// nulls for unset optional strings.
package pyedb

// Config returns a fresh PyEDB config dictionary for the project at path,
// with job id id. Callers may change it; each call builds a new one.
func Config(id, project string) map[string]any {
	return map[string]any{
		"ansys_edt_path": "/opt/AnsysEM/v252/Linux64/ansysedt", "solver": "Hfss3DLayout", "jobid": id,
		"distributed":   true,
		"machine_nodes": []any{map[string]any{"hostname": "localhost", "cores": -1, "max_cores": 20, "utilization": 90}},
		"auto":          true, "non_graphical": true, "monitor": true,
		"layout_options": map[string]any{
			"create_starting_mesh": false, "default_process_priority": "Normal", "enable_gpu": false,
			"mpi_vendor": "Intel", "mpi_version": "Default", "remote_spawn_command": "Scheduler",
			"solve_adaptive_only": false, "validate_only": false, "temp_directory": "/tmp",
		},
		"project_path": project, "design_name": "", "design_mode": "", "setup_name": "", "scheduler_type": "none",
		"scheduler_options": map[string]any{
			"queue": "default", "time": "24:00:00", "nodes": 1, "tasks_per_node": 1, "cores_per_node": 0,
			"memory": "4GB", "account": nil, "reservation": nil, "qos": nil, "constraints": nil, "exclusive": false,
			"gpus": 0, "gpu_type": nil, "priority": "Normal", "email_notification": nil, "run_as_administrator": false,
		},
		"platform": "Linux", "timestamp": "2025-10-12T11:55:28.123456", "version": "1.0.0",
	}
}
