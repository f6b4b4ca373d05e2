package touchstone

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the parser's answers")

// TestGolden parses the hand-written files of testdata, one per layout a
// real tool writes, and compares the API view with testdata/golden.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.s*p")
	if err != nil || len(paths) < 7 {
		t.Fatalf("fixtures: %v %v", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ports, ok := PortsFromName(path)
			if !ok {
				t.Fatalf("PortsFromName(%q) not ok", path)
			}
			n, err := Parse(f, ports)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(n.View(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", filepath.Base(path)+".json")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), string(got)); diff != "" {
				t.Errorf("view differs from %s (-want +got); go test -update rewrites it:\n%s", golden, diff)
			}
		})
	}
}

// TestFixtureValues pins values of the fixtures by hand, so the golden
// files are not merely what the parser happened to say.
func TestFixtureValues(t *testing.T) {
	tests := []struct {
		file      string
		ports     int
		freqs     []float64
		z0        []float64
		param     string
		f, i, j   int
		want      complex128
		wantCount int
	}{
		// S21 at 2 GHz is 0.75∠20°; the noise block after 3 GHz is skipped.
		{"hfss_v1_ma_ghz.s2p", 2, []float64{1e9, 2e9, 3e9}, []float64{50, 50}, "S", 1, 1, 0, cmplx.Rect(0.75, 20*math.Pi/180), 3},
		{"vna_v1_db_mhz.s1p", 1, []float64{100e6, 200e6, 400e6}, []float64{75}, "S", 2, 0, 0, cmplx.Rect(0.1, -math.Pi/2), 3},
		{"ri_khz.s3p", 3, []float64{10e3, 20e3}, []float64{25, 25, 25}, "Z", 1, 1, 2, complex(0.51, -0.05), 2},
		{"hz_defaults.s1p", 1, []float64{1e9, 2e9}, []float64{50}, "S", 1, 0, 0, cmplx.Rect(0.5, math.Pi), 2},
		// Lower: row 4 column 2 is written, (2, 4) mirrors it.
		{"v2_lower_multiref.s4p", 4, []float64{1e9, 2e9}, []float64{50, 75, 100, 50}, "S", 1, 1, 3, complex(0.43, 0.04), 2},
		// 12_21: the second pair is S12 = -1 dB ∠20°.
		{"v2_full_12_21_noise.s2p", 2, []float64{1e9, 5e9}, []float64{50, 50}, "S", 0, 0, 1, cmplx.Rect(math.Pow(10, -1.0/20), 20*math.Pi/180), 2},
		{"v2_upper_21_12.s2p", 2, []float64{100e6}, []float64{50, 50}, "Y", 0, 1, 0, cmplx.Rect(0.1, math.Pi/2), 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			ports, _ := PortsFromName(tt.file)
			n, err := Parse(bytes.NewReader(b), ports)
			if err != nil {
				t.Fatal(err)
			}
			if n.Ports != tt.ports || n.Parameter != tt.param || len(n.Data) != tt.wantCount {
				t.Fatalf("ports %d param %s points %d, want %d %s %d", n.Ports, n.Parameter, len(n.Data), tt.ports, tt.param, tt.wantCount)
			}
			if diff := cmp.Diff(tt.freqs, n.Freqs); diff != "" {
				t.Errorf("frequencies (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.z0, n.Z0); diff != "" {
				t.Errorf("z0 (-want +got):\n%s", diff)
			}
			if got := n.Value(tt.f, tt.i, tt.j); cmplx.Abs(got-tt.want) > 1e-12 {
				t.Errorf("value (%d,%d) at %d = %v, want %v", tt.i+1, tt.j+1, tt.f, got, tt.want)
			}
		})
	}
}

// TestRoundTrip writes one known network in every layout the format
// allows (1.x and 2.x; RI, MA, DB; every unit; full, lower and upper
// matrices; both two-port orders; wrapped lines) and reads it back.
func TestRoundTrip(t *testing.T) {
	for _, ports := range []int{1, 2, 3, 4, 12} {
		want := sample(ports)
		for _, format := range []Format{RI, MA, DB} {
			for _, unit := range []string{"Hz", "kHz", "MHz", "GHz"} {
				for _, layout := range []string{"v1", "v2-full-21_12", "v2-full-12_21", "v2-lower", "v2-upper"} {
					name := fmt.Sprintf("%dport/%s/%s/%s", ports, format, unit, layout)
					t.Run(name, func(t *testing.T) {
						text := write(want, format, unit, layout)
						got, err := Parse(strings.NewReader(text), ports)
						if err != nil {
							t.Fatalf("%v in\n%s", err, text)
						}
						if got.Format != format || got.Ports != ports {
							t.Fatalf("format %s ports %d", got.Format, got.Ports)
						}
						for f := range want.Freqs {
							if math.Abs(got.Freqs[f]-want.Freqs[f]) > 1e-6*want.Freqs[f] {
								t.Fatalf("freq %d = %g, want %g", f, got.Freqs[f], want.Freqs[f])
							}
							for k := range want.Data[f] {
								if cmplx.Abs(got.Data[f][k]-want.Data[f][k]) > 1e-9 {
									t.Fatalf("freq %d cell %d = %v, want %v\n%s", f, k, got.Data[f][k], want.Data[f][k], text)
								}
							}
						}
					})
				}
			}
		}
	}
}

