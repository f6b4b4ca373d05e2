package jobpage

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine/touchstone"
)

// The S-parameter chart is drawn on the server as SVG (no script): a
// viewBox of SW × SH with the plot inside the margins.
const (
	SW, SH                     = 720, 320
	plotL, plotR, plotT, plotB = 56, 708, 12, 286
	maxBands                   = 240 // hover bands: one per frequency, at most this many
	maxPoints                  = 2000
	maxChartTraces             = 12
	quantityDB, quantityPhase  = "db", "phase"
)

// Trace is one drawn line.
type Trace struct {
	Name   string // S21, or S21 (JOB) for the overlay
	Class  string // colour class: trace c0 ... c7, "dashed" for the overlay
	Points string // SVG polyline points
}

// Tick is an axis label at a position in the viewBox.
type Tick struct {
	At    float64
	Label string
}

// Band is a hover strip around one frequency: its title lists every
// trace's value there.
type Band struct {
	X, W  float64
	Title string
}

// SChart is the chart of one Touchstone file, optionally with the same
// file of another job over it.
type SChart struct {
	Quantity string // db or phase
	YLabel   string
	XLabel   string
	Traces   []Trace
	XTicks   []Tick
	YTicks   []Tick
	Bands    []Band
	Empty    bool // nothing to draw (no trace chosen)
}

type series struct {
	name   string
	class  string
	freqs  []float64
	values []float64
}

// BuildChart draws names of n (and, when other is not nil, the same
// names of other, dashed, labelled with otherLabel) as quantity.
func BuildChart(n *touchstone.Network, names []string, quantity string, other *touchstone.Network, otherLabel string) SChart {
	if quantity != quantityPhase {
		quantity = quantityDB
	}
	c := SChart{Quantity: quantity, YLabel: "|S| (dB)"}
	if quantity == quantityPhase {
		c.YLabel = "phase (°)"
	}
	var all []series
	for k, name := range names {
		if k >= maxChartTraces {
			break
		}
		class := "trace c" + strconv.Itoa(k%8)
		if s, ok := seriesOf(n, name, quantity); ok {
			s.class = class
			all = append(all, s)
		}
		if other != nil {
			if s, ok := seriesOf(other, name, quantity); ok {
				s.name += " (" + otherLabel + ")"
				s.class = class + " dashed"
				all = append(all, s)
			}
		}
	}
	if len(all) == 0 {
		c.Empty = true
		return c
	}
	fmin, fmax := math.Inf(1), math.Inf(-1)
	vmin, vmax := math.Inf(1), math.Inf(-1)
	for _, s := range all {
		fmin, fmax = math.Min(fmin, s.freqs[0]), math.Max(fmax, s.freqs[len(s.freqs)-1])
		for _, v := range s.values {
			vmin, vmax = math.Min(vmin, v), math.Max(vmax, v)
		}
	}
	if fmax <= fmin {
		fmin, fmax = fmin*0.9, fmax*1.1+1
	}
	scale, unit := freqUnit(fmax)
	c.XLabel = "frequency (" + unit + ")"
	var ylo, yhi, ystep float64
	if quantity == quantityPhase {
		ylo, yhi, ystep = -180, 180, 90
	} else {
		ylo, yhi, ystep = niceRange(vmin, vmax)
	}
	x := func(f float64) float64 { return plotL + (f-fmin)/(fmax-fmin)*(plotR-plotL) }
	y := func(v float64) float64 {
		v = math.Min(math.Max(v, ylo), yhi)
		return plotB - (v-ylo)/(yhi-ylo)*(plotB-plotT)
	}
	for _, s := range all {
		var b strings.Builder
		step := max(1, len(s.freqs)/maxPoints)
		for i := 0; i < len(s.freqs); i += step {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(num(x(s.freqs[i])) + "," + num(y(s.values[i])))
		}
		c.Traces = append(c.Traces, Trace{Name: s.name, Class: s.class, Points: b.String()})
	}
	_, _, xstep := niceRange(fmin/scale, fmax/scale)
	for v := math.Ceil(fmin/scale/xstep) * xstep; v <= fmax/scale+xstep*1e-9; v += xstep {
		c.XTicks = append(c.XTicks, Tick{At: x(v * scale), Label: label(v)})
	}
	for v := ylo; v <= yhi+ystep*1e-9; v += ystep {
		c.YTicks = append(c.YTicks, Tick{At: y(v), Label: label(v)})
	}
	c.Bands = bands(all[0].freqs, all, x, scale, unit, quantity)
	return c
}

