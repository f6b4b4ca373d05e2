package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/server/apitype"
	"github.com/simjobs/simjobs/server/servertest"
)

// staticLicenses is a license monitor that always says the same.
type staticLicenses struct{ r license.Report }

func (s staticLicenses) Report() license.Report            { return s.r }
func (s staticLicenses) History(time.Time) []license.Point { return nil }

func sampleReport() license.Report {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	since := at.Add(-time.Hour)
	return license.Report{
		Servers: []string{"1055@licsrv", "27001@lic2"}, SampledAt: &at,
		Error: "27001@lic2: Cannot connect to license server system.",
		Features: []license.FeatureUse{
			{Name: "anshpc", Vendor: "ansyslmd", Total: 64, InUse: 16, Reserved: 8, Free: 40,
				Users: []license.User{{User: "alice", Host: "ws1", Since: &since, Seats: 16}}, Reservations: []license.ServerReservation{}},
			{Name: "electronics_desktop", Vendor: "ansyslmd", Total: 2, InUse: 2, Free: 0, Queued: 1,
				Users:        []license.User{{User: "bob", Host: "ws2", Seats: 1, Borrowed: true}, {User: "carol", Host: "ws3", Since: &since, Seats: 1}},
				Reservations: []license.ServerReservation{{Seats: 1, For: "GROUP hfss"}}},
		},
		Status: []license.ServerStatus{
			{Server: "1055@licsrv", Up: true, Vendors: []license.VendorStatus{{Name: "ansyslmd", Up: true}}},
			{Server: "27001@lic2", Error: "Cannot connect to license server system.", Vendors: []license.VendorStatus{}},
		},
	}
}

func getJSON(t *testing.T, url string, out any) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, b)
		}
	}
	return b
}

func TestLicensesRoute(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{Licenses: staticLicenses{sampleReport()}})
	doc := fetchDoc(t, srv.URL)
	v := &validator{schemas: doc.Components.Schemas}

	var got map[string]any
	getJSON(t, srv.URL+"/api/licenses", &got)
	for _, p := range v.check(&schema{Ref: "#/components/schemas/Licenses"}, got, "licenses") {
		t.Error(p)
	}
	if got["sampled_at"] != "2026-12-01T09:30:00Z" || !strings.Contains(got["error"].(string), "27001@lic2") {
		t.Errorf("report = %v", got)
	}
	feats := got["features"].([]any)
	f := feats[0].(map[string]any)
	if f["name"] != "anshpc" || f["total"] != 64.0 || f["in_use"] != 16.0 || f["reserved"] != 8.0 {
		t.Errorf("feature = %v", f)
	}
	if u := f["users"].([]any)[0].(map[string]any); u["user"] != "alice" || u["host"] != "ws1" || u["since"] != "2026-12-01T08:30:00Z" {
		t.Errorf("user = %v", u)
	}

	var st apitype.StatusReply
	getJSON(t, srv.URL+"/system/status", &st)
	if !st.Licenses.Configured || st.Licenses.OK || !strings.Contains(st.Licenses.Error, "Cannot connect") || len(st.Licenses.Servers) != 2 {
		t.Errorf("status licenses = %+v", st.Licenses)
	}

	metrics := string(getJSON(t, srv.URL+"/metrics", nil))
	for _, want := range []string{
		`simjobs_license_seats_total{feature="anshpc"} 64`,
		`simjobs_license_seats_in_use{feature="electronics_desktop"} 2`,
		`simjobs_license_seats_reserved{feature="anshpc"} 8`,
		`simjobs_license_seats_free{feature="anshpc"} 40`,
		`simjobs_license_seats_queued{feature="electronics_desktop"} 1`,
		`simjobs_license_server_up{server="27001@lic2"} 0`,
		`simjobs_license_server_up{server="1055@licsrv"} 1`,
		"simjobs_license_last_poll_timestamp_seconds 1796117400",
		"# TYPE simjobs_license_seats_total gauge",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestLicensesRouteWithoutServers(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	b := getJSON(t, srv.URL+"/api/licenses", nil)
	want := `{"servers":[],"sampled_at":null,"error":"","features":[],"server_status":[]}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var st apitype.StatusReply
	getJSON(t, srv.URL+"/system/status", &st)
	if st.Licenses.Configured || !st.Licenses.OK {
		t.Errorf("status licenses = %+v", st.Licenses)
	}
	if m := string(getJSON(t, srv.URL+"/metrics", nil)); strings.Contains(m, "simjobs_license_") {
		t.Error("license gauges without a license server")
	}
}