// sample is a symmetric (reciprocal) network, so every matrix layout can
// hold it.
func sample(n int) *Network {
	nw := &Network{Ports: n, Parameter: "S", Z0: make([]float64, n)}
	for f := range 5 {
		nw.Freqs = append(nw.Freqs, float64(f+1)*1.25e9)
		m := make([]complex128, n*n)
		for i := range n {
			for j := i; j < n; j++ {
				v := cmplx.Rect(0.9/float64(1+i+j+f), float64(10*(i+1)-7*(j+1)+f)*math.Pi/180)
				m[i*n+j], m[j*n+i] = v, v
			}
		}
		nw.Data = append(nw.Data, m)
	}
	return nw
}

var unitScale = map[string]float64{"Hz": 1, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9}

// write is a Touchstone writer for the tests: at most four pairs per
// line, as the 1.x specification lays out more than two ports.
func write(n *Network, format Format, unit, layout string) string {
	var b strings.Builder
	v2 := strings.HasPrefix(layout, "v2")
	if v2 {
		b.WriteString("[Version] 2.0\n")
	}
	fmt.Fprintf(&b, "! written by the test\n# %s S %s R 50\n", unit, format)
	matrix, order := "full", "21_12"
	if v2 {
		fmt.Fprintf(&b, "[Number of Ports] %d\n", n.Ports)
		parts := strings.Split(layout, "-")
		matrix = parts[1]
		if len(parts) > 2 {
			order = parts[2]
		}
		if n.Ports == 2 {
			fmt.Fprintf(&b, "[Two-Port Data Order] %s\n", order)
		}
		fmt.Fprintf(&b, "[Number of Frequencies] %d\n[Matrix Format] %s\n[Network Data]\n", len(n.Freqs), strings.ToUpper(matrix[:1])+matrix[1:])
	}
	pair := func(v complex128) string {
		switch format {
		case RI:
			return fmt.Sprintf("%.15g %.15g", real(v), imag(v))
		case DB:
			return fmt.Sprintf("%.15g %.15g", 20*math.Log10(cmplx.Abs(v)), PhaseDeg(v))
		}
		return fmt.Sprintf("%.15g %.15g", cmplx.Abs(v), PhaseDeg(v))
	}
	for f, m := range n.Data {
		fmt.Fprintf(&b, "%.15g", n.Freqs[f]/unitScale[unit])
		if n.Ports == 2 && matrix == "full" {
			if order == "21_12" {
				fmt.Fprintf(&b, " %s %s %s %s\n", pair(m[0]), pair(m[2]), pair(m[1]), pair(m[3]))
			} else {
				fmt.Fprintf(&b, " %s %s %s %s\n", pair(m[0]), pair(m[1]), pair(m[2]), pair(m[3]))
			}
			continue
		}
		for i := range n.Ports {
			col := 0
			for j := range n.Ports {
				if (matrix == "lower" && j > i) || (matrix == "upper" && j < i) {
					continue
				}
				if col > 0 && col%4 == 0 {
					b.WriteString("\n ")
				}
				b.WriteString(" " + pair(m[i*n.Ports+j]))
				col++
			}
			b.WriteString(" ! row\n")
		}
	}
	if v2 {
		b.WriteString("[End]\n")
	}
	return b.String()
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, text string
		ports      int
		want       string
	}{
		{"no ports", "# GHz S MA\n1 1 0\n", 0, "number of ports is unknown"},
		{"not a number", "# GHz S MA\n1 x 0\n", 1, `"x" is not a number`},
		{"short point", "# GHz S MA\n1 1 0\n2 1\n", 1, "the last frequency point has 2 of its 3 numbers"},
		{"empty", "! nothing\n", 1, "no network data"},
		{"bad option", "# GHz S XY\n1 1 0\n", 1, `unknown word "xy"`},
		{"R without value", "# GHz S MA R\n1 1 0\n", 1, "R without a value"},
		{"decreasing frequency", "# GHz S MA\n2 1 0\n1 1 0\n", 1, "does not increase"},
		{"v2 ports missing", "[Version] 2.0\n# GHz S MA\n[Network Data]\n1 1 0\n", 0, "[Network Data] before [Number of Ports]"},
		{"v2 too many ports", "[Version] 2.0\n[Number of Ports] 100000\n", 0, "[Number of Ports] must be 1 to 512"},
		{"v2 bad order", "[Version] 2.0\n[Number of Ports] 2\n[Two-Port Data Order] 11_22\n", 0, "[Two-Port Data Order]"},
		{"v2 bad matrix", "[Version] 2.0\n[Number of Ports] 2\n[Matrix Format] Diagonal\n", 0, "[Matrix Format]"},
		{"v2 data before keyword", "[Version] 2.0\n[Number of Ports] 1\n1 1 0\n", 0, "numbers before [Network Data]"},
		{"keyword in v1", "# GHz S MA\n[Number of Ports] 1\n", 1, "without [Version] 2.x"},
		{"version 3", "[Version] 3.0\n", 0, "unsupported [Version]"},
		{"reference short", "[Version] 2.0\n[Number of Ports] 2\n[Reference] 50\n[Network Data]\n1 1 0 1 0 1 0 1 0\n", 0, "[Reference] has 1 values for 2 ports"},
		{"infinity", "# GHz S MA\n1 Inf 0\n", 1, "is not a number"},
		{"overflow", "# GHz S DB\n1 1e308 0\n", 1, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.text), tt.ports)
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a SyntaxError containing %q", err, tt.want)
			}
		})
	}
}

