package frontend

import (
	"strconv"
	"strings"
	"time"
)

// TimeValue is one point of a series: a percentage at a time.
type TimeValue struct {
	T time.Time
	V float64
}

// SeriesPoints is ChartPoints for any series over any window: an SVG
// polyline's points (x time over ChartW, y the percentage, 100 at the
// top), averaged into ChartW buckets.
func SeriesPoints(pts []TimeValue, now time.Time, window time.Duration) string {
	from := now.Add(-window)
	var sum [ChartW]float64
	var n [ChartW]int
	for _, p := range pts {
		if p.T.Before(from) || p.T.After(now) {
			continue
		}
		i := int(float64(p.T.Sub(from)) / float64(window) * ChartW)
		i = min(max(i, 0), ChartW-1)
		sum[i] += p.V
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
