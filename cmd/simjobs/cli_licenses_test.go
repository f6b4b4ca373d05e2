package main

import (
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/server/servertest"
)

type shownLicenses struct{ r license.Report }

func (s shownLicenses) Report() license.Report            { return s.r }
func (s shownLicenses) History(time.Time) []license.Point { return nil }

func TestCLILicenses(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	srv := servertest.Start(t, servertest.Options{Licenses: shownLicenses{license.Report{
		Servers: []string{"1055@licsrv"}, SampledAt: &at, Error: "27001@lic2: Cannot connect to license server system.",
		Features: []license.FeatureUse{
			{Name: "anshpc", Total: 64, InUse: 16, Reserved: 4, Free: 44, Users: []license.User{{User: "alice", Host: "ws1", Seats: 16}}},
			{Name: "siwave_level3", Uncounted: true},
		},
	}}})
	r := cliRun{t: t, env: map[string]string{"SIMJOBS_SERVER": srv.URL}}
	res := r.run("licenses")
	want := "servers 1055@licsrv, polled T\n" +
		"error: 27001@lic2: Cannot connect to license server system. (jobs are not held for what could not be read)\n" +
		"FEATURE IN USE RESERVED FREE TOTAL HELD BY\n" +
		"anshpc 16 4 44 64 alice@ws1 ×16\n" +
		"siwave_level3 0 0 0 uncounted \n"
	if res.code != 0 || norm(res.stdout) != want {
		t.Errorf("licenses: %d\n%q\nwant\n%q\n%s", res.code, norm(res.stdout), want, res.stderr)
	}
	if res := r.run("licenses", "--json"); res.code != 0 || !strings.Contains(res.stdout, `"in_use": 16`) {
		t.Errorf("licenses --json: %d %s", res.code, res.stdout)
	}
	none := servertest.Start(t, servertest.Options{})
	if res := (cliRun{t: t, env: map[string]string{"SIMJOBS_SERVER": none.URL}}).run("licenses"); res.code != 0 || !strings.Contains(res.stdout, "no license server configured") {
		t.Errorf("without servers: %d %s", res.code, res.stdout)
	}
}
