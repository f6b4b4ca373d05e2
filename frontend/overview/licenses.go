package overview

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/frontend"
)

// maxLicenseCharts bounds the history charts: a site's server may issue a
// hundred features; the busiest of the day are charted.
const maxLicenseCharts = 6

// Licenses is the license part of the overview.
type Licenses struct {
	// Configured is false without --license-server: the panel is hidden.
	Configured bool
	Report     license.Report
	Charts     []LicenseChart
	At         time.Time
}

// LicenseChart is one feature's day of seats in use.
type LicenseChart struct {
	Feature string
	Points  string // SVG polyline points
	Peak    int
	Total   int
}

// LoadLicenses reads the license part.
func LoadLicenses(env *frontend.Env) Licenses {
	l := Licenses{At: time.Now()}
	if env.Licenses == nil {
		return l
	}
	l.Configured = true
	l.Report = env.Licenses.Report()
	hist := env.Licenses.History(l.At.Add(-license.HistoryWindow))
	type series struct {
		pts         []frontend.TimeValue
		peak, total int
	}
	byFeature := map[string]*series{}
	for _, p := range hist {
		for f, used := range p.InUse {
			total := p.Total[f]
			if total <= 0 {
				continue
			}
			s := byFeature[f]
			if s == nil {
				s = &series{}
				byFeature[f] = s
			}
			s.pts = append(s.pts, frontend.TimeValue{T: p.Time, V: 100 * float64(used) / float64(total)})
			s.peak, s.total = max(s.peak, used), total
		}
	}
	// The reading now extends each line to the chart's right edge.
	for _, f := range l.Report.Features {
		if s := byFeature[f.Name]; s != nil && f.Total > 0 {
			s.pts = append(s.pts, frontend.TimeValue{T: l.At, V: 100 * float64(f.InUse) / float64(f.Total)})
		}
	}
	for f, s := range byFeature {
		if s.peak == 0 {
			continue // unused all day: nothing to chart
		}
		l.Charts = append(l.Charts, LicenseChart{Feature: f, Points: frontend.SeriesPoints(s.pts, l.At, license.HistoryWindow), Peak: s.peak, Total: s.total})
	}
	// The busiest (peak share of the seats) first, then by name.
	slices.SortFunc(l.Charts, func(a, b LicenseChart) int {
		pa, pb := a.Peak*b.Total, b.Peak*a.Total
		if pa != pb {
			return pb - pa
		}
		return strings.Compare(a.Feature, b.Feature)
	})
	if len(l.Charts) > maxLicenseCharts {
		l.Charts = l.Charts[:maxLicenseCharts]
	}
	return l
}

// usedPct is a feature's seats taken (in use and reserved), in percent.
func usedPct(f license.FeatureUse) float64 {
	if f.Total <= 0 {
		return 0
	}
	return 100 * float64(f.InUse+f.Reserved) / float64(f.Total)
}

func seatsLine(f license.FeatureUse) string {
	if f.Uncounted {
		return fmt.Sprintf("%d in use · uncounted", f.InUse)
	}
	s := fmt.Sprintf("%d / %d in use", f.InUse, f.Total)
	if f.Reserved > 0 {
		s += fmt.Sprintf(" · %d reserved", f.Reserved)
	}
	return s + fmt.Sprintf(" · %d free", f.Free)
}

func holder(u license.User) string {
	s := u.User + "@" + u.Host
	if u.Seats > 1 {
		s += fmt.Sprintf(" ×%d", u.Seats)
	}
	if u.Borrowed {
		s += " (borrowed)"
	}
	return s
}

func since(u license.User) string {
	if u.Since == nil {
		return ""
	}
	return "since " + frontend.Time(*u.Since)
}

func sampled(r license.Report) string {
	if r.SampledAt == nil {
		return "waiting for the first poll…"
	}
	return "polled " + frontend.Time(*r.SampledAt)
}
