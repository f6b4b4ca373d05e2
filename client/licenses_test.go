package client_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/server/servertest"
)

type fixedLicenses struct{ r license.Report }

func (f fixedLicenses) Report() license.Report            { return f.r }
func (f fixedLicenses) History(time.Time) []license.Point { return nil }

func TestLicenses(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	want := license.Report{Servers: []string{"1055@licsrv"}, SampledAt: &at,
		Features: []license.FeatureUse{{Name: "anshpc", Vendor: "ansyslmd", Total: 64, InUse: 16, Reserved: 4, Free: 44,
			Users: []license.User{{User: "alice", Host: "ws1", Since: &at, Seats: 16}}, Reservations: []license.ServerReservation{}}},
		Status: []license.ServerStatus{{Server: "1055@licsrv", Up: true, Vendors: []license.VendorStatus{}}}}
	srv := servertest.Start(t, servertest.Options{Licenses: fixedLicenses{want}})
	got, err := newClient(t, srv.URL).Licenses(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// The client's type is the wire's, the fixture the engine's: compare
	// what each says on the wire.
	if d := cmp.Diff(jsonOf(t, want), jsonOf(t, got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	none := servertest.Start(t, servertest.Options{})
	empty, err := newClient(t, none.URL).Licenses(ctx(t))
	if err != nil || len(empty.Servers) != 0 || empty.SampledAt != nil || len(empty.Features) != 0 {
		t.Errorf("without license servers: %+v, %v", empty, err)
	}
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
