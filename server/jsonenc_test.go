package server

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/store/storetest"
	"github.com/simjobs/simjobs/server/apitype"
)

// wireTypes holds a value of every type the server writes.
var wireTypes = []any{
	apitype.Event{}, apitype.JobQueuedData{}, apitype.JobStartedData{}, apitype.JobScheduledData{},
	apitype.JobEndedData{}, apitype.PriorityChangedData{}, apitype.LimitsUpdatedData{},
	apitype.ResourcesUpdatedData{}, apitype.JobProgressData{}, apitype.SweepEndedData{}, apitype.ResyncData{},
	apitype.Job{}, []apitype.Job{}, apitype.Dependency{}, apitype.RetryPolicy{}, apitype.Transition{},
	apitype.Delivery{}, apitype.JobHistory{}, apitype.AuditEntry{},
	apitype.LicenseReport{}, apitype.LicenseUse{}, apitype.LicenseUser{}, apitype.LicenseReservation{},
	apitype.LicenseServer{}, apitype.LicenseVendor{},
	apitype.LogSummary{}, apitype.LogMachine{}, apitype.LogInitialMesh{}, apitype.LogAdaptive{},
	apitype.LogPass{}, apitype.LogSweep{}, apitype.LogMessages{}, apitype.LogMessage{}, apitype.LogStage{},
	apitype.Progress{}, apitype.Estimate{},
	apitype.Limits{}, apitype.LimitsPatch{}, apitype.LimitsReply{}, apitype.HostSample{}, []apitype.HostSample{},
	apitype.QueueReply{}, apitype.StatusReply{}, apitype.SchedulerDetection{}, apitype.ResourceMonitoring{},
	apitype.LocalPool{}, apitype.LicenseStatus{}, apitype.Partition{},
	apitype.Reply{}, apitype.ErrorReply{}, apitype.SubmitReply{}, apitype.ProjectReply{}, apitype.Me{},
	apitype.SchedulerType{}, apitype.Health{}, apitype.ResultFile{}, apitype.TouchstoneView{},
	apitype.TouchstoneTrace{}, apitype.Sweep{}, apitype.SweepParam{}, apitype.SweepParams{},
	apitype.SweepReply{}, apitype.SweepCancelReply{},
	map[string]any{}, // what a few handlers answer (fiber.Map)
}

// filled returns a value of each wire type, empty and with every field
// set by f.
func filled(f *filler) []any {
	var out []any
	for _, w := range wireTypes {
		out = append(out, w)
		v := reflect.New(reflect.TypeOf(w)).Elem()
		if v.Kind() != reflect.Map { // a map[string]any has no fields to set
			f.fill(v)
		}
		out = append(out, v.Interface())
	}
	return out
}

// sameAsStd fails unless encodeJSON writes v exactly as encoding/json
// does, or both refuse it.
func sameAsStd(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := encodeJSON(v)
	switch {
	case wantErr != nil && err != nil:
	case wantErr != nil || err != nil:
		t.Fatalf("%T: encoding/json: %v; encodeJSON: %v", v, wantErr, err)
	case !bytes.Equal(got, want):
		t.Fatalf("%T: the bytes differ from encoding/json's\nstd:  %q\ngot:  %q", v, want, got)
	}
}

// TestEncodeJSONMatchesStd: the server's encoder writes every wire type,
// a page of stored jobs and the characters JSON escapes as encoding/json
// writes them, byte for byte: the wire format is the bytes.
func TestEncodeJSONMatchesStd(t *testing.T) {
	for _, v := range filled(&filler{}) {
		sameAsStd(t, v)
	}
	var page []apitype.Job
	for i := range 50 {
		page = append(page, jobOut(storetest.SeedJob(i*997, 1_000_000)))
	}
	sameAsStd(t, page)
	sameAsStd(t, jobsOut([]engine.Job{}))
	for _, s := range []string{"<a href=\"x\">&amp;</a>", "\u2028\u2029", "\x00\x01\b\f\n\r\t\x7f", "\xff\xfeinvalid", "é漢字🙂", `\"\\/`} {
		raw, _ := json.Marshal(s)
		sameAsStd(t, apitype.Job{ID: s, Error: s, Config: json.RawMessage(" {\n\t\"k\" : " + string(raw) + " } ")})
		sameAsStd(t, map[string]any{s: s, "n": 1.5e-7, "big": 1e21, "neg": math.Copysign(0, -1)})
	}
	sameAsStd(t, apitype.HostSample{CPUPercent: math.NaN()}) // both refuse
}

// FuzzEncodeJSONMatchesStd fills every wire type with the fuzzer's
// strings, floats, raw JSON and times and compares the bytes with
// encoding/json's. Raw JSON the store could not hold (it keeps only JSON
// it has checked) is left out.
func FuzzEncodeJSONMatchesStd(f *testing.F) {
	f.Add("s", 0.5, []byte(`{"k":1}`), int64(0), int16(0))
	f.Add("<\u2028&\f\x00\xff", 1e21, []byte(" [1, \"<\" ,{}]\n"), int64(1)<<62, int16(-330))
	f.Add("", -1e-7, []byte(`"\u00e9\ud83d\ude42"`), int64(-1)<<40, int16(840))
	f.Fuzz(func(t *testing.T, s string, x float64, raw []byte, ns int64, zone int16) {
		if !json.Valid(raw) {
			raw = []byte(strconv.Quote(string(raw)))
		}
		loc := time.FixedZone("z", int(zone)*60)
		fl := &filler{
			str: func(n int) string { return s + strconv.Itoa(n%3) },
			num: func(n int) float64 { return x * float64(n%4) },
			raw: func(int) []byte { return raw },
			at:  func(n int) time.Time { return time.Unix(0, ns+int64(n)).In(loc) },
		}
		for _, v := range filled(fl) {
			sameAsStd(t, v)
		}
	})
}

// BenchmarkEncodeJobPage encodes a page of 50 stored jobs (the listing
// GET /jobs?limit=50 answers) with encoding/json, the baseline, and with
// the server's encoder.
func BenchmarkEncodeJobPage(b *testing.B) {
	var page []apitype.Job
	for i := range 50 {
		page = append(page, jobOut(storetest.SeedJob(i*997, 1_000_000)))
	}
	for _, e := range []struct {
		name string
		enc  func(any) ([]byte, error)
	}{{"encoding-json", json.Marshal}, {"server", encodeJSON}} {
		b.Run(e.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.enc(page); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
