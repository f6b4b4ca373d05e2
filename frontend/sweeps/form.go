package sweeps

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/simjobs/simjobs/engine"
	"github.com/simjobs/simjobs/engine/expand"
)

// paramRows is how many parameter rows the form offers.
const paramRows = 4

// Form is the sweep form as typed.
type Form struct {
	Name        string
	Project     string // an HFSS project; or, when empty, Command
	Design      string
	Setup       string
	Command     string // one argument per line
	WorkDir     string
	Names       [paramRows]string
	Values      [paramRows]string // comma-separated
	Mode        string
	MaxParallel string
	Priority    string
	Error       string
}

// Request turns the form into a sweep submission.
func (f Form) Request() (engine.SweepRequest, error) {
	req := engine.SweepRequest{Name: strings.TrimSpace(f.Name), Mode: f.Mode}
	var tpl map[string]any
	if p := strings.TrimSpace(f.Project); p != "" {
		cfg := map[string]any{"project_path": p}
		if d := strings.TrimSpace(f.Design); d != "" {
			cfg["design_name"] = d
		}
		if s := strings.TrimSpace(f.Setup); s != "" {
			cfg["setup_name"] = s
		}
		tpl = map[string]any{"config": cfg}
	} else {
		var argv []string
		for _, l := range strings.Split(f.Command, "\n") {
			if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
				argv = append(argv, l)
			}
		}
		if len(argv) == 0 {
			return req, &engine.ValidationError{Field: "template", Message: "give a project path, or a command (one argument per line)"}
		}
		tpl = map[string]any{"command": argv}
		if w := strings.TrimSpace(f.WorkDir); w != "" {
			tpl["working_directory"] = w
		}
	}
	req.Template, _ = json.Marshal(tpl)
	for i := range paramRows {
		name := strings.TrimSpace(f.Names[i])
		if name == "" {
			continue
		}
		var vals []string
		for _, v := range strings.Split(f.Values[i], ",") {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		// Through the API's own parser: the same names and values refused.
		js, _ := json.Marshal(map[string][]string{name: vals})
		var one expand.Params
		if err := json.Unmarshal(js, &one); err != nil {
			var e *expand.Error
			if errors.As(err, &e) {
				return req, &engine.ValidationError{Field: e.Field, Message: e.Message}
			}
			return req, err
		}
		for _, p := range req.Parameters {
			if p.Name == name {
				return req, &engine.ValidationError{Field: "parameters." + name, Message: "is given twice"}
			}
		}
		req.Parameters = append(req.Parameters, one...)
	}
	var err error
	if req.MaxParallel, err = optInt(f.MaxParallel, "max_parallel"); err != nil {
		return req, err
	}
	if req.Priority, err = optInt(f.Priority, "priority"); err != nil {
		return req, err
	}
	return req, nil
}

func optInt(s, field string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &engine.ValidationError{Field: field, Message: "must be a whole number"}
	}
	return n, nil
}

// Preview is the expansion the form would submit.
type Preview struct {
	Params     expand.Params
	Variations []expand.Variation
	Error      string
}

// maxPreview bounds the rows of a preview.
const maxPreview = 100
