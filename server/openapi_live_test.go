package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/simjobs/simjobs/engine/host"
	"github.com/simjobs/simjobs/engine/solverlog"
	"github.com/simjobs/simjobs/server/servertest"
	"github.com/simjobs/simjobs/testdata/fakesolver"
)

// fetchDoc reads the server's OpenAPI document.
func fetchDoc(t *testing.T, base string) openapiDoc {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc openapiDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestOpenAPIMatchesLiveServer calls every operation of /openapi.json on
// a real server, plus the error answers worth checking, and validates each
// answer against what the document declares for its status: the status
// must be declared, the content type must match, and a JSON body must
// satisfy its schema.
func TestOpenAPIMatchesLiveServer(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	doc := fetchDoc(t, srv.URL)
	v := &validator{schemas: doc.Components.Schemas}

	// State for the calls: a finished job with logs, and a queued one.
	submitCmd := func(id string) {
		b, _ := json.Marshal(map[string]any{"config": srv.Command(id)})
		r, err := http.Post(srv.URL+"/jobs/submit", "application/json", bytes.NewReader(b))
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("submit %s: %v %v", id, r, err)
		}
		r.Body.Close()
	}
	submitCmd("done1")
	if _, err := srv.Manager.Wait(t.Context(), "done1"); err != nil {
		t.Fatal(err)
	}
	// A whole HFSS log, for a summary with every part filled in.
	b, _ := json.Marshal(map[string]any{"config": srv.Command("hfss1", fakesolver.EnvScript+"="+fakesolver.HFSSLog())})
	if r, err := http.Post(srv.URL+"/jobs/submit", "application/json", bytes.NewReader(b)); err != nil || r.StatusCode != 200 {
		t.Fatalf("submit hfss1: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	if _, err := srv.Manager.Wait(t.Context(), "hfss1"); err != nil {
		t.Fatal(err)
	}
	busy := host.IdleSample()
	busy.CPUPercent = 99
	srv.SetTelemetry(busy)
	submitCmd("queued1")
	submitCmd("queued2")

	bodies := map[string]any{
		"SubmitRequest":   map[string]any{"config": srv.HFSS("pyedb1"), "priority": 1},
		"PriorityRequest": map[string]any{"priority": 4},
		"Limits":          map[string]any{"max_concurrent_jobs": 1},
	}
	type call struct {
		method, path, query string // path as in the document
		id                  string // for {id}
		body                any
		status              int // 0: any declared status
	}
	var calls []call
	var drain []call // last: it makes the server unready
	for path, item := range doc.Paths {
		for method, op := range item {
			c := call{method: strings.ToUpper(method), path: path, id: "queued1"}
			if op.RequestBody != nil {
				if js := op.RequestBody.Content["application/json"]; js != nil {
					c.body = bodies[refName(js.Schema.Ref)]
				} else {
					c.body = "raw bytes" // an upload
				}
			}
			switch {
			case strings.HasSuffix(path, "/log") || strings.HasSuffix(path, "/history"):
				c.id = "done1"
			case strings.Contains(path, "cancel"):
				c.id = "queued2"
			}
			if path == "/system/drain" {
				drain = append(drain, c)
				continue
			}
			calls = append(calls, c)
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].path+calls[i].method < calls[j].path+calls[j].method })
	calls = append(calls,
		call{method: "GET", path: "/jobs/{id}", id: "nope", status: 404},
		call{method: "GET", path: "/jobs", query: "status=bogus", status: 400},
		call{method: "GET", path: "/jobs", query: "status=completed&limit=1&offset=0", status: 200},
		call{method: "POST", path: "/jobs/submit", body: map[string]any{"config": map[string]any{"project_path": "/x.txt"}}, status: 400},
		call{method: "POST", path: "/api/submit", body: "not json", status: 400},
		call{method: "POST", path: "/jobs/{id}/priority", id: "done1", body: map[string]any{"priority": 1}, status: 409},
		call{method: "POST", path: "/jobs/{id}/cancel", id: "nope", status: 404},
		call{method: "POST", path: "/api/cancel/{id}", id: "done1", status: 200},
		call{method: "GET", path: "/jobs/{id}/log", id: "done1", query: "stream=stderr&tail=1", status: 200},
		call{method: "GET", path: "/jobs/{id}/log", id: "done1", query: "tail=-1", status: 400},
		call{method: "GET", path: "/api/jobs/{id}/log", id: "hfss1", status: 200},
		call{method: "GET", path: "/api/jobs/{id}/log", id: "hfss1", query: "attempt=1", status: 200},
		call{method: "GET", path: "/api/jobs/{id}/log", id: "queued1", status: 204},
		call{method: "GET", path: "/api/jobs/{id}/log", id: "nope", status: 404},
		call{method: "GET", path: "/api/jobs/{id}/log", id: "hfss1", query: "attempt=7", status: 400},
		call{method: "GET", path: "/api/jobs/{id}/log", id: "hfss1", query: "attempt=x", status: 400},
		call{method: "GET", path: "/jobs/{id}", id: "hfss1", status: 200},
		call{method: "PUT", path: "/pool/limits", body: map[string]any{}, status: 400},
		call{method: "PUT", path: "/pool/limits", body: map[string]any{"max_cpu_percent": 150}, status: 400},
		call{method: "GET", path: "/scheduler/partitions", status: 400},
		call{method: "GET", path: "/ws", status: 426},
		call{method: "POST", path: "/api/projects", query: "name=board.aedt", body: "$begin 'AnsoftProject'", status: 200},
		call{method: "POST", path: "/api/projects", query: "name=board.txt", body: "x", status: 400},
		call{method: "GET", path: "/api/jobs/{id}/files", id: "hfss1", status: 200},
		call{method: "GET", path: "/api/jobs/{id}/files", id: "nope", status: 404},
		call{method: "GET", path: "/api/jobs/{id}/results.zip", id: "hfss1", status: 200},
		call{method: "GET", path: "/socket.io/", query: "EIO=4&transport=polling", status: 200},
		call{method: "GET", path: "/socket.io/", query: "EIO=4&transport=polling&sid=nope", status: 400},
		call{method: "POST", path: "/socket.io/", query: "EIO=4&transport=polling&sid=nope", status: 400},
	)
	calls = append(calls, drain...)
	calls = append(calls, call{method: "GET", path: "/readyz", status: 503})

	answered := map[string]bool{}
	for _, c := range calls {
		name := c.method + " " + c.path
		if c.query != "" {
			name += "?" + c.query
		}
		op, ok := doc.Paths[c.path][strings.ToLower(c.method)]
		if !ok {
			t.Errorf("%s: not in the document", name)
			continue
		}
		var body io.Reader
		switch b := c.body.(type) {
		case nil:
		case string:
			body = strings.NewReader(b)
		default:
			js, _ := json.Marshal(b)
			body = bytes.NewReader(js)
		}
		url := srv.URL + strings.ReplaceAll(c.path, "{id}", c.id)
		if c.query != "" {
			url += "?" + c.query
		}
		req, _ := http.NewRequest(c.method, url, body)
		if c.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered[c.method+" "+c.path] = true
		if c.status != 0 && resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", name, resp.StatusCode, c.status, data)
		}
		declared, ok := op.Responses[fmt.Sprint(resp.StatusCode)]
		if !ok {
			t.Errorf("%s: status %d is not declared (declared: %v): %s", name, resp.StatusCode, keys(op.Responses), data)
			continue
		}
		ctype := resp.Header.Get("Content-Type")
		switch {
		case declared.Content["application/json"] != nil:
			if !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("%s: %d answered %q, declared JSON", name, resp.StatusCode, ctype)
				continue
			}
			var got any
			if err := json.Unmarshal(data, &got); err != nil {
				t.Errorf("%s: %d body is not JSON: %v", name, resp.StatusCode, err)
				continue
			}
			for _, problem := range v.check(declared.Content["application/json"].Schema, got, "body") {
				t.Errorf("%s: %d: %s", name, resp.StatusCode, problem)
			}
		case declared.Content["text/plain"] != nil:
			if !strings.HasPrefix(ctype, "text/plain") {
				t.Errorf("%s: %d answered %q, declared text/plain", name, resp.StatusCode, ctype)
			}
		}
	}
	for path, item := range doc.Paths {
		for method := range item {
			if !answered[strings.ToUpper(method)+" "+path] {
				t.Errorf("%s %s: never called", strings.ToUpper(method), path)
			}
		}
	}
	// Every reference in the document resolves.
	raw, _ := json.Marshal(doc)
	for _, m := range regexp.MustCompile(`"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("unresolved $ref %s", m[1])
		}
	}
}

// Every summary the parser gives for our fixtures and the real samples,
// and its compact progress, match their published schemas: the live test
// above sees only the logs the fake solver prints.
func TestLogSummarySchema(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.Options{})
	doc := fetchDoc(t, srv.URL)
	v := &validator{schemas: doc.Components.Schemas}
	logs, _ := filepath.Glob(filepath.Join("..", "engine", "solverlog", "testdata", "*.log"))
	logs = append(logs, fakesolver.HFSSLog())
	if real, _ := filepath.Glob(filepath.Join("..", "..", "shared", "samples", "*.log")); len(real) > 0 {
		logs = append(logs, real...)
	} else {
		t.Log("the real samples in ../shared/samples are absent: checking our fixtures only")
	}
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sum, _, err := solverlog.Parse(f, time.Local)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, status := range []string{"running", "failed", "cancelled"} {
			s := sum
			s.Settle(status)
			for name, value := range map[string]any{"LogSummary": s, "Progress": s.Progress()} {
				js, _ := json.Marshal(value)
				var got any
				json.Unmarshal(js, &got)
				for _, problem := range v.check(&schema{Ref: "#/components/schemas/" + name}, got, name) {
					t.Errorf("%s (%s): %s", filepath.Base(path), status, problem)
				}
			}
		}
	}
}

type openapiDoc struct {
	Paths      map[string]map[string]openapiOp `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type openapiOp struct {
	RequestBody *struct {
		Content map[string]*struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]*struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

// schema is the subset of JSON Schema the document uses.
type schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 typeList           `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Const                any                `json:"const,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	AdditionalProperties *schema            `json:"additionalProperties,omitempty"`
	OneOf                []*schema          `json:"oneOf,omitempty"`
}

// typeList is "type": "string" or "type": ["string", "null"].
type typeList []string

func (t *typeList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*t = typeList{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*t = many
	return err
}

type validator struct{ schemas map[string]*schema }

func refName(ref string) string { return strings.TrimPrefix(ref, "#/components/schemas/") }

// check returns what in v does not satisfy s, one line per problem.
func (val *validator) check(s *schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	if s.Ref != "" {
		target, ok := val.schemas[refName(s.Ref)]
		if !ok {
			return []string{at + ": unresolved " + s.Ref}
		}
		return val.check(target, v, at)
	}
	if len(s.OneOf) > 0 {
		matched := 0
		var why []string
		for _, alt := range s.OneOf {
			p := val.check(alt, v, at)
			if len(p) == 0 {
				matched++
			}
			why = append(why, p...)
		}
		if matched != 1 {
			return []string{fmt.Sprintf("%s: matches %d of the oneOf alternatives (%s)", at, matched, strings.Join(why, "; "))}
		}
		return nil
	}
	var out []string
	if len(s.Type) > 0 {
		ok := false
		for _, typ := range s.Type {
			ok = ok || isType(typ, v)
		}
		if !ok {
			return []string{fmt.Sprintf("%s: %s is not of type %v", at, short(v), []string(s.Type))}
		}
	}
	if s.Const != nil && v != s.Const {
		out = append(out, fmt.Sprintf("%s: %s, want %v", at, short(v), s.Const))
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			found = found || e == v
		}
		if !found {
			out = append(out, fmt.Sprintf("%s: %s is not one of %v", at, short(v), s.Enum))
		}
	}
	if str, ok := v.(string); ok && s.Format == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			out = append(out, fmt.Sprintf("%s: %q is not a date-time", at, str))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				out = append(out, fmt.Sprintf("%s: required %q missing", at, r))
			}
		}
		for k, pv := range x {
			switch ps, ok := s.Properties[k]; {
			case ok:
				out = append(out, val.check(ps, pv, at+"."+k)...)
			case s.AdditionalProperties != nil:
				out = append(out, val.check(s.AdditionalProperties, pv, at+"."+k)...)
			case len(s.Properties) > 0:
				// Strict: an answer field the document does not describe
				// is a gap in the document.
				out = append(out, fmt.Sprintf("%s: property %q is not in the schema", at, k))
			}
		}
	case []any:
		for i, e := range x {
			out = append(out, val.check(s.Items, e, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

func isType(typ string, v any) bool {
	switch typ {
	case "null":
		return v == nil
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	}
	return false
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The checker itself must catch what it is meant to catch.
func TestSchemaChecker(t *testing.T) {
	t.Parallel()
	v := &validator{schemas: map[string]*schema{
		"N": {Type: typeList{"integer"}},
	}}
	s := &schema{Type: typeList{"object"}, Required: []string{"a", "t"}, Properties: map[string]*schema{
		"a": {Ref: "#/components/schemas/N"},
		"e": {Type: typeList{"string"}, Enum: []any{"x", "y"}},
		"t": {Type: typeList{"string", "null"}, Format: "date-time"},
		"l": {Type: typeList{"array"}, Items: &schema{Type: typeList{"boolean"}}},
		"o": {OneOf: []*schema{{Type: typeList{"null"}}, {Type: typeList{"number"}}}},
	}, AdditionalProperties: &schema{Type: typeList{"string"}}}
	for _, tc := range []struct {
		doc      string
		problems int
	}{
		{`{"a": 1, "t": null, "e": "x", "l": [true], "o": null, "extra": "s"}`, 0},
		{`{"a": 1.5, "t": "2025-01-02T03:04:05Z"}`, 1},
		{`{"t": "yesterday", "e": "z", "l": [1], "o": "s", "extra": 2}`, 6},
		{`{"a": 1, "t": null, "l": [{"x": 1}]}`, 1},
	} {
		var doc any
		json.Unmarshal([]byte(tc.doc), &doc)
		if got := v.check(s, doc, "body"); len(got) != tc.problems {
			t.Errorf("%s: %d problems %q, want %d", tc.doc, len(got), got, tc.problems)
		}
	}
}
