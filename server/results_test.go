package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/results"
	"github.com/simjobs/simjobs/engine/touchstone"
	"github.com/simjobs/simjobs/server/servertest"
)

// TestJobResults runs an HFSS job whose (fake) solver writes an .s2p and a
// .csv into the project's results folder, then reads them back every way
// the API offers, as the owner, another user and an admin.
func TestJobResults(t *testing.T) {
	t.Parallel()
	srv := teamServer(t, servertest.Options{})
	up := call(t, "POST", srv.URL+"/api/projects?name=board.aedt", "alice-secret", strings.NewReader("project"))
	var proj struct {
		ProjectPath string `json:"project_path"`
	}
	up.decode(t, &proj)
	// An old file beside the project is not a result.
	old := filepath.Join(filepath.Dir(proj.ProjectPath), "notes.txt")
	os.WriteFile(old, []byte("old"), 0o644)
	cfg := srv.HFSS("res1")
	cfg["project_path"] = proj.ProjectPath
	body, _ := json.Marshal(map[string]any{"config": cfg})
	if r := call(t, "POST", srv.URL+"/api/submit", "alice-secret", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 200 {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	job, err := srv.Manager.Wait(t.Context(), "res1")
	if err != nil || job.Status != "completed" {
		t.Fatalf("job: %+v %v", job, err)
	}
	// notes.txt was written before the start: make sure its time says so.
	os.Chtimes(old, job.StartTime.Add(-10*results.Slack), job.StartTime.Add(-10*results.Slack))

	base := srv.URL + "/api/jobs/res1"
	r := call(t, "GET", base+"/files", "alice-secret", nil)
	var files []results.File
	r.decode(t, &files)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if r.status != 200 || strings.Join(paths, " ") != "board.aedtresults/board.s2p board.aedtresults/board_S.csv" {
		t.Fatalf("files: %d %v", r.status, paths)
	}

	disk, _ := os.ReadFile(filepath.Join(filepath.Dir(proj.ProjectPath), "board.aedtresults", "board.s2p"))
	r = call(t, "GET", base+"/files/board.aedtresults/board.s2p", "alice-secret", nil)
	if r.status != 200 || !bytes.Equal(r.body, disk) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || !strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if r := call(t, "GET", base+"/files/board.aedtresults/board.s2p?download=1", "alice-secret", nil); !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download=1: %v", r.header)
	}

	// Nothing outside the results is reachable, however the path is spelt.
	for _, p := range []string{
		"../../../simjobs.db", "board.aedtresults/../../../../simjobs.db", "%2e%2e/%2e%2e/%2e%2e/simjobs.db", "..%2f..%2f..%2fsimjobs.db",
		"notes.txt", "board.aedt", "/etc/passwd", "%2fetc%2fpasswd", "board.aedtresults", "board.aedtresults/", "nothing.s2p",
	} {
		req, _ := http.NewRequest("GET", base+"/files/"+p, nil)
		req.Header.Set("Authorization", "Bearer alice-secret")
		req.URL.Opaque = "//" + req.URL.Host + "/api/jobs/res1/files/" + p // sent as written, not cleaned by the client
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET files/%s: %d, want 404", p, resp.StatusCode)
		}
	}

	r = call(t, "GET", base+"/results.zip", "alice-secret", nil)
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if r.status != 200 || err != nil || len(zr.File) != 2 || zr.File[0].Name != "board.aedtresults/board.s2p" {
		t.Fatalf("zip: %d %v %v", r.status, err, zr)
	}

	r = call(t, "GET", base+"/touchstone/board.aedtresults/board.s2p", "alice-secret", nil)
	var view touchstone.View
	r.decode(t, &view)
	if r.status != 200 || view.Ports != 2 || view.Format != "MA" || len(view.Frequencies) != 21 || view.Frequencies[0] != 1e9 || len(view.S) != 4 {
		t.Fatalf("touchstone: %d %+v", r.status, view)
	}
	// The fake solver's S21 at 1 GHz is 0.999614 at -13.628°.
	if s21 := view.S["S21"]; math.Abs(s21.DB[0]-20*math.Log10(0.999614)) > 1e-9 || math.Abs(s21.PhaseDeg[0]+13.628) > 1e-9 {
		t.Errorf("S21[0] = %v dB %v°", s21.DB[0], s21.PhaseDeg[0])
	}
	r = call(t, "GET", base+"/touchstone/board.aedtresults/board.s2p?traces=S21", "alice-secret", nil)
	view = touchstone.View{}
	r.decode(t, &view)
	if len(view.S) != 1 {
		t.Errorf("traces=S21: %v", view.S)
	}
	if r := call(t, "GET", base+"/touchstone/board.aedtresults/board_S.csv", "alice-secret", nil); r.status != 400 || !strings.Contains(string(r.body), "not a Touchstone file") {
		t.Errorf("csv as touchstone: %d %s", r.status, r.body)
	}

	// Bob sees none of it; an admin sees all; nobody unauthenticated.
	for _, p := range []string{"/files", "/files/board.aedtresults/board.s2p", "/results.zip", "/touchstone/board.aedtresults/board.s2p"} {
		if r := call(t, "GET", base+p, "bob-secret", nil); r.status != 404 {
			t.Errorf("bob GET %s: %d %s", p, r.status, r.body)
		}
		if r := call(t, "GET", base+p, "root-secret", nil); r.status != 200 {
			t.Errorf("admin GET %s: %d", p, r.status)
		}
		if r := call(t, "GET", base+p, "", nil); r.status != 401 {
			t.Errorf("anonymous GET %s: %d", p, r.status)
		}
	}
	if r := call(t, "GET", srv.URL+"/api/jobs/nope/files", "alice-secret", nil); r.status != 404 {
		t.Errorf("unknown job: %d", r.status)
	}
}

// TestResultsOfAQueuedJob: a job that has not started has produced nothing.
func TestResultsOfAQueuedJob(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	busy := host.IdleSample()
	busy.CPUPercent = 99
	srv.SetTelemetry(busy)
	body, _ := json.Marshal(map[string]any{"config": srv.HFSS("q1")})
	if r := call(t, "POST", srv.URL+"/api/submit", "", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 200 {
		t.Fatal(r.status)
	}
	r := call(t, "GET", srv.URL+"/api/jobs/q1/files", "", nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
