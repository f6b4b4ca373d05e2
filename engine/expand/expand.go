// Package expand turns one job template and a set of parameter lists into
// the jobs of a sweep: every ${VAR} in every string of the template is
// replaced by one value of VAR, for each combination of values.
package expand

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Modes of combining parameter lists.
const (
	// ModeProduct takes every combination (the cartesian product); the
	// last parameter varies fastest.
	ModeProduct = "product"
	// ModeZip takes the i-th value of every list together; the lists must
	// be of equal length.
	ModeZip = "zip"
)

// MaxVariations bounds the jobs one sweep may expand to.
const MaxVariations = 10000

// Error is a sweep the expansion refuses, naming the field at fault.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

// Param is one parameter and its values, in the order given.
type Param struct {
	Name   string
	Values []string
}

// Params keeps the parameters in the order the client wrote them, so the
// variations come out in an order the client can predict; on the wire it
// is a JSON object {"VAR": ["v1", "v2"]}.
type Params []Param

var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// maxValueLen bounds one value; it lands in paths and argv.
const maxValueLen = 4096

// UnmarshalJSON reads {"VAR": ["v1", 2, true]}: values may be strings,
// numbers or booleans (written as their JSON text).
func (ps *Params) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return &Error{Field: "parameters", Message: `must be an object {"NAME": ["value", ...]}`}
	}
	var out Params
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &Error{Field: "parameters", Message: "is not valid JSON"}
		}
		name := tok.(string)
		field := "parameters." + name
		if !namePattern.MatchString(name) {
			return &Error{Field: field, Message: "a parameter name is letters, digits and _ (not starting with a digit), at most 64"}
		}
		if seen[name] {
			return &Error{Field: field, Message: "is given twice"}
		}
		seen[name] = true
		var raw []any
		if err := dec.Decode(&raw); err != nil {
			return &Error{Field: field, Message: "must be a list of values"}
		}
		if len(raw) == 0 {
			return &Error{Field: field, Message: "must list at least one value"}
		}
		p := Param{Name: name, Values: make([]string, len(raw))}
		for i, v := range raw {
			var s string
			switch v := v.(type) {
			case string:
				s = v
			case json.Number:
				s = v.String()
			case bool:
				s = fmt.Sprint(v)
			default:
				return &Error{Field: fmt.Sprintf("%s[%d]", field, i), Message: "must be a string, a number or a boolean"}
			}
			if err := checkValue(s); err != nil {
				return &Error{Field: fmt.Sprintf("%s[%d]", field, i), Message: err.Error()}
			}
			p.Values[i] = s
		}
		out = append(out, p)
	}
	if _, err := dec.Token(); err != nil {
		return &Error{Field: "parameters", Message: "is not valid JSON"}
	}
	*ps = out
	return nil
}

// checkValue refuses what no path, argument or name should hold. Every
// expanded job is validated again as a normal submission.
func checkValue(s string) error {
	switch {
	case len(s) > maxValueLen:
		return fmt.Errorf("is longer than %d bytes", maxValueLen)
	case strings.ContainsAny(s, "\x00\n\r"):
		return errors.New("must not hold NUL or line breaks")
	}
	return nil
}

// MarshalJSON writes the parameters as an object, in their order.
func (ps Params) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Name)
		v, err := json.Marshal(p.Values)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Variation is one combination: the value of every parameter, in the
// parameters' order.
type Variation []string

// Combine lists the variations of ps in mode ("" is product).
func Combine(ps Params, mode string) ([]Variation, error) {
	if len(ps) == 0 {
		return nil, &Error{Field: "parameters", Message: "must name at least one parameter"}
	}
	switch mode {
	case "", ModeProduct:
		total := 1
		for _, p := range ps {
			total *= len(p.Values)
			if total > MaxVariations {
				return nil, &Error{Field: "parameters", Message: fmt.Sprintf("expand to more than %d jobs", MaxVariations)}
			}
		}
		out := make([]Variation, total)
		for i := range out {
			v := make(Variation, len(ps))
			n := i
			for k := len(ps) - 1; k >= 0; k-- {
				l := len(ps[k].Values)
				v[k] = ps[k].Values[n%l]
				n /= l
			}
			out[i] = v
		}
		return out, nil
	case ModeZip:
		n := len(ps[0].Values)
		for _, p := range ps[1:] {
			if len(p.Values) != n {
				return nil, &Error{Field: "parameters", Message: fmt.Sprintf("zip mode needs lists of equal length: %s has %d values, %s has %d", ps[0].Name, n, p.Name, len(p.Values))}
			}
		}
		if n > MaxVariations {
			return nil, &Error{Field: "parameters", Message: fmt.Sprintf("expand to more than %d jobs", MaxVariations)}
		}
		out := make([]Variation, n)
		for i := range out {
			v := make(Variation, len(ps))
			for k, p := range ps {
				v[k] = p.Values[i]
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, &Error{Field: "mode", Message: `must be "product" or "zip"`}
}

// Template is a parsed JSON template whose strings may hold ${VAR}.
type Template struct {
	root  any
	names map[string]int // parameter -> index in a Variation
}

var refPattern = regexp.MustCompile(`\$\{([^}]*)\}`)

// Compile parses raw and checks that every ${VAR} it holds names one of ps.
func Compile(raw json.RawMessage, ps Params) (*Template, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, &Error{Field: "template", Message: "is not valid JSON: " + err.Error()}
	}
	t := &Template{root: root, names: make(map[string]int, len(ps))}
	for i, p := range ps {
		t.names[p.Name] = i
	}
	var bad error
	walk(root, func(s string) string {
		for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
			if _, ok := t.names[m[1]]; !ok && bad == nil {
				bad = &Error{Field: "template", Message: fmt.Sprintf("${%s} is not one of the parameters", m[1])}
			}
		}
		return s
	})
	if bad != nil {
		return nil, bad
	}
	return t, nil
}

// Apply returns the template with every ${VAR} replaced by v's value, and
// the top-level fields in set set as given (a job id, say).
func (t *Template) Apply(v Variation, set map[string]any) (json.RawMessage, error) {
	out := walk(deepCopy(t.root), func(s string) string {
		if !strings.Contains(s, "${") {
			return s
		}
		return refPattern.ReplaceAllStringFunc(s, func(ref string) string {
			return v[t.names[ref[2:len(ref)-1]]]
		})
	})
	if obj, ok := out.(map[string]any); ok {
		for k, x := range set {
			obj[k] = x
		}
	}
	return json.Marshal(out)
}

// walk replaces every string value (not object keys) of a decoded JSON
// document with f of it, in place where it can, and returns the result.
func walk(v any, f func(string) string) any {
	switch v := v.(type) {
	case string:
		return f(v)
	case []any:
		for i := range v {
			v[i] = walk(v[i], f)
		}
		return v
	case map[string]any:
		for k := range v {
			v[k] = walk(v[k], f)
		}
		return v
	}
	return v
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = deepCopy(v[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}
