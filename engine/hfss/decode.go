package hfss

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// FieldError is a configuration the package refuses, naming the field at fault
// by its JSON path ("scheduler_options.nodes", "machine_nodes[1].utilization",
// or "config" for the document as a whole).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// The range Decode accepts for integers: every count in the configuration is
// far inside it, and products of two of them (NumCores) cannot overflow.
const (
	minInt = math.MinInt32
	maxInt = math.MaxInt32
)

// Decode parses a JSON configuration over Default(). A field that is absent
// or null keeps its default, inside nested objects and inside each
// machine_nodes element too (PyEDB sends null for unset optional strings).
// Unknown fields are ignored: PyEDB adds platform, timestamp and version.
// A known field of the wrong type, or an integer that is fractional or out of
// range, is a *FieldError naming the field; malformed JSON or a document that
// is not an object is a *FieldError for "config". Field names are
// case-sensitive, as in PyEDB. Decode does not normalise or validate: call
// Normalize and Validate next.
func Decode(data []byte) (Config, error) {
	if c, ok := decodeFast(data); ok {
		return c, nil
	}
	return decodeFields(data)
}

// decodeFields decodes field by field, so that an error names its field.
func decodeFields(data []byte) (Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return Config{}, fieldErrorf("config", "is not valid JSON (at byte %d): %v", syn.Offset, err)
		case errors.As(err, &typ):
			return Config{}, fieldErrorf("config", "must be a JSON object, got %s", article(typ.Value))
		default:
			return Config{}, fieldErrorf("config", "is not valid JSON: %v", err)
		}
	}
	if top == nil {
		return Config{}, fieldErrorf("config", "must be a JSON object, got null")
	}

	c := Default()
	d := &decoder{}
	root := object{d: d, fields: top}
	root.str("ansys_edt_path", &c.AnsysEDTPath)
	root.str("solver", &c.Solver)
	root.str("jobid", &c.JobID)
	root.str("user", &c.User)
	root.boolean("distributed", &c.Distributed)
	root.machineNodes("machine_nodes", &c.MachineNodes)
	root.boolean("auto", &c.Auto)
	root.boolean("non_graphical", &c.NonGraphical)
	root.boolean("monitor", &c.Monitor)
	if lo, ok := root.object("layout_options"); ok {
		o := &c.LayoutOptions
		lo.boolean("create_starting_mesh", &o.CreateStartingMesh)
		lo.str("default_process_priority", &o.DefaultProcessPriority)
		lo.boolean("enable_gpu", &o.EnableGPU)
		lo.str("mpi_vendor", &o.MPIVendor)
		lo.str("mpi_version", &o.MPIVersion)
		lo.str("remote_spawn_command", &o.RemoteSpawnCommand)
		lo.boolean("solve_adaptive_only", &o.SolveAdaptiveOnly)
		lo.boolean("validate_only", &o.ValidateOnly)
		lo.str("temp_directory", &o.TempDirectory)
	}
	root.str("project_path", &c.ProjectPath)
	root.str("design_name", &c.DesignName)
	root.str("design_mode", &c.DesignMode)
	root.str("setup_name", &c.SetupName)
	root.str("scheduler_type", &c.SchedulerType)
	if so, ok := root.object("scheduler_options"); ok {
		o := &c.SchedulerOptions
		so.str("queue", &o.Queue)
		so.str("time", &o.Time)
		so.integer("nodes", &o.Nodes)
		so.integer("tasks_per_node", &o.TasksPerNode)
		so.integer("cores_per_node", &o.CoresPerNode)
		so.str("memory", &o.Memory)
		so.str("account", &o.Account)
		so.str("reservation", &o.Reservation)
		so.str("qos", &o.QOS)
		so.str("constraints", &o.Constraints)
		so.boolean("exclusive", &o.Exclusive)
		so.integer("gpus", &o.GPUs)
		so.str("gpu_type", &o.GPUType)
		so.str("priority", &o.Priority)
		so.str("email_notification", &o.EmailNotification)
		so.boolean("run_as_administrator", &o.RunAsAdministrator)
	}
	if d.err != nil {
		return Config{}, d.err
	}
	return c, nil
}

// decoder holds the first error of a decode; later field reads are no-ops,
// so the error reported is the first in field order.
type decoder struct {
	err *FieldError
}

// object is one JSON object being read, at a JSON path.
type object struct {
	d      *decoder
	path   string
	fields map[string]json.RawMessage
}