// bands are hover strips over the first series' frequencies (at most
// maxBands of them), each titled with every trace's value nearest to it.
func bands(freqs []float64, all []series, x func(float64) float64, scale float64, unit, quantity string) []Band {
	step := max(1, (len(freqs)+maxBands-1)/maxBands)
	var out []Band
	suffix := " dB"
	if quantity == quantityPhase {
		suffix = "°"
	}
	for i := 0; i < len(freqs); i += step {
		lo, hi := float64(plotL), float64(plotR)
		if i > 0 {
			lo = (x(freqs[i-step]) + x(freqs[i])) / 2
		}
		if i+step < len(freqs) {
			hi = (x(freqs[i]) + x(freqs[i+step])) / 2
		}
		var t strings.Builder
		fmt.Fprintf(&t, "%s %s", label(freqs[i]/scale), unit)
		for _, s := range all {
			j := nearest(s.freqs, freqs[i])
			fmt.Fprintf(&t, "\n%s: %s%s", s.name, strconv.FormatFloat(s.values[j], 'f', 2, 64), suffix)
		}
		out = append(out, Band{X: lo, W: math.Max(hi-lo, 0.5), Title: t.String()})
	}
	return out
}

func nearest(fs []float64, f float64) int {
	lo, hi := 0, len(fs)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if fs[mid] < f {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo > 0 && math.Abs(fs[lo-1]-f) < math.Abs(fs[lo]-f) {
		return lo - 1
	}
	return lo
}

func seriesOf(n *touchstone.Network, name, quantity string) (series, bool) {
	i, j, ok := n.Index(name)
	if !ok {
		return series{}, false
	}
	t := n.Trace(i, j)
	v := t.DB
	if quantity == quantityPhase {
		v = t.PhaseDeg
	}
	return series{name: name, freqs: n.Freqs, values: v}, true
}

func freqUnit(max float64) (float64, string) {
	switch {
	case max >= 1e9:
		return 1e9, "GHz"
	case max >= 1e6:
		return 1e6, "MHz"
	case max >= 1e3:
		return 1e3, "kHz"
	}
	return 1, "Hz"
}

// niceRange widens lo..hi to round steps of 1, 2 or 5 × 10^k, about six
// of them.
func niceRange(lo, hi float64) (float64, float64, float64) {
	if hi-lo < 1e-9 {
		lo, hi = lo-1, hi+1
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func label(v float64) string {
	if math.Abs(v) < 1e-9 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// TraceChoices are the parameters offered as check boxes: all of a small
// network, the first row and column and the diagonal of a large one.
func TraceChoices(n *touchstone.Network) []string {
	var out []string
	for i := range n.Ports {
		for j := range n.Ports {
			if n.Ports <= 4 || i == j || i == 0 || j == 0 {
				out = append(out, n.Name(i, j))
			}
		}
	}
	return out
}

// DefaultTraces are shown before the user chooses: reflection and
// transmission.
func DefaultTraces(n *touchstone.Network) []string {
	if n.Ports == 1 {
		return []string{n.Name(0, 0)}
	}
	return []string{n.Name(0, 0), n.Name(1, 0)}
}

// Num formats a viewBox coordinate for an attribute.
func Num(v float64) string { return num(v) }
