package solverlog

import (
	"strings"
	"testing"
	"time"
)

func TestEstimate(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", "2026-03-03 "+s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, log string
		ok        bool
		want      Estimate
	}{
		// Passes 1-4 done (ΔS 0.318, 0.0873, 0.026): one more pass reaches
		// 0.02; pass times 3.5 s... grow, pass 4 ended 09:14:54.
		{"adaptive", cutLog(t, "Adaptive Pass 5 :"), true, Estimate{Of: "adaptive", Percent: 80, Done: 4, Total: 5}},
		// 2 of 6 frequencies in 11 s since the sweep began at 09:15:07.
		{"sweep", cutLog(t, "Frequency - 1.5GHz : simnode07"), true, Estimate{Of: "sweep", Percent: 100 * 2.0 / 6, Done: 2, Total: 6, End: at("09:15:40")}},
		{"one pass", cutLog(t, "Adaptive Pass 2 :"), false, Estimate{}},
		{"converged", cutLog(t, "Frequency Sweep : Time"), false, Estimate{}},
		{"interpolating", cutLog(t, "Frequency - 1.5GHz : simnode07", "Discrete HFSS", "Interpolating HFSS"), false, Estimate{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := Parse(strings.NewReader(tc.log), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			e, ok := s.Estimate()
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v (%+v)", ok, tc.ok, e)
			}
			if !ok {
				return
			}
			if tc.want.End.IsZero() {
				tc.want.End = e.End
				if !e.End.After(*s.Adaptive.Passes[len(s.Adaptive.Passes)-1].EndedAt) {
					t.Errorf("end %s is not after the last pass", e.End)
				}
			}
			if e != tc.want {
				t.Errorf("%+v, want %+v", e, tc.want)
			}
			// More log lines with no pass or frequency finished do not move it.
			more, _, _ := Parse(strings.NewReader(tc.log+"[info] Project:filter_bank, Setup1 : [PROFILE] Matrix Assembly : Real Time 00:00:01 : CPU Time 00:00:01 : Memory 400 M (09:20:00 AM  Mar 03, 2026)\n"), time.UTC)
			if e2, _ := more.Estimate(); e2 != e {
				t.Errorf("a later line moved the estimate: %+v, was %+v", e2, e)
			}
		})
	}
}
