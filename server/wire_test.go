package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/license"
	"github.com/simjobs/simjobs/engine/results"
	"github.com/simjobs/simjobs/engine/runner"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/engine/touchstone"
	"github.com/simjobs/simjobs/server/apitype"
)

// filler sets every exported field of a value, recursively, to a value no
// other field has, so that a field the conversion drops or swaps changes
// the JSON. A fuzz target sets str, num, raw and at to choose the strings,
// floats, raw JSON and times itself.
type filler struct {
	n   int
	str func(n int) string
	num func(n int) float64
	raw func(n int) []byte
	at  func(n int) time.Time
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (f *filler) fill(v reflect.Value) {
	f.n++
	n := f.n
	switch {
	case v.Type() == timeType && f.at != nil:
		v.Set(reflect.ValueOf(f.at(n)))
		return
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, n*1000, time.UTC)))
		return
	case v.Type() == rawType && f.raw != nil:
		v.SetBytes(f.raw(n))
		return
	case v.Type() == rawType:
		v.SetBytes(fmt.Appendf(nil, `{"k":%d}`, n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if f.str != nil {
			v.SetString(f.str(n))
			break
		}
		v.SetString(fmt.Sprintf("s%d", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		if f.num != nil {
			v.SetFloat(f.num(n))
			break
		}
		v.SetFloat(float64(n) + 0.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			f.fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(k)
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	case reflect.Interface:
		// Event.Data: each event's data is checked on its own below.
	default:
		panic("filler: no rule for " + v.Type().String())
	}
}

// full returns a T with every field set.
func full[T any]() T {
	var v T
	(&filler{}).fill(reflect.ValueOf(&v).Elem())
	return v
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameWire checks that the engine value e and its conversion w encode the
// same JSON, byte for byte.
func sameWire(t *testing.T, name string, e, w any) {
	t.Helper()
	if a, b := mustJSON(t, e), mustJSON(t, w); !bytes.Equal(a, b) {
		t.Errorf("%s: the wire form differs from the engine's\nengine: %s\nwire:   %s", name, a, b)
	}
}

// TestConversionsKeepEveryField: each conversion at the edge gives the
// JSON the engine value would have given, with every field set (so none
// is dropped), nil (so null stays null) and empty (so [] stays []).
func TestConversionsKeepEveryField(t *testing.T) {
	check := func(name string, e, w func() (any, any)) {
		t.Run(name, func(t *testing.T) {
			ev, wv := e()
			sameWire(t, name+" full", ev, wv)
			ev, wv = w()
			sameWire(t, name+" zero", ev, wv)
		})
	}
	type pair = func() (any, any)
	conv := func(e any, f func(any) any) pair { return func() (any, any) { return e, f(e) } }
	cases := []struct {
		name       string
		full, zero pair
	}{
		{"Job", conv(full[engine.Job](), func(v any) any { return jobOut(v.(engine.Job)) }), conv(engine.Job{}, func(v any) any { return jobOut(v.(engine.Job)) })},
		{"[]Job", conv(full[[]engine.Job](), func(v any) any { return jobsOut(v.([]engine.Job)) }), conv([]engine.Job{}, func(v any) any { return jobsOut(v.([]engine.Job)) })},
		{"[]Transition", conv(full[[]engine.Transition](), func(v any) any { return transitionsOut(v.([]engine.Transition)) }), conv([]engine.Transition(nil), func(v any) any { return transitionsOut(v.([]engine.Transition)) })},
		{"[]Delivery", conv(full[[]engine.Delivery](), func(v any) any { return deliveriesOut(v.([]engine.Delivery)) }), conv([]engine.Delivery{}, func(v any) any { return deliveriesOut(v.([]engine.Delivery)) })},
		{"[]AuditEntry", conv(full[[]engine.AuditEntry](), func(v any) any { return auditOut(v.([]engine.AuditEntry)) }), conv([]engine.AuditEntry(nil), func(v any) any { return auditOut(v.([]engine.AuditEntry)) })},
		{"Limits", conv(full[engine.Limits](), func(v any) any { return limitsOut(v.(engine.Limits)) }), conv(engine.Limits{}, func(v any) any { return limitsOut(v.(engine.Limits)) })},
		{"Sample", conv(full[host.Sample](), func(v any) any { return sampleOut(v.(host.Sample)) }), conv(host.Sample{}, func(v any) any { return sampleOut(v.(host.Sample)) })},
		{"[]Partition", conv(full[[]runner.Partition](), func(v any) any { return partitionsOut(v.([]runner.Partition)) }), conv([]runner.Partition{}, func(v any) any { return partitionsOut(v.([]runner.Partition)) })},
		{"Sweep", conv(full[engine.Sweep](), func(v any) any { return sweepOut(v.(engine.Sweep)) }), conv(engine.Sweep{}, func(v any) any { return sweepOut(v.(engine.Sweep)) })},
		{"[]Sweep", conv(full[[]engine.Sweep](), func(v any) any { return sweepsOut(v.([]engine.Sweep)) }), conv([]engine.Sweep{}, func(v any) any { return sweepsOut(v.([]engine.Sweep)) })},
		{"[]results.File", conv(full[[]results.File](), func(v any) any { return filesOut(v.([]results.File)) }), conv([]results.File{}, func(v any) any { return filesOut(v.([]results.File)) })},
		{"touchstone.View", conv(full[touchstone.View](), func(v any) any { return touchstoneOut(v.(touchstone.View)) }), conv(touchstone.View{}, func(v any) any { return touchstoneOut(v.(touchstone.View)) })},
		{"license.Report", conv(full[license.Report](), func(v any) any { return licenseReportOut(v.(license.Report)) }), conv(emptyLicenses(), func(v any) any { return licenseReportOut(v.(license.Report)) })},
		{"solverlog.Summary", conv(full[solverlog.Summary](), func(v any) any { return logSummaryOut(v.(solverlog.Summary)) }), conv(solverlog.Summary{}, func(v any) any { return logSummaryOut(v.(solverlog.Summary)) })},
	}
	for _, c := range cases {
		check(c.name, c.full, c.zero)
	}
}

// TestEventDataIsTheWireFormat: the engine encodes each event once for
// every client, so events are not converted; instead each event's data,
// with every field set, must decode into its apitype type with no field
// left over and encode back to the same bytes.
func TestEventDataIsTheWireFormat(t *testing.T) {
	cases := []struct {
		names []string
		data  any
	}{
		{[]string{engine.EventJobQueued}, full[engine.JobQueuedData]()},
		{[]string{engine.EventJobStarted}, full[engine.JobStartedData]()},
		{[]string{engine.EventJobScheduled}, full[engine.JobScheduledData]()},
		{[]string{engine.EventJobCompleted, engine.EventJobFailed, engine.EventJobCancelled}, full[engine.JobEndedData]()},
		{[]string{engine.EventPriorityChanged}, full[engine.PriorityChangedData]()},
		{[]string{engine.EventLimitsUpdated}, full[engine.LimitsUpdatedData]()},
		{[]string{engine.EventResourcesUpdated}, map[string]any{"telemetry": full[host.Sample]()}},
		{[]string{engine.EventJobProgress}, full[engine.JobProgressData]()},
		{[]string{engine.EventLicensesUpdated}, full[license.Report]()},
		{[]string{engine.EventSweepEnded}, full[engine.SweepEndedData]()},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		for _, name := range c.names {
			seen[name] = true
			ev := engine.Event{Name: name, Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Data: c.data}
			var got apitype.Event
			if err := json.Unmarshal(ev.JSON(), &got); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if string(mustJSON(t, got)) != string(ev.JSON()) {
				t.Errorf("%s envelope: %s, engine %s", name, mustJSON(t, got), ev.JSON())
			}
			v, err := got.Decode()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, raw := v.(json.RawMessage); raw {
				t.Fatalf("%s: apitype has no data type for it", name)
			}
			dec := json.NewDecoder(bytes.NewReader(got.Data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Errorf("%s: the engine's data has a field apitype lacks: %v", name, err)
			}
			sameWire(t, name, c.data, v)
		}
	}
	// Every event the engine names is covered above.
	for _, name := range []string{engine.EventJobQueued, engine.EventJobStarted, engine.EventJobScheduled, engine.EventJobCompleted,
		engine.EventJobFailed, engine.EventJobCancelled, engine.EventPriorityChanged, engine.EventLimitsUpdated, engine.EventResourcesUpdated,
		engine.EventJobProgress, engine.EventLicensesUpdated, engine.EventSweepEnded} {
		if !seen[name] {
			t.Errorf("event %s is not checked", name)
		}
	}
}

// TestProgressIsTheWireFormat: Job.Progress carries solverlog.Progress as
// raw JSON; apitype.Progress must read all of it.
func TestProgressIsTheWireFormat(t *testing.T) {
	p := full[solverlog.Progress]()
	var w apitype.Progress
	dec := json.NewDecoder(bytes.NewReader(mustJSON(t, p)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		t.Fatal(err)
	}
	sameWire(t, "Progress", p, w)
}

// TestEnumsAgree: the statuses and solve states the wire lists are the
// engine's, in the same order.
func TestEnumsAgree(t *testing.T) {
	var st []string
	for _, s := range engine.Statuses {
		st = append(st, string(s))
	}
	var wst []string
	for _, s := range apitype.Statuses {
		wst = append(wst, string(s))
	}
	if !slices.Equal(st, wst) {
		t.Errorf("apitype.Statuses %v, engine %v", wst, st)
	}
	var ls, wls []string
	for _, s := range solverlog.States {
		ls = append(ls, string(s))
	}
	for _, s := range apitype.LogStates {
		wls = append(wls, string(s))
	}
	if !slices.Equal(ls, wls) {
		t.Errorf("apitype.LogStates %v, solverlog %v", wls, ls)
	}
	for _, p := range [][2]string{{engine.AfterOK, apitype.AfterOK}, {engine.AfterAny, apitype.AfterAny}, {engine.AfterNotOK, apitype.AfterNotOK},
		{engine.RetryOnAny, apitype.RetryOnAny}, {engine.RetryOnLicense, apitype.RetryOnLicense},
		{engine.DeliveryPending, apitype.DeliveryPending}, {engine.DeliveryDelivered, apitype.DeliveryDelivered}, {engine.DeliveryFailed, apitype.DeliveryFailed}} {
		if p[0] != p[1] {
			t.Errorf("apitype has %q where the engine has %q", p[1], p[0])
		}
	}
}
