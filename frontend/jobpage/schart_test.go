package jobpage

import (
	"fmt"
	"math"
	"math/cmplx"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/touchstone"
)

func network(ports, points int, scale float64) *touchstone.Network {
	n := &touchstone.Network{Ports: ports, Parameter: "S", Z0: make([]float64, ports)}
	for f := range points {
		n.Freqs = append(n.Freqs, 1e9+float64(f)*0.5e9)
		m := make([]complex128, ports*ports)
		for k := range m {
			m[k] = cmplx.Rect(scale/float64(k+f+1), float64(10*k+f)*math.Pi/180)
		}
		n.Data = append(n.Data, m)
	}
	return n
}

func TestBuildChart(t *testing.T) {
	n, other := network(2, 21, 0.9), network(2, 21, 0.5)
	c := BuildChart(n, []string{"S11", "S21", "S99"}, "db", other, "run_2")
	var names, classes []string
	for _, tr := range c.Traces {
		names = append(names, tr.Name)
		classes = append(classes, tr.Class)
	}
	if diff := cmp.Diff([]string{"S11", "S11 (run_2)", "S21", "S21 (run_2)"}, names); diff != "" {
		t.Errorf("traces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"trace c0", "trace c0 dashed", "trace c1", "trace c1 dashed"}, classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if c.XLabel != "frequency (GHz)" || c.YLabel != "|S| (dB)" || len(c.Bands) != 21 {
		t.Errorf("labels %q %q, %d bands", c.XLabel, c.YLabel, len(c.Bands))
	}
	// Every point lies inside the plot.
	for _, tr := range c.Traces {
		pts := strings.Fields(tr.Points)
		if len(pts) != 21 {
			t.Fatalf("%s: %d points", tr.Name, len(pts))
		}
		for _, p := range pts {
			var x, y float64
			if _, err := fmtSscan(p, &x, &y); err != nil || x < plotL-0.1 || x > plotR+0.1 || y < plotT-0.1 || y > plotB+0.1 {
				t.Fatalf("%s: point %s outside the plot (%v)", tr.Name, p, err)
			}
		}
	}
	if !strings.Contains(c.Bands[0].Title, "1 GHz") || !strings.Contains(c.Bands[0].Title, "S21 (run_2): ") {
		t.Errorf("hover text %q", c.Bands[0].Title)
	}
	if p := BuildChart(n, []string{"S21"}, "phase", nil, ""); p.YTicks[0].Label != "-180" || p.YTicks[len(p.YTicks)-1].Label != "180" {
		t.Errorf("phase ticks %+v", p.YTicks)
	}
	if e := BuildChart(n, nil, "db", nil, ""); !e.Empty {
		t.Error("no traces is not empty")
	}
	// A long sweep keeps the markup bounded.
	long := BuildChart(network(1, 50000, 1), []string{"S11"}, "db", nil, "")
	if len(long.Bands) > maxBands || len(strings.Fields(long.Traces[0].Points)) > maxPoints+1 {
		t.Errorf("%d bands, %d points", len(long.Bands), len(strings.Fields(long.Traces[0].Points)))
	}
}

func TestNiceRange(t *testing.T) {
	for _, tt := range []struct{ lo, hi, wlo, whi, step float64 }{
		{-31.6, -0.003, -40, 0, 10},
		{1, 11, 0, 12, 2},
		{-3, -3, -4, -2, 0.5},
		{0.1, 0.9, 0, 1, 0.2},
	} {
		lo, hi, step := niceRange(tt.lo, tt.hi)
		if math.Abs(lo-tt.wlo) > 1e-9 || math.Abs(hi-tt.whi) > 1e-9 || math.Abs(step-tt.step) > 1e-9 {
			t.Errorf("niceRange(%g, %g) = %g %g %g, want %g %g %g", tt.lo, tt.hi, lo, hi, step, tt.wlo, tt.whi, tt.step)
		}
	}
}

func TestTraceChoices(t *testing.T) {
	if got := TraceChoices(network(2, 1, 1)); strings.Join(got, " ") != "S11 S12 S21 S22" {
		t.Errorf("2 ports: %v", got)
	}
	if got := TraceChoices(network(12, 1, 1)); len(got) != 12+11+11 {
		t.Errorf("12 ports: %d choices", len(got))
	}
}

func fmtSscan(p string, x, y *float64) (int, error) {
	return fmt.Sscanf(p, "%g,%g", x, y)
}
