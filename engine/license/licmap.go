package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/hfss"
)

// Map says which license features each kind of job needs: HFSS configs by
// their solver, plain commands by their executable's name.
type Map struct {
	// Solvers are keyed by an HFSS config's solver ("Hfss3DLayout"),
	// compared without regard to case.
	Solvers map[string]Rule `json:"solvers"`
	// Commands are keyed by a plain command's executable name without
	// folder or .exe ("siwave_ng"), compared without regard to case.
	Commands map[string]Rule `json:"commands"`
}

// Rule is what one kind of job checks out.
type Rule struct {
	// Features are seats taken whatever the job's size.
	Features map[string]int `json:"features"`
	// HPC, when set, adds seats for the cores beyond the included ones.
	HPC *HPC `json:"hpc"`
}

// HPC is a per-core increment: a job on N cores takes
// ceil(max(0, N-IncludedCores) / CoresPerSeat) seats of Feature.
type HPC struct {
	Feature       string `json:"feature"`
	IncludedCores int    `json:"included_cores"`
	// CoresPerSeat is 1 when left out.
	CoresPerSeat int `json:"cores_per_seat"`
}

// Need is seats of one feature.
type Need struct {
	Feature string
	Seats   int
	// Field is the part of the job's config that asks for them: "solver",
	// "command[0]", or where the cores come from.
	Field string
}

// The built-in numbers (README "Licenses" says where they come from): an
// Electronics Desktop solve checks out one electronics_desktop seat and its
// solver's elec_solve_* seat, includes 4 cores, and takes one anshpc seat
// per core beyond them (Ansys Licensing Guide, "HPC Licensing").
const (
	DefaultHPCFeature    = "anshpc"
	DefaultIncludedCores = 4
)

// DefaultMap is the map used where a --license-map file does not say.
func DefaultMap() Map {
	hpc := func() *HPC {
		return &HPC{Feature: DefaultHPCFeature, IncludedCores: DefaultIncludedCores, CoresPerSeat: 1}
	}
	hfssRule := func() Rule {
		return Rule{Features: map[string]int{"electronics_desktop": 1, "elec_solve_hfss": 1}, HPC: hpc()}
	}
	siwave := func() Rule {
		return Rule{Features: map[string]int{"elec_solve_siwave": 1}, HPC: hpc()}
	}
	return Map{
		Solvers: map[string]Rule{"hfss": hfssRule(), "hfss3dlayout": hfssRule(), "siwave": siwave()},
		Commands: map[string]Rule{
			"siwave": siwave(), "siwave_ng": siwave(), "siwave_batch": siwave(),
		},
	}
}

