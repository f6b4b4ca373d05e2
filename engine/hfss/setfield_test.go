package hfss_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/simjobs/simjobs/engine/hfss"
)

func TestSetField(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		path string
		want map[string]any
	}{
		{"top level", map[string]any{}, "jobid", map[string]any{"jobid": 1}},
		{"nested, made on the way", map[string]any{}, "layout_options.mpi_vendor", map[string]any{"layout_options": map[string]any{"mpi_vendor": 1}}},
		{"nested, kept siblings", map[string]any{"layout_options": map[string]any{"a": 2}}, "layout_options.b", map[string]any{"layout_options": map[string]any{"a": 2, "b": 1}}},
		{"a scalar on the way is replaced", map[string]any{"x": 3}, "x.y", map[string]any{"x": map[string]any{"y": 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hfss.SetField(tt.in, tt.path, 1)
			if d := cmp.Diff(tt.want, tt.in); d != "" {
				t.Errorf("SetField(%q) (-want +got):\n%s", tt.path, d)
			}
		})
	}
}
