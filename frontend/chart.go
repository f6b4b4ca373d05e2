package frontend

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/host"
)

// Chart geometry: the SVG viewBox is ChartW x 100, stretched to its box.
const ChartW = 360

// ChartWindow is how far back the history charts reach.
const ChartWindow = time.Hour

// ChartPoints is an SVG polyline's points for one telemetry series over the
// hour before now: x is time, y the percentage (100 at the top). Samples
// are averaged into ChartW buckets so the markup stays small however often
// the host is sampled.
func ChartPoints(samples []host.Sample, now time.Time, value func(host.Sample) float64) string {
	from := now.Add(-ChartWindow)
	var sum [ChartW]float64
	var n [ChartW]int
	for _, s := range samples {
		if s.Time.Before(from) || s.Time.After(now) {
			continue
		}
		i := int(float64(s.Time.Sub(from)) / float64(ChartWindow) * ChartW)
		i = min(max(i, 0), ChartW-1)
		sum[i] += value(s)
		n[i]++
	}
	var b strings.Builder
	for i := range ChartW {
		if n[i] == 0 {
			continue
		}
		v := min(max(sum[i]/float64(n[i]), 0), 100)
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(100-v, 'f', 1, 64))
	}
	return b.String()
}

// CPU, Memory and Disk pick a series from a sample.
func CPU(s host.Sample) float64    { return s.CPUPercent }
func Memory(s host.Sample) float64 { return s.MemoryPercent }
func Disk(s host.Sample) float64   { return s.DiskUsagePercent }

// LimitY is the y of a percentage line on a chart.
func LimitY(pct float64) string { return strconv.FormatFloat(100-min(max(pct, 0), 100), 'f', 1, 64) }

// PctClass is the class that gives a percentage bar its width: pct-0 to
// pct-100 (frontend/build.mjs writes their rules). A class, not a style
// attribute: the Content-Security-Policy allows no inline style.
func PctClass(v float64) string {
	return "pct-" + strconv.Itoa(int(math.Round(min(max(v, 0), 100))))
}
