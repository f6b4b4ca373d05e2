package hfss

import (
	"slices"
	"testing"
)

// ValidateAll names every field that fails, in field order; Validate the
// first of them.
func TestValidateAll(t *testing.T) {
	t.Parallel()
	c := Default()
	c.ProjectPath = "/p/board.aedt"
	c.JobID = "a b"
	c.MachineNodes[0].Utilization = 150
	c.MachineNodes[0].MaxCores = 0
	c.SchedulerOptions.Time = "soon"
	c.SchedulerOptions.Nodes = 0
	var got []string
	for _, fe := range c.ValidateAll() {
		got = append(got, fe.Field)
	}
	want := []string{"jobid", "machine_nodes[0].max_cores", "machine_nodes[0].utilization", "scheduler_options.time", "scheduler_options.nodes"}
	if !slices.Equal(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}
	if err := c.Validate(); err == nil || err.(*FieldError).Field != "jobid" {
		t.Errorf("Validate: %v, want the jobid error", err)
	}
	c = Default()
	c.ProjectPath = "/p/board.aedt"
	if errs := c.ValidateAll(); len(errs) != 0 {
		t.Errorf("a valid config: %v", errs)
	}
}
