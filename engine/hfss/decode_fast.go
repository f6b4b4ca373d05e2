package hfss

import (
	"encoding/json"
	"errors"
)

// fastConfig decodes a whole configuration in one json.Unmarshal pass over
// Default(): a field that is absent, or null, keeps its default (a null
// leaves a non-pointer field alone), which is Decode's rule. Only machine
// nodes need help, each starting from DefaultMachineNode; the outer field
// shadows the embedded one of the same JSON name.
type fastConfig struct {
	Config
	MachineNodes []fastNode `json:"machine_nodes"`
}

type fastNode struct{ MachineNode }

// errNullNode sends a null machine node to the field decoder, which names
// it in its error.
var errNullNode = errors.New("null machine node")

func (n *fastNode) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return errNullNode
	}
	type plain MachineNode // without this method
	p := plain(DefaultMachineNode())
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	n.MachineNode = MachineNode(p)
	return nil
}

// decodeFast is Decode's one-pass path. It reports false whenever the
// field-by-field decoder must decide: a document that is not an object, any
// decoding error (to name the field; fractional integers such as 2.0
// included), a null machine node, an integer outside Decode's range, or a
// key encoding/json might have matched ignoring case (Decode's names are
// case-sensitive, as PyEDB's are).
func decodeFast(data []byte) (Config, bool) {
	if !plainKeys(data) {
		return Config{}, false
	}
	w := fastConfig{Config: Default()}
	if err := json.Unmarshal(data, &w); err != nil {
		return Config{}, false
	}
	c := w.Config
	if w.MachineNodes != nil {
		c.MachineNodes = make([]MachineNode, len(w.MachineNodes))
		for i, n := range w.MachineNodes {
			c.MachineNodes[i] = n.MachineNode
		}
	}
	ints := []int{c.SchedulerOptions.Nodes, c.SchedulerOptions.TasksPerNode, c.SchedulerOptions.CoresPerNode, c.SchedulerOptions.GPUs}
	for _, n := range c.MachineNodes {
		ints = append(ints, n.Cores, n.MaxCores, n.Utilization)
	}
	for _, v := range ints {
		if v < minInt || v > maxInt {
			return Config{}, false
		}
	}
	return c, true
}

// plainKeys reports whether data is a JSON object whose keys, at any depth,
// hold no upper-case letter, escape or non-ASCII byte: for such keys
// encoding/json's case-insensitive matching cannot differ from an exact
// one (every field name is lower-case ASCII). It is one pass over bytes
// that json.Unmarshal validates afterwards, so it need not check syntax.
func plainKeys(data []byte) bool {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return false
	}
	for ; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		plain := true
		for i++; i < len(data) && data[i] != '"'; i++ {
			switch b := data[i]; {
			case b == '\\':
				plain = false
				i++ // skip the escaped byte
			case b >= 'A' && b <= 'Z', b >= 0x80:
				plain = false
			}
		}
		j := i + 1
		for j < len(data) && isSpace(data[j]) {
			j++
		}
		if j < len(data) && data[j] == ':' && !plain {
			return false
		}
	}
	return true
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
