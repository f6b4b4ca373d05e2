package engine

import (
	"context"
	"encoding/json"
	"path/filepath"

	"github.com/simjobs/simjobs/engine/results"
)

// Results is where the latest attempt of job id wrote its results: the
// project's folder of an HFSS job, the working directory of a command,
// over the time it ran. A job that has not started has an empty set.
func (m *Manager) Results(ctx context.Context, id string) (Job, results.Set, error) {
	job, err := m.store.JobGet(ctx, id)
	if err != nil {
		return Job{}, results.Set{}, err
	}
	return job, ResultSet(job), nil
}

// ResultSet is Results for a job record at hand.
func ResultSet(job Job) results.Set {
	if job.StartTime == nil {
		return results.Set{}
	}
	var cfg struct {
		ProjectPath      string `json:"project_path"`
		WorkingDirectory string `json:"working_directory"`
	}
	_ = json.Unmarshal(job.Config, &cfg)
	dir := cfg.WorkingDirectory
	if job.Kind == KindHFSS || (job.Kind == "" && cfg.ProjectPath != "") {
		dir = ""
		if cfg.ProjectPath != "" {
			dir = filepath.Dir(cfg.ProjectPath)
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		return results.Set{}
	}
	s := results.Set{Root: filepath.Clean(dir), From: *job.StartTime}
	if job.EndTime != nil {
		s.To = *job.EndTime
	}
	return s
}
