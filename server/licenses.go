package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/server/apitype"
)

// Licenses is the license servers' state the server shows.
type Licenses interface {
	Report() license.Report
	History(since time.Time) []license.Point
}

// emptyLicenses is what GET /api/licenses answers with no server configured.
func emptyLicenses() license.Report {
	return license.Report{Servers: []string{}, Features: []license.FeatureUse{}, Status: []license.ServerStatus{}}
}

func (s *Server) licenses(c *fiber.Ctx) error {
	if s.opts.Licenses == nil {
		return c.JSON(licenseReportOut(emptyLicenses()))
	}
	return c.JSON(licenseReportOut(s.opts.Licenses.Report()))
}

func (s *Server) licenseStatus() apitype.LicenseStatus {
	if s.opts.Licenses == nil {
		return apitype.LicenseStatus{Servers: []string{}, OK: true}
	}
	r := s.opts.Licenses.Report()
	return apitype.LicenseStatus{Configured: true, Servers: r.Servers, SampledAt: r.SampledAt, OK: r.Error == "", Error: r.Error}
}

// licensesSchema is license.Report.
func licensesSchema() obj {
	user := object(obj{"user": str(), "host": str(), "since": ndateTime(), "seats": integer(), "borrowed": boolean()}, "user", "host", "since", "seats", "borrowed")
	feature := object(obj{
		"name": str(), "vendor": str(), "total": integer(), "in_use": integer(), "reserved": integer(), "free": integer(), "uncounted": boolean(),
		"users": arr(user), "queued": integer(), "reservations": arr(object(obj{"seats": integer(), "for": str()}, "seats", "for")),
	}, "name", "vendor", "total", "in_use", "reserved", "free", "uncounted", "users", "queued", "reservations")
	server := object(obj{"server": str(), "up": boolean(), "error": str(),
		"vendors": arr(object(obj{"name": str(), "up": boolean(), "error": str()}, "name", "up", "error"))}, "server", "up", "error", "vendors")
	return object(obj{"servers": arr(str()), "sampled_at": ndateTime(), "error": str(), "features": arr(feature), "server_status": arr(server)},
		"servers", "sampled_at", "error", "features", "server_status")
}

// licenseMetrics adds the license gauges to /metrics.
func (s *Server) licenseMetrics(b *metricsText) {
	if s.opts.Licenses == nil {
		return
	}
	r := s.opts.Licenses.Report()
	for _, g := range []struct {
		name, help string
		v          func(license.FeatureUse) int
	}{
		{"simjobs_license_seats_total", "License seats issued, per feature (all servers).", func(f license.FeatureUse) int { return f.Total }},
		{"simjobs_license_seats_in_use", "License seats checked out, per feature.", func(f license.FeatureUse) int { return f.InUse }},
		{"simjobs_license_seats_reserved", "License seats held for jobs simjobs just started.", func(f license.FeatureUse) int { return f.Reserved }},
		{"simjobs_license_seats_free", "License seats free for new jobs.", func(f license.FeatureUse) int { return f.Free }},
		{"simjobs_license_seats_queued", "License seats users wait for in FlexNet's queue.", func(f license.FeatureUse) int { return f.Queued }},
	} {
		b.gauge(g.name, g.help)
		for _, f := range r.Features {
			b.printf("%s{feature=%q} %d\n", g.name, f.Name, g.v(f))
		}
	}
	b.gauge("simjobs_license_server_up", "1 when the last lmstat read the license server.")
	for _, st := range r.Status {
		b.printf("simjobs_license_server_up{server=%q} %d\n", st.Server, boolInt(st.Up))
	}
	if r.SampledAt != nil {
		b.gauge("simjobs_license_last_poll_timestamp_seconds", "When the license servers were last polled (Unix time).")
		b.printf("simjobs_license_last_poll_timestamp_seconds %d\n", r.SampledAt.Unix())
	}
}