func TestPortsFromName(t *testing.T) {
	for name, want := range map[string]int{"a.s1p": 1, "B.S2P": 2, "x/y.s12p": 12, "a.s0p": 0, "a.s02p": 0, "a.sp": 0, "a.csv": 0, "a.s999p": 0, "a.s-1p": 0} {
		got, ok := PortsFromName(name)
		if got != want || ok != (want > 0) {
			t.Errorf("PortsFromName(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
}

func TestViewNames(t *testing.T) {
	n := sample(2)
	v := n.View("S21", "S99")
	if len(v.S) != 1 || len(v.S["S21"].DB) != 5 {
		t.Fatalf("view: %+v", v.S)
	}
	if i, j, ok := n.Index("S21"); !ok || i != 1 || j != 0 {
		t.Fatalf("Index(S21) = %d %d %v", i, j, ok)
	}
	if got := sample(10).Name(9, 0); got != "S10,1" {
		t.Fatalf("name = %q", got)
	}
	if Decibels(0) != MinDB {
		t.Fatal("zero magnitude is not the floor")
	}
}

// FuzzParse feeds the parser anything: it must not panic, whatever it
// accepts must hold a full matrix per frequency with ascending
// frequencies, and the view must encode as JSON (no NaN or infinity).
//
//	go test -fuzz FuzzParse -fuzztime 30s ./engine/touchstone/
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.s*p")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		n, _ := PortsFromName(p)
		f.Add(b, uint16(n))
	}
	f.Add([]byte("[Version] 2.0\n[Number of Ports] 3\n[Matrix Format] Upper\n[Reference] 1e308\n1e308 1e308\n[Network Data]\n1e-300 1e308 -1e308"), uint16(0))
	f.Add([]byte("# hz s db r -0\n0 -1e309 1e999\n"), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, ports uint16) {
		n, err := Parse(bytes.NewReader(data), int(ports%8))
		if err != nil {
			return
		}
		if n.Ports < 1 || len(n.Z0) != n.Ports || len(n.Freqs) != len(n.Data) || len(n.Data) == 0 {
			t.Fatalf("inconsistent network: ports %d z0 %d freqs %d data %d", n.Ports, len(n.Z0), len(n.Freqs), len(n.Data))
		}
		for k, m := range n.Data {
			if len(m) != n.Ports*n.Ports {
				t.Fatalf("point %d has %d cells", k, len(m))
			}
			if k > 0 && !(n.Freqs[k] > n.Freqs[k-1]) {
				t.Fatalf("frequencies not ascending: %v", n.Freqs)
			}
		}
		v := n.View()
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("view does not encode: %v", err)
		}
		for name, tr := range v.S {
			for k := range tr.DB {
				if math.IsNaN(tr.DB[k]) || math.IsInf(tr.DB[k], 0) || math.IsNaN(tr.PhaseDeg[k]) {
					t.Fatalf("%s[%d] = %v dB %v°", name, k, tr.DB[k], tr.PhaseDeg[k])
				}
			}
		}
	})
}
