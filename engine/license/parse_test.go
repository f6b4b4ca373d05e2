package license

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sampledAt is when the recorded outputs were taken (their header line).
var sampledAt = time.Date(2026, 1, 6, 8, 15, 0, 0, time.UTC)

func TestParseGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/lmstat/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			st, err := Parse(raw, sampledAt, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(st, "", "  ")
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(strings.TrimSpace(string(want)), string(got)); d != "" {
				t.Errorf("%s (-want +got):\n%s", golden, d)
			}
		})
	}
}

// TestParseFacts checks, beside the golden files, the facts the gate
// depends on, so that a golden file rewritten by mistake cannot hide them.
func TestParseFacts(t *testing.T) {
	t.Parallel()
	read := func(name string) Status {
		raw, err := os.ReadFile(filepath.Join("testdata", "lmstat", name))
		if err != nil {
			t.Fatal(err)
		}
		st, err := Parse(raw, sampledAt, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	feature := func(st Status, name string) Feature {
		for _, f := range st.Features {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("no feature %s in %+v", name, st.Features)
		return Feature{}
	}

	ansys := read("ansys.txt")
	if !ansys.Up || ansys.Error != "" || len(ansys.Vendors) != 1 || ansys.Vendors[0] != (Vendor{Name: "ansyslmd", Up: true, Version: "v11.19.4"}) {
		t.Errorf("ansys: up %v error %q vendors %+v", ansys.Up, ansys.Error, ansys.Vendors)
	}
	ed := feature(ansys, "electronics_desktop")
	if ed.Total != 10 || ed.InUse != 4 || len(ed.Users) != 3 || ed.Vendor != "ansyslmd" {
		t.Errorf("electronics_desktop = %+v", ed)
	}
	if u := ed.Users[0]; u.User != "alice" || u.Host != "host1" || u.Display != "/dev/tty" || u.Server != "licsrv/1055" || u.Handle != 1234 ||
		!u.Since.Equal(time.Date(2025, 12, 1, 9, 30, 0, 0, time.UTC)) || u.Seats != 1 {
		t.Errorf("alice = %+v", u)
	}
	if u := ed.Users[1]; u.User != "bob" || u.Display != "ws02.example.com 40211" || u.Seats != 1 {
		t.Errorf("bob (display with pid, PID suffix) = %+v", u)
	}
	if u := ed.Users[2]; !u.Borrowed || u.Linger != 1209600*time.Second || u.User != "carol" {
		t.Errorf("carol (borrowed) = %+v", u)
	}
	if d := cmp.Diff([]Reservation{{Seats: 1, Kind: "GROUP", Name: "hfss_team", Server: "licsrv/1055"}}, ed.Reservations); d != "" {
		t.Errorf("reservations (-want +got):\n%s", d)
	}
	if f := feature(ansys, "elec_solve_hfss"); f.Total != 4 || f.InUse != 0 || len(f.Users) != 0 {
		t.Errorf("feature without users = %+v", f)
	}
	hpc := feature(ansys, "anshpc")
	if hpc.Total != 64 || hpc.InUse != 24 || len(hpc.Users) != 2 || hpc.Users[0].Seats != 16 || hpc.Users[1].Seats != 4 {
		t.Errorf("anshpc = %+v", hpc)
	}
	if len(hpc.Reservations) != 1 || hpc.Reservations[0].Seats != 4 || hpc.Reservations[0].Kind != "USER" || hpc.Reservations[0].Name != "dave" {
		t.Errorf("anshpc reservations = %+v", hpc.Reservations)
	}
	lv := feature(ansys, "elec_solve_level1")
	if len(lv.Users) != 1 || len(lv.Queued) != 1 || lv.Queued[0].User != "frank" || lv.Queued[0].Seats != 1 {
		t.Errorf("queued = %+v", lv)
	}
	// 11/30 23:58 is the day before the sample: last year's would be wrong.
	if got := lv.Users[0].Since; !got.Equal(time.Date(2025, 11, 30, 23, 58, 0, 0, time.UTC)) {
		t.Errorf("erin since %v", got)
	}

	for _, name := range []string{"down.txt", "lmgrd-down.txt"} {
		st := read(name)
		if st.Up || !strings.Contains(strings.ToLower(st.Error), "license server") || len(st.Features) != 0 {
			t.Errorf("%s: up %v error %q features %d", name, st.Up, st.Error, len(st.Features))
		}
	}

	v := read("vendors.txt")
	if !v.Up || len(v.Hosts) != 3 || !v.Hosts[1].Master || v.Hosts[2].Up || v.Hosts[2].Error == "" {
		t.Errorf("triad hosts = %+v", v.Hosts)
	}
	if len(v.Vendors) != 3 || v.Vendors[1].Name != "cdslmd" || v.Vendors[1].Up || v.Vendors[2].Name != "snpslmd" {
		t.Errorf("vendors = %+v", v.Vendors)
	}
	if f := feature(v, "siwave_level3"); !f.Uncounted {
		t.Errorf("uncounted = %+v", f)
	}
	if f := feature(v, "VCSRuntime_Net"); f.Vendor != "snpslmd" || f.InUse != 3 || f.Users[0].Seats != 3 {
		t.Errorf("second vendor's feature = %+v", f)
	}
	if f := feature(v, "Design-Compiler"); f.Error == "" || f.Total != 0 {
		t.Errorf("feature error = %+v", f)
	}
	// Across a new year: 12/29 belongs to the year before the sample.
	if got := feature(v, "electronics_desktop").Users[0].Since; got.Year() != 2025 {
		t.Errorf("12/29 in a January sample = %v", got)
	}
}

func TestParseNotLmstat(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "lmutil: command not found", "Usage: lmutil lmstat [-a] ..."} {
		if _, err := Parse([]byte(in), sampledAt, nil); err != ErrNotLmstat {
			t.Errorf("Parse(%q) = %v, want ErrNotLmstat", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/lmstat/*.txt")
	for _, in := range files {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
	f.Add([]byte("Users of x:  (Total of 99999999999999999999 licenses issued;  Total of 1 license in use)\n a b c (v1) (s/1 2), start Sun 2/31 25:99, 0 licenses (linger: 99999999999999999999)"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Parse(b, sampledAt, time.UTC)
		if err != nil {
			return
		}
		for _, ft := range st.Features {
			if ft.Total < 0 || ft.InUse < 0 {
				t.Fatalf("negative counts: %+v", ft)
			}
			for _, u := range ft.Users {
				if u.User == "" || u.Seats < 0 || u.Linger < 0 {
					t.Fatalf("bad checkout %+v", u)
				}
			}
		}
		if !st.Up && st.Error == "" {
			t.Fatal("down without a reason")
		}
	})
}
