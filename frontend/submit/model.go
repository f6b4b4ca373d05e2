// Package submit is the submission page: the HFSS configuration as a form
// (every field of the PyEDB HFSSSimulationConfig, the usual ones first, the
// rest folded, defaults filled in), a plain-command tab, and batch
// submission of a folder with a preview. Forms are checked by the same
// validation as the API (Manager.Submit) and shown again with the message
// next to the field at fault.
package submit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/hfss"
)

// Field is one input of the HFSS form, named by its JSON path in the
// config (machine_nodes[0].cores), so that a validation error's field names
// the input it belongs to.
type Field struct {
	Name    string
	Label   string
	Kind    string // text, int, bool, select
	Options []string
	Help    string
}

// Group is a set of fields shown together.
type Group struct {
	Title  string
	Fields []Field
	Folded bool
}

// options are the fields with a fixed vocabulary, the engine's own.
func options(name string) []string {
	switch name {
	case "layout_options.default_process_priority":
		return hfss.ProcessPriorities()
	case "layout_options.mpi_vendor":
		return hfss.MPIVendors()
	case "scheduler_options.priority":
		return hfss.SchedulerPriorities()
	}
	return nil
}

var help = map[string]string{
	"project_path":                         "An .aedt file or .aedb folder on this server.",
	"ansys_edt_path":                       "Empty: the server's solver. Another path runs only if the server allows it.",
	"design_name":                          "Empty solves the active design.",
	"design_mode":                          "Usually empty.",
	"setup_name":                           "Empty solves every setup.",
	"jobid":                                "Empty: generated. Resubmitting an ended job id starts its next attempt.",
	"user":                                 "Empty: the server's user.",
	"priority":                             "Higher runs first; negative is low, 0 normal.",
	"scheduler_options.time":               "Wall-time limit: HH:MM:SS, D.HH:MM:SS or minutes. Also applies to local runs.",
	"scheduler_options.memory":             "Per node, e.g. 4GB.",
	"machine_nodes.cores":                  "-1 uses every core.",
	"machine_nodes.utilization":            "Percent of RAM, 1 to 100.",
	"layout_options.temp_directory":        "Kept for PyEDB compatibility.",
	"scheduler_options.cores_per_node":     "0 uses tasks per node.",
	"scheduler_options.email_notification": "An address to notify, if the scheduler mails.",
}

var labels = map[string]string{
	"jobid": "Job id", "mpi_vendor": "MPI vendor", "mpi_version": "MPI version", "qos": "QOS",
	"gpus": "GPUs", "gpu_type": "GPU type", "enable_gpu": "Enable GPU", "ansys_edt_path": "Solver executable", "solver": "Solver (design type)",
	"non_graphical": "Non-graphical", "tasks_per_node": "Tasks per node", "cores_per_node": "Cores per node",
}

