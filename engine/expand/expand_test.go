package expand_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simjobs/simjobs/engine/expand"
)

func parse(t *testing.T, js string) expand.Params {
	t.Helper()
	var ps expand.Params
	if err := json.Unmarshal([]byte(js), &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestCombine(t *testing.T) {
	for _, tt := range []struct {
		name, params, mode string
		want               []expand.Variation
		field              string
	}{
		{"product keeps the order given, last fastest", `{"W": ["0.1", "0.2"], "L": [1, 2, 3]}`, "product",
			[]expand.Variation{{"0.1", "1"}, {"0.1", "2"}, {"0.1", "3"}, {"0.2", "1"}, {"0.2", "2"}, {"0.2", "3"}}, ""},
		{"default is product", `{"B": [true], "A": ["x", "y"]}`, "",
			[]expand.Variation{{"true", "x"}, {"true", "y"}}, ""},
		{"zip", `{"W": ["0.1", "0.2"], "F": ["1GHz", "5GHz"]}`, "zip",
			[]expand.Variation{{"0.1", "1GHz"}, {"0.2", "5GHz"}}, ""},
		{"zip of unequal lengths", `{"W": ["0.1", "0.2"], "F": ["1GHz"]}`, "zip", nil, "parameters"},
		{"unknown mode", `{"W": [1]}`, "cross", nil, "mode"},
		{"over the cap", `{"A": [` + strings.Repeat("1,", 200) + `1], "B": [` + strings.Repeat("1,", 200) + `1]}`, "", nil, "parameters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand.Combine(parse(t, tt.params), tt.mode)
			if tt.field != "" {
				var e *expand.Error
				if !errors.As(err, &e) || e.Field != tt.field {
					t.Fatalf("err = %v, want one on %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParamsRefused(t *testing.T) {
	for _, js := range []string{`[]`, `{"1X": ["a"]}`, `{"X": []}`, `{"X": "a"}`, `{"X": [{"a": 1}]}`, `{"X": ["a\nb"]}`, `{"X": ["a"], "X": ["b"]}`} {
		var ps expand.Params
		var e *expand.Error
		if err := json.Unmarshal([]byte(js), &ps); !errors.As(err, &e) {
			t.Errorf("%s: %v, want an expand.Error", js, err)
		}
	}
}

func TestParamsRoundTrip(t *testing.T) {
	ps := parse(t, `{"Z": ["1"], "A": ["x", "y"]}`)
	b, err := json.Marshal(ps)
	if err != nil || string(b) != `{"Z":["1"],"A":["x","y"]}` {
		t.Errorf("marshal = %s, %v", b, err)
	}
}

func TestApplyEveryString(t *testing.T) {
	ps := parse(t, `{"W": ["0.1"], "D": ["/p/w 1"]}`)
	tpl, err := expand.Compile(json.RawMessage(`{"project_path": "${D}/board.aedt", "design_name": "Board_${W}_${W}",
		"machine_nodes": [{"hostname": "localhost", "cores": 4}], "command": ["solve", "--width=${W}"], "keep": 1.50}`), ps)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Apply(expand.Variation{"0.1", "/p/w 1"}, map[string]any{"jobid": "S_0"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"project_path": "/p/w 1/board.aedt", "design_name": "Board_0.1_0.1", "jobid": "S_0",
		"machine_nodes": []any{map[string]any{"hostname": "localhost", "cores": 4.0}}, "command": []any{"solve", "--width=0.1"}, "keep": 1.5}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// The template itself is left as it was for the next variation.
	again, _ := tpl.Apply(expand.Variation{"0.2", "/q"}, nil)
	if !strings.Contains(string(again), `Board_0.2_0.2`) {
		t.Errorf("second variation: %s", again)
	}
}

func TestCompileRefusesUnknownVariable(t *testing.T) {
	_, err := expand.Compile(json.RawMessage(`{"a": ["${W}", "${H}"]}`), parse(t, `{"W": [1]}`))
	var e *expand.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "${H}") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParams(f *testing.F) {
	f.Add(`{"W": ["0.1", 2, true]}`)
	f.Add(`{"A": [1], "B": [2, 3]}`)
	f.Fuzz(func(t *testing.T, js string) {
		var ps expand.Params
		if json.Unmarshal([]byte(js), &ps) != nil {
			return
		}
		for _, mode := range []string{"product", "zip"} {
			vs, err := expand.Combine(ps, mode)
			if err != nil {
				continue
			}
			for _, v := range vs {
				if len(v) != len(ps) {
					t.Fatalf("variation %v of %d parameters", v, len(ps))
				}
			}
		}
	})
}

func FuzzTemplate(f *testing.F) {
	f.Add(`{"config": {"project_path": "/p/${W}.aedt", "n": [1, "${W}${W}", {"x": "${W}"}]}}`, "0.1")
	f.Add(`["${W", "}", "$${W}"]`, "")
	f.Fuzz(func(t *testing.T, tpl, value string) {
		ps := expand.Params{{Name: "W", Values: []string{value}}}
		c, err := expand.Compile(json.RawMessage(tpl), ps)
		if err != nil {
			return
		}
		out, err := c.Apply(expand.Variation{value}, map[string]any{"jobid": "j"})
		if err != nil {
			return // a value that is not valid UTF-8 may not survive
		}
		if !json.Valid(out) {
			t.Fatalf("Apply made invalid JSON: %s", out)
		}
	})
}
