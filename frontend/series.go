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
	filled, last := 0, 0
	for i := range ChartW {
		if n[i] == 0 {
			continue
		}
		filled, last = filled+1, i
		writePoint(&b, i, sum[i]/float64(n[i]))
	}
	if filled == 1 {
		// One point draws nothing: make it a short stroke, so a series
		// that has just begun shows (it begins at the right edge: now).
		v := sum[last] / float64(n[last])
		b.Reset()
		if last >= 4 {
			writePoint(&b, last-4, v)
			writePoint(&b, last, v)
		} else {
			writePoint(&b, last, v)
			writePoint(&b, last+4, v)
		}
	}
	return b.String()
}

func writePoint(b *strings.Builder, x int, pct float64) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(strconv.Itoa(x))
	b.WriteByte(',')
	b.WriteString(strconv.FormatFloat(100-min(max(pct, 0), 100), 'f', 1, 64))
}
