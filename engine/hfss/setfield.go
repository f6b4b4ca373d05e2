package hfss

import "strings"

// SetField sets the field a dotted JSON path names ("layout_options.mpi_vendor")
// in a config held as nested maps, making the objects on the way. The
// submit form and the CLI's --set both build a config so, in the field
// names Validate reports errors in.
func SetField(config map[string]any, path string, v any) {
	for {
		head, rest, nested := strings.Cut(path, ".")
		if !nested {
			config[head] = v
			return
		}
		sub, ok := config[head].(map[string]any)
		if !ok {
			sub = map[string]any{}
			config[head] = sub
		}
		config, path = sub, rest
	}
}
