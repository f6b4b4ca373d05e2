//go:build unix

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// Without a solver the overview and the submit page say how to set one;
// with one they say nothing of it.
func TestNoSolverBanner(t *testing.T) {
	t.Parallel()
	var env []string // no Ansys installation to find
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "ANSYSEM_ROOT") {
			env = append(env, k+"=")
		}
	}
	env = append(env, "SIMJOBS_ANSYS_EDT_PATH=")
	p := startEnv(t, t.TempDir(), env)
	for _, path := range []string{"/", "/ui/submit"} {
		page := p.page(t, path)
		if !strings.Contains(page, `id="no-solver"`) || !strings.Contains(page, `make run ARGS=&#34;--ansys-edt-path`) && !strings.Contains(page, `make run ARGS="--ansys-edt-path`) {
			t.Errorf("%s has no banner saying how to set the solver", path)
		}
	}
	q := start(t, t.TempDir(), "--ansys-edt-path", fakesolver.Path())
	for _, path := range []string{"/", "/ui/submit"} {
		if strings.Contains(q.page(t, path), `id="no-solver"`) {
			t.Errorf("%s says no solver is configured while one is", path)
		}
	}
}
