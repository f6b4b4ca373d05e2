package solverlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse feeds the parser anything, whole and split in two: it must not
// panic, must give the same summary both ways, must keep its bounds, and
// the summary must encode as JSON (no NaN or infinity slips through).
//
//	go test -fuzz FuzzParse -fuzztime 30s ./engine/solverlog/
func FuzzParse(f *testing.F) {
	for _, path := range fixtures {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b, uint16(len(b)/2))
		}
	}
	if paths, _ := filepath.Glob(filepath.Join(samplesDir, "*.log")); len(paths) > 0 {
		for _, path := range paths {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b, uint16(100))
			}
		}
	}
	for _, s := range []string{
		"[info] Project:p, S : [PROFILE] Matrix Solve : Real Time 1e400:00:00 : CPU Time NaN : Memory NaN G : Matrix size: 99999999999999999999\n",
		"[info] Project:p, S : [CONVERGE] Pass Number: 0; Max Mag. Delta S: Inf; Solved Elements: -3\n",
		"[info] [CONVERGE] pass number 7 Max Mag. Delta S: 1e309\n[warning] x (99:99:99 PM  Foo 45, 99999)\n",
		"[error] Project:, Design:, \n\n\n (11:55:40 AM  Oct 12, 2025)\r\n",
		"[info] Project:p, S : [PROFILE] Frequency - : Elapsed time : 00:00:01\n[info] Project:p, S : [PROFILE] Stop : Elapsed Time: 1.:2:3\n",
		"[info] Project:p, S : [PROFILE]        From 1Hz to 2Hz, 999999999 Frequencies\n[info] An interpolating frequency sweep with \n",
		"[info] Using command line: \"x -batchsolve a:b:c\".\nStopping Batch Run: 25:00:00 AM Oct 12, 2025\n",
		"Ansys Electronics Desktop Version , Build: \nlocalhost RAM: 1e999%, task0:99999999999 cores\n",
		"\xff\xfe[warning] \xc3\x28 invalid utf-8 \xe2\x82 (11:55:40 AM  Oct 12, 2025)\n",
	} {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, log []byte, split uint16) {
		whole, ok, err := Parse(bytes.NewReader(log), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		at := int(split) % (len(log) + 1)
		p := NewParser(time.UTC)
		p.Write(log[:at])
		mid := p.Summary() // a snapshot half-way must be safe too
		p.Write(log[at:])
		p.Flush()
		if diff := cmp.Diff(whole, p.Summary()); diff != "" || p.Recognised() != ok {
			t.Fatalf("split at %d: recognised %v/%v (-whole +split):\n%s", at, ok, p.Recognised(), diff)
		}
		for _, s := range []Summary{whole, mid} {
			if _, err := json.Marshal(s); err != nil {
				t.Fatalf("summary does not encode: %v", err)
			}
			if _, err := json.Marshal(s.Progress()); err != nil {
				t.Fatalf("progress does not encode: %v", err)
			}
			_ = s.Progress().String()
			if len(s.Warnings.Last) > maxLast || len(s.Errors.Last) > maxLast || len(s.Stages) > maxStages || len(s.Machines) > maxMachines {
				t.Fatalf("bounds: %d warnings, %d errors, %d stages, %d machines kept", len(s.Warnings.Last), len(s.Errors.Last), len(s.Stages), len(s.Machines))
			}
			if s.Adaptive != nil && len(s.Adaptive.Passes) > maxPasses {
				t.Fatalf("%d passes kept", len(s.Adaptive.Passes))
			}
			if !s.State.valid() {
				t.Fatalf("state %q", s.State)
			}
		}
	})
}

// FuzzProgressString reads a job record's progress as a client does (any
// JSON a server sent) and writes it for people: never a panic.
//
//	go test -fuzz FuzzProgressString -fuzztime 30s ./engine/solverlog/
func FuzzProgressString(f *testing.F) {
	for _, s := range []string{
		`{"phase":"adaptive","pass":3,"max_mag_delta_s":0.23,"converged":false,"warnings":2,"errors":0}`,
		`{"phase":"sweeping","sweep_solved":4,"sweep_points":201,"pass":8,"converged":true}`,
		`{"phase":"failed","error":"x\ny","errors":-1,"warnings":-5}`,
		`{"phase":"completed","pass":-1,"max_mag_delta_s":1e308,"solved_elements":-9223372036854775808}`,
		`{"phase":"\u0000\u001b[31m"}`,
		`null`, `[]`, `{"pass":"three"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Progress
		if json.Unmarshal(b, &p) != nil {
			return
		}
		s := p.String()
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character %q in %q", r, s)
			}
		}
	})
}