func label(name string) string {
	base := name[strings.LastIndexByte(name, '.')+1:]
	if l, ok := labels[base]; ok {
		return l
	}
	s := strings.ReplaceAll(base, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// Groups is the HFSS form's layout for nodes machine nodes; showUser adds
// the user field (only without authentication is it taken from the form).
func Groups(nodes int, showUser bool) []Group {
	def := Defaults(1)
	f := func(name string) Field {
		fl := Field{Name: name, Label: label(name), Kind: "text", Options: options(name)}
		key := name
		if strings.HasPrefix(name, "machine_nodes[") {
			key = "machine_nodes." + name[strings.LastIndexByte(name, '.')+1:]
			fl.Label = label(name)
		}
		fl.Help = help[key]
		switch v := def[strings.Replace(name, "machine_nodes["+nodeIndex(name)+"]", "machine_nodes[0]", 1)].(type) {
		case bool:
			fl.Kind = "bool"
		case float64:
			fl.Kind = "int"
		default:
			_ = v
		}
		if fl.Options != nil {
			fl.Kind = "select"
		}
		return fl
	}
	basic := Group{Title: "Project"}
	for _, n := range []string{"project_path", "design_name", "design_mode", "setup_name", "jobid"} {
		basic.Fields = append(basic.Fields, f(n))
	}
	if showUser {
		basic.Fields = append(basic.Fields, f("user"))
	}
	basic.Fields = append(basic.Fields, Field{Name: "priority", Label: "Priority", Kind: "int", Help: help["priority"]})
	run := Group{Title: "Solve", Folded: true}
	for _, n := range []string{"ansys_edt_path", "solver", "distributed", "auto", "non_graphical", "monitor"} {
		run.Fields = append(run.Fields, f(n))
	}
	layout := Group{Title: "Layout options", Folded: true}
	sched := Group{Title: "Scheduler options", Folded: true}
	for _, n := range sortedKeys(def) {
		switch {
		case strings.HasPrefix(n, "layout_options."):
			layout.Fields = append(layout.Fields, f(n))
		case strings.HasPrefix(n, "scheduler_options."):
			sched.Fields = append(sched.Fields, f(n))
		}
	}
	machines := Group{Title: "Machines", Folded: true}
	for i := range nodes {
		for _, k := range []string{"hostname", "cores", "max_cores", "utilization"} {
			fl := f(fmt.Sprintf("machine_nodes[%d].%s", i, k))
			fl.Label = fmt.Sprintf("Machine %d: %s", i+1, strings.ToLower(label(k)))
			machines.Fields = append(machines.Fields, fl)
		}
	}
	return []Group{basic, machines, run, layout, sched}
}

func nodeIndex(name string) string {
	if !strings.HasPrefix(name, "machine_nodes[") {
		return "0"
	}
	return name[len("machine_nodes["):strings.IndexByte(name, ']')]
}

// fieldOrder keeps the config's own order within a group.
var fieldOrder = func() map[string]int {
	b, _ := json.Marshal(hfss.Default())
	order := map[string]int{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	i := 0
	var path []string
	var walk func()
	walk = func() {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		if d, ok := tok.(json.Delim); ok && d == '{' {
			for dec.More() {
				k, _ := dec.Token()
				path = append(path, k.(string))
				order[strings.Join(path, ".")] = i
				i++
				walk()
				path = path[:len(path)-1]
			}
			dec.Token()
		} else if ok && d == '[' {
			for dec.More() {
				walk()
			}
			dec.Token()
		}
	}
	walk()
	return order
}()

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return fieldOrder[a] - fieldOrder[b] })
	return keys
}

// Defaults is the default configuration flattened to form values, with
// nodes machine nodes.
func Defaults(nodes int) map[string]any {
	b, _ := json.Marshal(hfss.Default())
	var tree map[string]any
	_ = json.Unmarshal(b, &tree)
	flat := map[string]any{}
	flatten("", tree, flat)
	for i := 1; i < nodes; i++ {
		n := hfss.DefaultMachineNode()
		flat[fmt.Sprintf("machine_nodes[%d].hostname", i)] = n.Hostname
		flat[fmt.Sprintf("machine_nodes[%d].cores", i)] = float64(n.Cores)
		flat[fmt.Sprintf("machine_nodes[%d].max_cores", i)] = float64(n.MaxCores)
		flat[fmt.Sprintf("machine_nodes[%d].utilization", i)] = float64(n.Utilization)
	}
	return flat
}

func flatten(prefix string, v any, out map[string]any) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, c, out)
		}
	case []any:
		for i, c := range t {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), c, out)
		}
	default:
		out[prefix] = v
	}
}

// Form is the HFSS form as filled in: values by field name, and the
// message of each field at fault.
type Form struct {
	Values map[string]string
	Checks map[string]bool
	Errors map[string]string
	Nodes  int
	Error  string // not tied to a field
}

// NewForm is the form filled with the defaults.
func NewForm() Form {
	f := Form{Values: map[string]string{"priority": "0"}, Checks: map[string]bool{}, Errors: map[string]string{}, Nodes: 1}
	for k, v := range Defaults(1) {
		switch t := v.(type) {
		case bool:
			f.Checks[k] = t
		case float64:
			f.Values[k] = strconv.Itoa(int(t))
		case string:
			f.Values[k] = t
		}
	}
	return f
}