func (o object) pathOf(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

// value returns the raw value of name, or false when it is absent, null or
// an earlier field already failed.
func (o object) value(name string) (json.RawMessage, bool) {
	if o.d.err != nil {
		return nil, false
	}
	raw, ok := o.fields[name]
	if !ok || jsonKind(raw) == kindNull {
		return nil, false
	}
	return raw, true
}

func (o object) fail(name, want string, raw json.RawMessage) {
	o.d.err = fieldErrorf(o.pathOf(name), "must be %s, got %s", want, describe(raw))
}

func (o object) str(name string, dst *string) {
	raw, ok := o.value(name)
	if !ok {
		return
	}
	if jsonKind(raw) != kindString {
		o.fail(name, "a string", raw)
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.d.err = fieldErrorf(o.pathOf(name), "is not a valid JSON string: %v", err)
	}
}

func (o object) boolean(name string, dst *bool) {
	raw, ok := o.value(name)
	if !ok {
		return
	}
	if jsonKind(raw) != kindBool {
		o.fail(name, "true or false", raw)
		return
	}
	*dst = raw[0] == 't'
}

// integer accepts a JSON number with an integral value, so 2 and 2.0 and 2e0
// are all 2: JSON has one number type and some clients write floats.
func (o object) integer(name string, dst *int) {
	raw, ok := o.value(name)
	if !ok {
		return
	}
	if jsonKind(raw) != kindNumber {
		o.fail(name, "an integer", raw)
		return
	}
	text := string(raw)
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		switch {
		case ferr == nil && f != math.Trunc(f):
			o.d.err = fieldErrorf(o.pathOf(name), "must be a whole number, got %s", text)
			return
		case ferr != nil || f < minInt || f > maxInt:
			n = math.MaxInt64 // reported as out of range below
		default:
			n = int64(f)
		}
	}
	if n < minInt || n > maxInt {
		o.d.err = fieldErrorf(o.pathOf(name), "must be an integer between %d and %d, got %s", minInt, maxInt, shorten(text))
		return
	}
	*dst = int(n)
}

// object returns the nested object name, or false when it is absent or null
// (its fields then keep their defaults) or not an object (an error).
func (o object) object(name string) (object, bool) {
	raw, ok := o.value(name)
	if !ok {
		return object{}, false
	}
	return o.open(o.pathOf(name), raw)
}

func (o object) open(path string, raw json.RawMessage) (object, bool) {
	if jsonKind(raw) != kindObject {
		o.d.err = fieldErrorf(path, "must be an object, got %s", describe(raw))
		return object{}, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		o.d.err = fieldErrorf(path, "is not a valid JSON object: %v", err)
		return object{}, false
	}
	return object{d: o.d, path: path, fields: fields}, true
}

// machineNodes reads the node list; each element is read over
// DefaultMachineNode, and an empty list stays empty (no -machinelist).
func (o object) machineNodes(name string, dst *[]MachineNode) {
	raw, ok := o.value(name)
	if !ok {
		return
	}
	if jsonKind(raw) != kindArray {
		o.fail(name, "an array of objects", raw)
		return
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		o.d.err = fieldErrorf(o.pathOf(name), "is not a valid JSON array: %v", err)
		return
	}
	nodes := make([]MachineNode, 0, len(elems))
	for i, e := range elems {
		n := DefaultMachineNode()
		obj, ok := o.open(fmt.Sprintf("%s[%d]", o.pathOf(name), i), e)
		if !ok {
			return
		}
		obj.str("hostname", &n.Hostname)
		obj.integer("cores", &n.Cores)
		obj.integer("max_cores", &n.MaxCores)
		obj.integer("utilization", &n.Utilization)
		if o.d.err != nil {
			return
		}
		nodes = append(nodes, n)
	}
	*dst = nodes
}

type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// jsonKind classifies a value that encoding/json already found well formed.
func jsonKind(raw json.RawMessage) kind {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return kindNull
	}
	switch raw[0] {
	case 'n':
		return kindNull
	case 't', 'f':
		return kindBool
	case '"':
		return kindString
	case '[':
		return kindArray
	case '{':
		return kindObject
	}
	return kindNumber
}

// describe names a wrong value for a message: its type, and for scalars the
// value itself, so "got the string \"4\"" tells the user what to fix.
func describe(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch jsonKind(raw) {
	case kindNull:
		return "null"
	case kindBool:
		return string(raw)
	case kindNumber:
		return "the number " + shorten(string(raw))
	case kindString:
		return "the string " + shorten(string(raw))
	case kindArray:
		return "an array"
	}
	return "an object"
}

// article turns encoding/json's type names into phrases.
func article(v string) string {
	switch v {
	case "array", "object":
		return "an " + v
	case "bool":
		return "true or false"
	}
	return "a " + v
}

// shorten keeps user-supplied text in messages readable.
func shorten(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
