package frontend

import (
	"testing"
	"time"
)

func TestSeriesPoints(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		pts  []TimeValue
		want string
	}{
		{"nothing", nil, ""},
		{"outside the window", []TimeValue{{now.Add(-25 * time.Hour), 50}}, ""},
		{"one point is a short stroke", []TimeValue{{now.Add(-12 * time.Hour), 25}}, "176,75.0 180,75.0"},
		{"averaged per bucket, clamped", []TimeValue{{now.Add(-day), 10}, {now.Add(-day + time.Minute), 30}, {now, 150}}, "0,80.0 359,0.0"},
	} {
		if got := SeriesPoints(tc.pts, now, day); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
