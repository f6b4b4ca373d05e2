package touchstone

// Trace is one parameter against frequency, as the API and the chart show it.
type Trace struct {
	DB       []float64 `json:"db"`
	PhaseDeg []float64 `json:"phase_deg"`
}

// View is the JSON form of a network (GET /api/jobs/{id}/touchstone/{path}).
type View struct {
	Ports       int              `json:"ports"`
	Parameter   string           `json:"parameter"`
	Format      Format           `json:"format"`
	Version     string           `json:"version"`
	Z0          []float64        `json:"z0"`
	Frequencies []float64        `json:"frequencies_hz"`
	S           map[string]Trace `json:"s"`
}

// View gives magnitude (dB) and phase of the named parameters ("S21"),
// every one when names is empty; names the network does not have are left
// out.
func (n *Network) View(names ...string) View {
	v := View{Ports: n.Ports, Parameter: n.Parameter, Format: n.Format, Version: n.Version, Z0: n.Z0, Frequencies: n.Freqs, S: map[string]Trace{}}
	want := map[string]bool{}
	for _, s := range names {
		want[s] = true
	}
	for i := range n.Ports {
		for j := range n.Ports {
			name := n.Name(i, j)
			if len(want) > 0 && !want[name] {
				continue
			}
			v.S[name] = n.Trace(i, j)
		}
	}
	return v
}

// Trace is parameter (i, j), 0-based, in dB and degrees.
func (n *Network) Trace(i, j int) Trace {
	t := Trace{DB: make([]float64, len(n.Data)), PhaseDeg: make([]float64, len(n.Data))}
	for f := range n.Data {
		x := n.Value(f, i, j)
		t.DB[f] = Decibels(x)
		t.PhaseDeg[f] = PhaseDeg(x)
	}
	return t
}

// Index is the 0-based (i, j) of a parameter name like "S21" or "S10,3".
func (n *Network) Index(name string) (i, j int, ok bool) {
	for i := range n.Ports {
		for j := range n.Ports {
			if n.Name(i, j) == name {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}