// Config turns the form into the JSON config and priority Manager.Submit
// takes. Numbers that are not numbers are field errors here, before the
// engine sees them.
func (f *Form) Config(groups []Group) (json.RawMessage, int, bool) {
	tree := map[string]any{}
	var nodes []map[string]any
	for range f.Nodes {
		nodes = append(nodes, map[string]any{})
	}
	prio := 0
	for _, g := range groups {
		for _, fl := range g.Fields {
			var v any
			raw := strings.TrimSpace(f.Values[fl.Name])
			switch fl.Kind {
			case "bool":
				v = f.Checks[fl.Name]
			case "int":
				n, err := strconv.Atoi(raw)
				if err != nil {
					f.Errors[fl.Name] = "must be a whole number"
					continue
				}
				v = n
			default:
				v = raw
			}
			if fl.Name == "priority" {
				prio = v.(int)
				continue
			}
			if strings.HasPrefix(fl.Name, "machine_nodes[") {
				i, _ := strconv.Atoi(nodeIndex(fl.Name))
				if i < len(nodes) {
					nodes[i][fl.Name[strings.LastIndexByte(fl.Name, '.')+1:]] = v
				}
				continue
			}
			hfss.SetField(tree, fl.Name, v)
		}
	}
	tree["machine_nodes"] = nodes
	b, _ := json.Marshal(tree)
	// With fields that did not parse, the config (without them) is still
	// returned, for the engine to judge the other fields.
	return b, prio, len(f.Errors) == 0
}

// Fail records the validation errors from the engine next to their
// fields (a field that already has an error of the form's own keeps it),
// and those of fields no input has as the form's error.
func (f *Form) Fail(err *engine.ValidationError, groups []Group) {
	var rest []string
	for _, e := range err.All() {
		found := false
		for _, g := range groups {
			for _, fl := range g.Fields {
				if fl.Name == e.Field {
					found = true
					if f.Errors[fl.Name] == "" {
						f.Errors[fl.Name] = e.Message
					}
				}
			}
		}
		if !found {
			rest = append(rest, e.Error())
		}
	}
	if len(rest) > 0 {
		f.Error = strings.Join(rest, "; ")
	}
}

// CommandForm is the plain-command tab.
type CommandForm struct {
	Command          string // one argument per line
	JobID            string
	WorkingDirectory string
	Time             string
	User             string
	Priority         string
	Errors           map[string]string
	Error            string
	NotifyWebhook    string
}

// Config is the command job's JSON config.
func (f *CommandForm) Config() (json.RawMessage, int, bool) {
	var argv []string
	for _, l := range strings.Split(strings.ReplaceAll(f.Command, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			argv = append(argv, strings.TrimSpace(l))
		}
	}
	prio, err := strconv.Atoi(strings.TrimSpace(orZero(f.Priority)))
	if err != nil {
		f.Errors["priority"] = "must be a whole number"
		return nil, 0, false
	}
	cfg := map[string]any{"command": argv, "jobid": strings.TrimSpace(f.JobID), "working_directory": strings.TrimSpace(f.WorkingDirectory), "time": strings.TrimSpace(f.Time)}
	if f.User != "" {
		cfg["user"] = strings.TrimSpace(f.User)
	}
	if argv == nil {
		cfg["command"] = []string{}
	}
	b, _ := json.Marshal(cfg)
	return b, prio, true
}

// Fail puts an engine validation error next to its field.
func (f *CommandForm) Fail(err *engine.ValidationError) {
	field := err.Field
	if strings.HasPrefix(field, "command") {
		field = "command"
	}
	switch field {
	case "command", "jobid", "working_directory", "time", "user":
		f.Errors[field] = err.Message
		if err.Field != field {
			f.Errors[field] = err.Field + " " + err.Message
		}
	default:
		f.Error = err.Error()
	}
}

func orZero(s string) string {
	if strings.TrimSpace(s) == "" {
		return "0"
	}
	return s
}
