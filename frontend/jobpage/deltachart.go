package jobpage

import (
	"math"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine/solverlog"
)

// The convergence chart's geometry, in SVG user units: the plot sits in
// a box with room on the left for the Delta S axis and below for passes.
const (
	dcW, dcH             = 360, 170
	dcLeft, dcRight      = 44, 10
	dcTop, dcBottom      = 12, 28
	dcPlotW, dcPlotH     = dcW - dcLeft - dcRight, dcH - dcTop - dcBottom
	dcPlotRight, dcPlotB = dcLeft + dcPlotW, dcTop + dcPlotH
)

// chartPoint is one pass on the chart, with its value written by it.
type chartPoint struct {
	X, Y   string
	LX, LY string // where its label goes
	Label  string
}

// chartTick is one labelled line of an axis.
type chartTick struct {
	At    string // y for the Delta S axis, x for passes
	Label string
}

// deltaChartModel is the convergence chart: Max Mag. Delta S of each pass
// on a log scale, with both axes labelled, each value written and the
// convergence target drawn.
type deltaChartModel struct {
	Points  []chartPoint
	Line    string // the polyline's points
	YTicks  []chartTick
	XTicks  []chartTick
	TargetY string
	Target  string // the target line's label
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// deltaChart lays out the chart; ok is false when no pass has a Delta S.
func deltaChart(a *solverlog.Adaptive) (m deltaChartModel, ok bool) {
	type pt struct {
		pass int
		v    float64 // log10 of Delta S
		raw  *float64
	}
	var pts []pt
	for _, p := range a.Passes {
		if p.MaxMagDeltaS != nil && *p.MaxMagDeltaS > 0 {
			pts = append(pts, pt{p.Pass, math.Log10(*p.MaxMagDeltaS), p.MaxMagDeltaS})
		}
	}
	if len(pts) == 0 {
		return m, false
	}
	target, stated := solverlog.DefaultTargetMaxMagDeltaS, false
	if t := a.TargetMaxMagDeltaS; t != nil && *t > 0 {
		target, stated = *t, true
	}
	lt := math.Log10(target)
	lo, hi := lt, lt
	for _, p := range pts {
		lo, hi = min(lo, p.v), max(hi, p.v)
	}
	// Whole decades, so that the ticks are 1, 0.1, 0.01...
	lo, hi = math.Floor(lo), math.Ceil(hi)
	if hi-lo < 1 {
		hi = lo + 1
	}
	y := func(v float64) float64 { return dcTop + dcPlotH*(hi-v)/(hi-lo) }
	first, last := pts[0].pass, pts[len(pts)-1].pass
	x := func(pass int) float64 {
		if last == first {
			return dcLeft + dcPlotW/2
		}
		return dcLeft + 8 + (dcPlotW-16)*float64(pass-first)/float64(last-first)
	}
	for d := lo; d <= hi; d++ {
		m.YTicks = append(m.YTicks, chartTick{At: fnum(y(d)), Label: strconv.FormatFloat(math.Pow(10, d), 'g', -1, 64)})
	}
	step := max(1, (last-first+1)/10)
	for p := first; p <= last; p += step {
		m.XTicks = append(m.XTicks, chartTick{At: fnum(x(p)), Label: strconv.Itoa(p)})
	}
	var line strings.Builder
	for i, p := range pts {
		px, py := x(p.pass), y(p.v)
		if i > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(fnum(px) + "," + fnum(py))
		ly := py - 6
		if ly < dcTop+4 {
			ly = py + 12
		}
		m.Points = append(m.Points, chartPoint{X: fnum(px), Y: fnum(py), LX: fnum(px), LY: fnum(ly), Label: delta(p.raw)})
	}
	m.Line = line.String()
	m.TargetY = fnum(y(lt))
	m.Target = "target " + strconv.FormatFloat(target, 'g', 3, 64)
	if !stated {
		m.Target += " (HFSS default)"
	}
	return m, true
}

func itoa(n int) string { return strconv.Itoa(n) }
