package server

import (
	segjson "github.com/segmentio/encoding/json"
)

// encodeJSON writes every reply c.JSON sends. A listing is mostly stored
// JSON (each job's config, about 900 bytes of it), and encoding/json scans
// every json.RawMessage byte by byte again to validate and compact it: that
// was a third of a listing's CPU. segmentio's encoder gives the same bytes
// (jsonenc_test.go compares the two on every wire type, and
// FuzzEncodeJSONMatchesStd on whatever the fuzzer finds) in about half the
// time. Requests are still decoded by encoding/json where the handlers read
// them.
func encodeJSON(v any) ([]byte, error) { return segjson.Marshal(v) }