var featureName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$`)

// maxSeats bounds what a map may ask for one feature.
const maxSeats = 1 << 20

// ParseMap reads a license map file's JSON. Its entries replace the
// built-in ones of the same key (an empty rule {} means "needs no
// license"); keys it does not name keep their defaults unless
// "replace_defaults" is true. An error names the field at fault.
func ParseMap(b []byte) (Map, error) {
	var file struct {
		ReplaceDefaults bool                       `json:"replace_defaults"`
		Solvers         map[string]json.RawMessage `json:"solvers"`
		Commands        map[string]json.RawMessage `json:"commands"`
	}
	if err := strictDecode(b, &file); err != nil {
		return Map{}, mapDecodeError(b, "", err)
	}
	m := DefaultMap()
	if file.ReplaceDefaults {
		m = Map{Solvers: map[string]Rule{}, Commands: map[string]Rule{}}
	}
	for _, part := range []struct {
		name string
		in   map[string]json.RawMessage
		out  map[string]Rule
	}{{"solvers", file.Solvers, m.Solvers}, {"commands", file.Commands, m.Commands}} {
		for key, raw := range part.in {
			field := part.name + "." + key
			if strings.TrimSpace(key) == "" {
				return Map{}, fmt.Errorf("license map: %s: the key must not be empty", part.name)
			}
			r, err := parseRule(b, field, raw)
			if err != nil {
				return Map{}, err
			}
			part.out[strings.ToLower(strings.TrimSpace(key))] = r
		}
	}
	return m, nil
}

// parseRule decodes one rule, naming the rule's field in errors (encoding/json
// leaves map keys out of the paths it reports).
func parseRule(file []byte, field string, raw json.RawMessage) (Rule, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return Rule{}, fmt.Errorf("license map: %s: must be an object (use {} for a job that needs no license)", field)
	}
	var in struct {
		Features map[string]json.RawMessage `json:"features"`
		HPC      *HPC                       `json:"hpc"`
	}
	if err := strictDecode(raw, &in); err != nil {
		return Rule{}, mapDecodeError(file, field, err)
	}
	r := Rule{HPC: in.HPC}
	if len(in.Features) > 0 {
		r.Features = make(map[string]int, len(in.Features))
	}
	for name, v := range in.Features {
		var n int
		if err := json.Unmarshal(v, &n); err != nil {
			return Rule{}, fmt.Errorf("license map: %s.features.%s: must be a whole number of seats, got %s", field, name, v)
		}
		r.Features[name] = n
	}
	return r, r.check(field)
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailing
	}
	return nil
}

var errTrailing = errors.New("unexpected data after the JSON object")

func (r *Rule) check(field string) error {
	for name, n := range r.Features {
		if !featureName.MatchString(name) {
			return fmt.Errorf("license map: %s.features: %q is not a license feature name", field, name)
		}
		if n < 1 || n > maxSeats {
			return fmt.Errorf("license map: %s.features.%s: must be a whole number of seats from 1 to %d, got %d", field, name, maxSeats, n)
		}
	}
	if h := r.HPC; h != nil {
		switch {
		case !featureName.MatchString(h.Feature):
			return fmt.Errorf("license map: %s.hpc.feature: %q is not a license feature name", field, h.Feature)
		case h.IncludedCores < 0 || h.IncludedCores > maxSeats:
			return fmt.Errorf("license map: %s.hpc.included_cores: must be from 0 to %d, got %d", field, maxSeats, h.IncludedCores)
		case h.CoresPerSeat < 0 || h.CoresPerSeat > maxSeats:
			return fmt.Errorf("license map: %s.hpc.cores_per_seat: must be from 1 to %d, got %d", field, maxSeats, h.CoresPerSeat)
		}
		if h.CoresPerSeat == 0 {
			h.CoresPerSeat = 1
		}
	}
	return nil
}

// mapDecodeError names the field (or the place) of a JSON error.
func mapDecodeError(b []byte, prefix string, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.Is(err, errTrailing):
		return fmt.Errorf("license map: %s", err)
	case errors.As(err, &te):
		field := te.Field
		switch {
		case prefix != "" && field != "":
			field = prefix + "." + field
		case prefix != "":
			field = prefix
		case field == "":
			field = "the top level"
		}
		return fmt.Errorf("license map: %s: must be %s, got %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		line, col := position(b, se.Offset)
		return fmt.Errorf("license map: line %d column %d: %s", line, col, se.Error())
	case errors.Is(err, io.EOF):
		return errors.New("license map: the file is empty (it must hold a JSON object)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		if prefix != "" {
			prefix += ": "
		}
		return fmt.Errorf("license map: %sunknown field %s (known: replace_defaults, solvers, commands; a rule has features and hpc; hpc has feature, included_cores, cores_per_seat)", prefix, strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("license map: %w", err)
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64":
		return "a whole number"
	case "map", "struct", "ptr":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return k
}

func position(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// Needs is what a job checks out, by feature name; nil for a job the map
// does not name.
func (m Map) Needs(j engine.GateJob) []Need {
	var rule Rule
	var ok bool
	cores := 0
	field, coresField := "solver", "machine_nodes"
	if j.Cluster {
		coresField = "scheduler_options"
	}
	switch j.Kind {
	case engine.KindHFSS:
		var cfg hfss.Config
		if json.Unmarshal(j.Config, &cfg) != nil {
			return nil
		}
		rule, ok = m.Solvers[strings.ToLower(strings.TrimSpace(cfg.Solver))]
		cores = Cores(cfg, j.Cluster)
	case engine.KindCommand:
		var cfg engine.CommandConfig
		if json.Unmarshal(j.Config, &cfg) != nil || len(cfg.Command) == 0 {
			return nil
		}
		rule, ok = m.Commands[commandName(cfg.Command[0])]
		field = "command[0]"
	}
	if !ok {
		return nil
	}
	seats := map[string]int{}
	fields := map[string]string{}
	for f, n := range rule.Features {
		seats[f] += n
		fields[f] = field
	}
	if h := rule.HPC; h != nil && cores > h.IncludedCores {
		per := max(h.CoresPerSeat, 1)
		seats[h.Feature] += (cores - h.IncludedCores + per - 1) / per
		fields[h.Feature] = coresField
	}
	out := make([]Need, 0, len(seats))
	for f, n := range seats {
		out = append(out, Need{Feature: f, Seats: n, Field: fields[f]})
	}
	slices.SortFunc(out, func(a, b Need) int { return strings.Compare(a.Feature, b.Feature) })
	return out
}

// Cores is how many cores an HFSS job solves on: the scheduler's
// allocation (nodes x cores per node) for a cluster job; for a local one
// the sum of each machine node's max_cores (the cores Ansys uses there;
// cores, the task count, when it is larger).
func Cores(cfg hfss.Config, cluster bool) int {
	if cluster {
		return cfg.NumCores()
	}
	n := 0
	for _, mn := range cfg.MachineNodes {
		c := max(mn.MaxCores, mn.Cores, 0)
		n = min(n+c, maxSeats)
	}
	return n
}

// commandName is argv0 without its folder (either separator) or .exe.
func commandName(argv0 string) string {
	if i := strings.LastIndexAny(argv0, `/\`); i >= 0 {
		argv0 = argv0[i+1:]
	}
	argv0 = strings.ToLower(argv0)
	return strings.TrimSuffix(argv0, ".exe")
}
