package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name     string
		onPath   []string
		env      map[string]string
		goos     string
		want     string
		wantHint string
	}{
		{"nothing", nil, nil, "linux", "", "no scheduler commands"},
		{"slurm", []string{"sbatch", "squeue", "scancel"}, nil, "linux", "slurm", "sbatch, squeue, scancel on PATH"},
		{"slurm with its torque wrappers", []string{"sbatch", "squeue", "scancel", "qsub", "qstat", "qdel", "pbsnodes"}, nil, "linux", "slurm", "sbatch"},
		{"lsf", []string{"bsub", "bjobs", "bkill"}, nil, "linux", "lsf", "bsub"},
		{"pbs", []string{"qsub", "qstat", "qdel", "pbsnodes"}, nil, "linux", "pbs", "pbsnodes"},
		{"grid engine is not pbs", []string{"qsub", "qstat", "qdel"}, nil, "linux", "", "no scheduler"},
		{"half a slurm", []string{"sbatch"}, nil, "linux", "", "no scheduler"},
		{"hpc pack on windows", []string{"job", "node"}, nil, "windows", "windows_hpc", "job, node on PATH"},
		{"job and node elsewhere are not hpc pack", []string{"job", "node"}, nil, "linux", "", "no scheduler"},
		{"hpc pack client elsewhere", []string{"job", "node"}, map[string]string{"CCP_SCHEDULER": "head01"}, "linux", "windows_hpc", "job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			look := func(name string) (string, error) {
				for _, p := range tt.onPath {
					if p == name {
						return "/usr/bin/" + name, nil
					}
				}
				return "", errors.New("not found")
			}
			got, by := detect(look, func(k string) string { return tt.env[k] }, tt.goos)
			if got != tt.want || !strings.Contains(by, tt.wantHint) {
				t.Errorf("detect = %q, %q; want %q, mentioning %q", got, by, tt.want, tt.wantHint)
			}
		})
	}
}

func TestClusterInstance(t *testing.T) {
	dir := t.TempDir()
	first, err := clusterInstance(dir)
	if err != nil || first == "" {
		t.Fatalf("clusterInstance = %q, %v", first, err)
	}
	// No database yet: every start is a new database, a new token.
	second, _ := clusterInstance(dir)
	if second == first {
		t.Errorf("token %q kept although there is no database", first)
	}
	if err := os.WriteFile(filepath.Join(dir, "simjobs.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	third, _ := clusterInstance(dir)
	if third != second {
		t.Errorf("token changed from %q to %q with the database in place", second, third)
	}
}
