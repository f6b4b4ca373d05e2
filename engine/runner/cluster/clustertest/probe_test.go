package clustertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A SLURM client whose controller does not answer is given up on at the
// timeout, not after its own retries.
func TestSLURMProbeFailsFast(t *testing.T) {
	dir := t.TempDir()
	for name, script := range map[string]string{
		"sbatch": "#!/bin/sh\nexit 1\n",
		"sinfo":  "#!/bin/sh\n# no controller: slurm-client retries for a long while\nsleep 30\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if reason := slurmMissing(200 * time.Millisecond); !strings.Contains(reason, "no answer within 200ms") {
		t.Errorf("reason %q", reason)
	}
}
